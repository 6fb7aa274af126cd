"""The clients page and API filtered by product group and by last answer,
the CSV download of the current filter, and the page refreshing itself
(issue 17)."""
import csv
import io
import time

from test_web import OFFICE, SERVER, WIN10, activate, get, get_json, web_kmsd

OFFICE_2019 = "Office 2019"


def crowd(d):
    """5 servers (the fifth and later activated, N = 5), 2 Windows 10
    (below 25), 1 Office 2019 refused (not served), odd names included."""
    for i in range(5):
        activate(d, SERVER, f"SRV-{i}")
    activate(d, WIN10, 'WS,"QUOTED"\nNEXT')
    activate(d, WIN10, "=HYPERLINK(\"http://x\")")
    assert activate(d, OFFICE, "OFFICE-REFUSED") == 3
    time.sleep(0.6)


def names(port, query):
    status, body = get_json(port, "/api/v1/clients?limit=100&" + query)
    assert status == 200, body
    return sorted(c["workstation"] for c in body["clients"]), body["total"]


def test_clients_filter_by_group_and_last_answer():
    with web_kmsd("serve=Windows Server 2019", "serve=Windows 10/11 2015 (Volume)") as d:
        crowd(d)
        got, total = names(d.web_port, "result=activated")
        assert got == ["SRV-4"] and total == 1, got
        got, _ = names(d.web_port, "result=below_threshold")
        assert got == sorted(["SRV-0", "SRV-1", "SRV-2", "SRV-3", 'WS,"QUOTED"\nNEXT',
                              '=HYPERLINK("http://x")']), got
        got, _ = names(d.web_port, "result=refused")
        assert got == ["OFFICE-REFUSED"]
        _, groups = get_json(d.web_port, "/api/v1/products?filter=Windows%20Server%202019%20Datacenter")
        kms_id = groups["products"][0]["kms_id"]
        got, total = names(d.web_port, f"product={kms_id}&result=below_threshold")
        assert got == ["SRV-0", "SRV-1", "SRV-2", "SRV-3"] and total == 4
        status, e = get_json(d.web_port, "/api/v1/clients?result=maybe")
        assert status == 400 and e["parameter"] == "result"
        # the page: both selects, the filter kept in its links, refreshing
        _, _, page = get(d.web_port, f"/clients?product={kms_id}&result=below_threshold")
        assert '<meta http-equiv="refresh" content="30">' in page
        assert f'<option value="{kms_id}" selected>Windows Server 2019</option>' in page
        assert '<option value="below_threshold" selected>below threshold</option>' in page
        assert f"/clients.csv?sort=last_seen&amp;product={kms_id}&amp;result=below_threshold" in page
        assert '<span id="clients-total">4</span>' in page


def test_csv_download_of_the_current_filter_quotes_every_field():
    with web_kmsd("serve=Windows Server 2019", "serve=Windows 10/11 2015 (Volume)") as d:
        crowd(d)
        status, headers, body = get(d.web_port, "/clients.csv?product=windows&limit=1")
        assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
        assert headers["Content-Disposition"] == 'attachment; filename="kmsd-clients.csv"'
        assert "Content-Security-Policy" in headers
        rows = list(csv.reader(io.StringIO(body, newline="")))
        head, data = rows[0], rows[1:]
        assert head[:3] == ["cmid", "workstation", "address"] and "answer" in head
        # the whole filter (7 Windows machines), not the page's limit
        assert len(data) == 7, data
        by_name = {r[1]: dict(zip(head, r)) for r in data}
        assert 'WS,"QUOTED"\nNEXT' in by_name, list(by_name)
        assert '"WS,""QUOTED""\nNEXT"' in body
        # a formula is defused, not run by a spreadsheet
        assert "'=HYPERLINK(\"http://x\")" in by_name
        assert by_name["SRV-4"]["answer"] == "activated"
        assert by_name["SRV-0"]["answer"] == "below_threshold"
        assert by_name["SRV-0"]["address"] == "127.0.0.1"
        assert body.startswith("cmid,workstation,") and body.split("\n")[0].endswith("\r")
        _, _, body = get(d.web_port, "/clients.csv?result=refused")
        rows = list(csv.reader(io.StringIO(body, newline="")))
        assert [r[1] for r in rows[1:]] == ["OFFICE-REFUSED"]
        status, e = get_json(d.web_port, "/clients.csv?format=xlsx")
        assert status == 400 and e["parameter"] == "format"
