"""Products found by the words administrators type (issue 15): one rule
(src/kms/match.c) for kmsc gvlk/products/clients, kmsd.conf's serve and the
web API."""
import json
import os
import urllib.parse

from kmsdtest import BIN, Kmsd, kmsc, run
from test_web import get_json, web_kmsd

EXPECTED = {
    "Windows 11 Pro": ("Windows 10/11 Pro", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),
    "Windows 10 Enterprise": ("Windows 10/11 Enterprise", "NPPR9-FWDCX-D2C8J-H872K-2YT43"),
    "Office 2021": ("Office LTSC Professional Plus 2021", "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH"),
    "Office LTSC 2024": ("Office LTSC Professional Plus 2024", "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB"),
    "Server 2022 Standard": ("Windows Server 2022 Standard", "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"),
    "windows 10 pro": ("Windows 10/11 Pro", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),
}


def test_gvlk_prints_the_key_of_the_product_meant():
    for words, (name, key) in EXPECTED.items():
        rc, out = kmsc("gvlk", words)
        assert rc == 0, (words, out)
        lines = out.splitlines()
        assert lines[0] == name and lines[1] == f"GVLK: {key}", (words, out)
        assert f"slmgr /ipk {key}" in out or f"/inpkey:{key}" in out, (words, out)
    # a bare Office year: Professional Plus, the other editions below it
    rc, out = kmsc("gvlk", "Office 2021")
    below = out.split("Other editions these words match", 1)[1]
    assert "Office LTSC Standard 2021" in below and "Office Project Pro 2021" in below, out


def test_gvlk_json_and_editions_that_cannot_use_kms():
    rc, out = kmsc("gvlk", "--json", "Office 2021")
    r = json.loads(out)
    assert rc == 0 and r["product"]["gvlk"] == EXPECTED["Office 2021"][1] and r["product"]["kms"]
    assert any(o["name"] == "Office LTSC Standard 2021" for o in r["others"]), r
    rc, out = kmsc("gvlk", "Windows 11 Home")
    assert rc == 1 and "cannot use KMS" in out and "slmgr" not in out, out
    rc, out = kmsc("gvlk", "--json", "Windows 11 Home")
    r = json.loads(out)
    assert rc == 1 and not r["product"]["kms"] and "cannot use KMS" in r["product"]["note"], out


def test_products_filter_is_by_words_not_the_application():
    rc, out = kmsc("products", "--json", "2021")
    names = [p["name"] for p in json.loads(out)]
    assert names and all("2021" in n for n in names), names  # not every Office SKU
    rc, out = kmsc("products", "--json", "Windows 11 Pro")
    names = [p["name"] for p in json.loads(out)]
    assert "Windows 10/11 Pro" in names and "Windows 10/11 Enterprise" not in names, names


def test_the_same_words_select_the_same_group_in_serve_and_the_api():
    for words, group in (("Windows 11 Pro", "Windows 10/11 2015 (Volume)"),
                         ("Office 2019", "Office 2019"),
                         ("Server 2022", "Windows Server 2022")):
        rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-v", "-c", "/dev/null",
                      "-o", "allow-root=yes", "-o", f"serve={words}")
        assert rc == 0, (words, out)
        rc, products = kmsc("products", "--json")
        kms_id = {p["kms_group"]: p["kms_id"] for p in json.loads(products)}[group]
        assert f"serve = {kms_id}" in out, (words, out)
        with web_kmsd() as d:
            q = urllib.parse.quote(words)
            status, r = get_json(d.web_port, f"/api/v1/clients?product={q}")
            assert status == 200, (words, r)
        rc, out = kmsc("clients", "--db", "/nonexistent.db", "--product", words)
        assert "names no product group" not in out and "several" not in out, (words, out)
    rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", "/dev/null", "-o", "allow-root=yes",
                  "-o", "serve=Windows")
    assert rc != 0 and "matches" in out, out


def test_products_groups_list_their_skus_plain_editions_first():
    rc, out = kmsc("products", "--groups", "Windows 11 Pro")
    assert rc == 0, out
    block = out.split("Windows 10/11 2015 (Volume)", 1)[1].split("\n\n", 1)[0]
    names = [l.split(None, 1)[1] for l in block.strip().splitlines()[1:]]
    assert "Windows 10/11 Pro" in names and "Windows 10/11 Pro N" in names, names
    assert names.index("Windows 10/11 Pro") < names.index("Windows 10/11 Pro N"), names
    first_n = min(i for i, n in enumerate(names) if n.endswith(" N"))
    assert not any(n.endswith(" N") for n in names[:first_n]), names
