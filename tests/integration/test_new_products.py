"""Products newer than the data file (issue 15): activated by default with
the application's newest host key and logged once per KMS id; refused under
`serve = known`, with the KMS id and the setting in the log line."""
import json
import uuid

from kmsdtest import Kmsd, kmsc

NEW_ID = "11112222-3333-4444-8555-666677778888"


def probe(d, *extra):
    rc, out = kmsc("activate", "--json", "--kms-id", NEW_ID, *extra, f"127.0.0.1:{d.port}")
    return rc, json.loads(out.splitlines()[-1])


def test_new_kms_id_of_a_known_application_is_activated_and_logged_once():
    with Kmsd() as d:
        for _ in range(3):
            rc, r = probe(d)
            assert rc == 0 and r["activated"], r
        _, office = probe(d, "-p", "Office Professional Plus 2019")
        assert office["activated"], office
        lines = [l for l in d.log().splitlines() if "new product" in l]
        assert len(lines) == 1, lines  # once per id, whatever the application
        assert NEW_ID in lines[0] and "application Windows" in lines[0], lines
        assert f"kms_id={NEW_ID}" in d.log()


def test_serve_known_refuses_new_ids_and_says_why():
    with Kmsd("serve=known") as d:
        rc, r = probe(d)
        assert rc == 3 and r["status"] == "0xC004F042", r
        line = [l for l in d.log().splitlines() if l.split(": ", 1)[-1].startswith("refused")][0]
        assert f"kms_id={NEW_ID}" in line and "serve = known" in line, line
        # the table's own products are served as before
        rc, out = kmsc("activate", f"127.0.0.1:{d.port}")
        assert rc == 0, out


def test_unknown_application_is_refused_unless_serve_unknown():
    app = str(uuid.uuid4())
    with Kmsd() as d:
        rc, r = probe(d, "--app-id", app)
        assert rc == 3, r
        assert "serve = unknown" in d.log()
    with Kmsd("serve=unknown") as d:
        rc, r = probe(d, "--app-id", app)
        assert rc == 0, r


def test_preview_products_are_served_unless_refuse_preview():
    rc, out = kmsc("products", "--json")
    sku = [p for p in json.loads(out) if p["preview"]][0]["sku_id"]
    with Kmsd() as d:
        rc, out = kmsc("activate", "-p", sku, f"127.0.0.1:{d.port}")
        assert rc == 0, out
    with Kmsd("refuse-preview=yes") as d:
        rc, out = kmsc("activate", "-p", sku, f"127.0.0.1:{d.port}")
        assert rc == 3 and "0xC004F042" in out, out
        assert "(refuse-preview = yes)" in d.log()
