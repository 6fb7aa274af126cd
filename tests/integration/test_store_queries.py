"""Store queries that scale (issue 19): keyset paging through the API
returns every row exactly once while rows are being added; offset is
bounded; the total is capped and says so."""
import os
import sqlite3
import tempfile
import threading
import time
import uuid

from kmsdtest import recount_hours
from test_web import get, get_json, web_kmsd

WIN10_APP = uuid.UUID("55c92734-d682-4d71-983e-d6ec3f16059f").bytes_le
ROW = ("INSERT INTO clients (cmid, app_id, kms_id, sku_id, workstation, address,"
       " license_status, protocol, first_seen, last_seen, requests, last_result, last_count)"
       " VALUES (?, ?, ?, ?, ?, '192.0.2.1:5000', 2, '6.0', ?, ?, ?, 0, 50)")


def store_kmsd():
    db = os.path.join(tempfile.mkdtemp(), "clients.db")
    d = web_kmsd(f"store=sqlite:{db}", store=False)
    d.store_path = db
    return d


def fill(db, n, t0, tag):
    con = sqlite3.connect(db, timeout=10)
    rows = []
    for i in range(n):
        cmid = uuid.uuid4().bytes_le
        rows.append((cmid, WIN10_APP, WIN10_APP, WIN10_APP, f"{tag}-{i % 97:02d}",
                     t0 + i % 50, t0 + i % 50, i % 7 + 1))
    con.executemany(ROW, rows)
    recount_hours(con)
    con.commit()
    con.close()
    return {str(uuid.UUID(bytes_le=r[0])) for r in rows}


def page_through(d, sort):
    seen = []
    path = f"/api/v1/clients?sort={sort}&limit=37"
    while True:
        status, page = get_json(d.web_port, path)
        assert status == 200, page
        seen += [c["cmid"] for c in page["clients"]]
        if not page["next_cursor"]:
            return seen
        path = f"/api/v1/clients?sort={sort}&limit=37&cursor={page['next_cursor']}"


def test_keyset_paging_returns_every_row_once_while_rows_are_added():
    with store_kmsd() as d:
        db = d.store_path
        t0 = int(time.time()) - 3600
        before = fill(db, 1500, t0, "ws")
        for sort in ("last_seen", "workstation", "requests"):
            stop = threading.Event()

            added = []

            def add():
                while not stop.is_set():
                    # keys in the middle of every order
                    added.append(fill(db, 20, t0 + 10, f"new{len(added)}"))
                    time.sleep(0.005)

            adder = threading.Thread(target=add)
            adder.start()
            try:
                seen = page_through(d, sort)
            finally:
                stop.set()
                adder.join()
            assert len(added) >= 2, "no rows were added while paging"
            assert len(seen) == len(set(seen)), f"{sort}: a row shown twice"
            missing = before - set(seen)
            assert not missing, f"{sort}: {len(missing)} rows there from the start skipped"


def test_cursor_offset_and_total_are_strict():
    with store_kmsd() as d:
        fill(d.store_path, 5, int(time.time()) - 60, "ws")
        status, page = get_json(d.web_port, "/api/v1/clients?limit=2")
        assert page["total"] == 5 and page["total_estimated"] is False
        cursor = page["next_cursor"]
        assert cursor
        status, body = get_json(d.web_port, f"/api/v1/clients?limit=2&sort=requests&cursor={cursor}")
        assert status == 400 and body["parameter"] == "cursor", body
        status, body = get_json(d.web_port, "/api/v1/clients?cursor=l.1.2.zz")
        assert status == 400 and body["parameter"] == "cursor", body
        status, body = get_json(d.web_port, "/api/v1/clients?offset=100001")
        assert status == 400 and "cursor" in body["error"], body
        status, last = get_json(d.web_port, "/api/v1/clients?limit=10")
        assert last["next_cursor"] is None and len(last["clients"]) == 5


def test_machines_per_pool_come_from_the_store_beyond_the_in_memory_cap():
    db = os.path.join(tempfile.mkdtemp(), "clients.db")
    with web_kmsd(f"store=sqlite:{db}", store=False):
        pass  # the schema
    fill(db, 3000, int(time.time()) - 60, "ws")
    with web_kmsd(f"store=sqlite:{db}", "max-n-policy=500", store=False) as d:
        # in memory a pool stops at 2 x max-n-policy (1000): the store has 3000
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, s = get_json(d.web_port, "/api/v1/status")
            if s["pools"][0]["clients"] == 3000:
                break
            time.sleep(0.1)
        assert s["pools"][0]["clients"] == 3000, s["pools"]
        _, _, metrics = get(d.web_port, "/metrics")
        assert 'kmsd_pool_clients{pool="windows"} 3000' in metrics
