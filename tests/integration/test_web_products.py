"""The products page (issue 17): every product with its group, N,
protocol, GVLK and the client commands, searchable by words, the groups
this host serves marked, parameters strict."""
import re

from kmsdtest import run
from test_web import get, get_json, web_kmsd

W10_PRO_GVLK = "W269N-WFGWX-YVC9B-4J6C9-T83GX"


def rows(page):
    return re.findall(r"<tr><td class=\"n\" data-label=\"#\">.*?</tr>", page, re.S)


def test_products_page_lists_every_product_and_searches_by_words():
    with web_kmsd() as d:
        status, _, page = get(d.web_port, "/products")
        _, api = get_json(d.web_port, "/api/v1/products")
        assert status == 200 and len(rows(page)) == api["count"] > 100
        assert f'<span id="products-shown">{api["count"]}</span>' in page
        # words in any order, each somewhere in the product or group name
        _, _, page = get(d.web_port, "/products?q=pro+10%2F11+windows")
        names = [re.search(r'data-label="Product">([^<]*)<', r).group(1) for r in rows(page)]
        assert "Windows 10/11 Pro" in names and names, names
        assert all("pro" in n.lower() for n in names), names
        row = next(r for r in rows(page) if '>Windows 10/11 Pro<' in r)
        assert W10_PRO_GVLK in row and 'data-label="N">25<' in row
        assert 'data-label="Protocol">6<' in row
        assert f"slmgr /ipk {W10_PRO_GVLK}\nslmgr /skms 127.0.0.1:{d.port}\nslmgr /ato" in row
        _, _, page = get(d.web_port, "/products?q=office+2021+professional")
        office = rows(page)
        assert office and all("2021" in r for r in office)
        assert "Office16\\ospp.vbs&quot; /inpkey:" in office[0]
        assert "/sethst:127.0.0.1" in office[0] and f"/setprt:{d.port}" in office[0]
        _, _, page = get(d.web_port, "/products?q=no+such+product+anywhere")
        assert "no product matches" in page and '<span id="products-shown">0</span>' in page


def test_products_page_marks_the_groups_this_host_serves():
    with web_kmsd("serve=Office 2019") as d:
        _, _, page = get(d.web_port, "/products?q=2019")
        served = [r for r in rows(page) if "&#x2713; served" in r]
        assert served and all(">Office 2019<" in r for r in served), served
        assert any("&#x2717; not served" in r and "Windows Server 2019" in r for r in rows(page))


def test_products_page_parameters_are_strict():
    with web_kmsd() as d:
        status, e = get_json(d.web_port, "/products?filter=x")
        assert status == 400 and e["parameter"] == "filter"
        status, e = get_json(d.web_port, "/products?q=" + "x" * 65)
        assert status == 400 and e["parameter"] == "q"
        status, _, page = get(d.web_port, "/products?q=%3Cscript%3E")
        assert status == 200 and "<script>" not in page and "&lt;script&gt;" in page
