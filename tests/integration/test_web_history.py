"""History the web side keeps in the store (issue 17): one client's page
and API with its requests, the dashboard and /api/v1/activity the same
after a restart, and the activity log trimmed to its retention and by
kmsc prune."""
import json
import os
import re
import sqlite3
import tempfile
import time
import uuid

from kmsdtest import kmsc
from test_web import OFFICE, WIN10, activate, get, get_json, populate, web_kmsd


def test_one_client_found_unknown_and_malformed():
    with web_kmsd() as d:
        populate(d)
        _, all_ = get_json(d.web_port, "/api/v1/clients?q=WS-ALPHA")
        cmid = all_["clients"][0]["cmid"]
        status, c = get_json(d.web_port, f"/api/v1/clients/{cmid}")
        assert status == 200 and c["cmid"] == cmid and c["workstation"] == "WS-ALPHA"
        (entry,) = c["entries"]
        assert entry["product"] == "Windows 10/11 Enterprise" and entry["requests"] == 2
        assert re.fullmatch(r"127\.0\.0\.1:\d+", entry["address"]), entry
        assert len(c["requests"]) == 2
        for r in c["requests"]:
            assert r["answer"] == "below_threshold" and r["product"] == "Windows 10/11 Enterprise"
            assert r["protocol"] == "6.0" and r["result"] == "0x00000000"
            assert re.fullmatch(r"127\.0\.0\.1:\d+", r["address"]) and r["time"].endswith("Z")
        status, e = get_json(d.web_port, f"/api/v1/clients/{uuid.uuid4()}")
        assert status == 404 and e["parameter"] == "cmid"
        for bad in ("nope", cmid[:-1], cmid + "0", "%00"):
            status, e = get_json(d.web_port, f"/api/v1/clients/{bad}")
            assert status == 400 and e["parameter"] == "cmid", (bad, e)
        status, e = get_json(d.web_port, f"/api/v1/clients/{cmid}?limit=5")
        assert status == 400 and e["parameter"] == "limit"
        # the page: every field, the address with its port, rows link to it
        status, _, page = get(d.web_port, f"/clients/{cmid}")
        assert status == 200 and "WS-ALPHA" in page and cmid in page
        assert re.search(r"<td>127\.0\.0\.1:\d+</td>", page), "the detail keeps the port"
        assert page.count("&#x25D4; below threshold") >= 3
        assert get(d.web_port, f"/clients/{uuid.uuid4()}")[0] == 404
        assert get(d.web_port, "/clients/not-a-guid")[0] == 400
        _, _, listing = get(d.web_port, "/clients")
        assert f'<a href="/clients/{cmid}">WS-ALPHA</a>' in listing


def dashboard_numbers(port):
    _, _, page = get(port, "/")
    ids = dict(re.findall(r'id="((?:activations|chart)-[a-z-]+)">(\d+)<', page))
    products = re.search(r'<table class="stack" id="products">.*?</table>', page).group(0)
    recent = re.search(r'<table id="recent".*?</table>', page).group(0)
    return ids, products, recent


def test_dashboard_and_api_history_survive_a_restart():
    db = os.path.join(tempfile.mkdtemp(), "clients.db")
    with web_kmsd(f"store=sqlite:{db}", store=False) as d:
        populate(d)
        activate(d, OFFICE, "OFFICE-GOLF")
        time.sleep(0.6)
        before = dashboard_numbers(d.web_port)
        _, api_before = get_json(d.web_port, "/api/v1/activity")
    assert before[0]["activations-total"] == "7", before[0]
    assert api_before["source"] == "store" and api_before["totals"]["below_threshold"] == 7
    assert len(api_before["recent"]) == 7
    with web_kmsd(f"store=sqlite:{db}", store=False) as d:
        after = dashboard_numbers(d.web_port)
        _, api_after = get_json(d.web_port, "/api/v1/activity")
        _, stats = get_json(d.web_port, "/api/v1/stats")
    assert stats["totals"]["below_threshold"] == 0, "a new process: its memory is empty"
    assert after == before
    for key in ("source", "since", "totals", "by_product", "recent"):
        assert api_after[key] == api_before[key], key
    assert sum(api_after["per_hour"]["counts"]) == sum(api_before["per_hour"]["counts"]) == 7
    assert sum(api_after["per_minute"]["counts"]) == 7


def test_activity_log_keeps_its_retention_and_is_pruned():
    db = os.path.join(tempfile.mkdtemp(), "clients.db")
    with web_kmsd(f"store=sqlite:{db}", store=False) as d:
        activate(d, WIN10, "WS-NOW")
        time.sleep(0.6)
    now = int(time.time())
    con = sqlite3.connect(db)
    row = con.execute("SELECT cmid, app_id, kms_id, sku_id FROM activity").fetchone()
    for age_days, name in ((40, "WS-40-DAYS"), (10, "WS-10-DAYS")):
        con.execute("INSERT INTO activity (time, cmid, app_id, kms_id, sku_id, workstation,"
                    " address, license_status, protocol, result, count)"
                    " VALUES (?, ?, ?, ?, ?, ?, '10.0.0.9:50000', 2, '6.0', 0, 30)",
                    (now - age_days * 86400, *row, name))
        # and its hour in the totals, as the writer counts it
        con.execute("INSERT INTO activity_hours (hour, kms_id, result, count, n)"
                    " VALUES (?, ?, 0, 30, 1)", ((now - age_days * 86400) // 3600, row[2]))
    con.commit()
    con.close()
    # the writer trims to activity-retention after its first batch
    with web_kmsd(f"store=sqlite:{db}", "activity-retention=30d", store=False) as d:
        activate(d, WIN10, "WS-LATER")
        time.sleep(0.6)
        _, a = get_json(d.web_port, "/api/v1/activity")
    kept = sqlite3.connect(db).execute("SELECT workstation FROM activity ORDER BY time").fetchall()
    assert [k[0] for k in kept] == ["WS-10-DAYS", "WS-NOW", "WS-LATER"], kept
    assert a["totals"]["activated"] == 1 and a["totals"]["below_threshold"] == 2, a["totals"]
    hours = sqlite3.connect(db).execute("SELECT min(hour) FROM activity_hours").fetchone()[0]
    assert hours == (now - 10 * 86400) // 3600, "the 40-day-old hour is trimmed too"
    # kmsc prune forgets old requests with old clients
    rc, out = kmsc("prune", "--db", db, "--older-than", "5d")
    assert rc == 0, out
    kept = sqlite3.connect(db).execute("SELECT workstation FROM activity ORDER BY time").fetchall()
    assert [k[0] for k in kept] == ["WS-NOW", "WS-LATER"], kept


def test_activity_retention_is_a_checked_setting():
    from kmsdtest import BIN, run
    for bad in ("0d", "400d", "soon"):
        rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", "/dev/null", "-o", "allow-root=yes",
                      "-o", "store=none", "-o", f"activity-retention={bad}")
        assert rc != 0 and "activity-retention" in out, (bad, out)
    rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", "/dev/null", "-o", "allow-root=yes",
                  "-o", "store=none", "-o", "activity-retention=7d")
    assert rc == 0, out
