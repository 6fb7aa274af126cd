#!/usr/bin/env python3
"""What the clients table's layout costs a new client, at 1M rows.

A measurement for BENCHMARKS.md ("Small ids for the groups"), not a test:
copies of make bench-store's 1M store in four layouts, each packed anew
(so the files compare with each other, not with the loader's), then per
layout 40,000 new clients written as kmsd's writer does (the probe for the
old row, then the upsert; batches of 2,500, WAL, synchronous=NORMAL, a
16 MiB cache, a checkpoint after each batch), two rounds interleaved.
Prints the process's CPU time per client. Python's own calls are part of
every figure: the same two calls on an empty in-memory database are
printed first.

    schema_variants.py [--short] [--dir WORK_DIR] [LAYOUT...]

--short (make bench-short): a 10,000-client store and 2,000 new clients,
to show the script runs.

Layouts: blob (schema 7: 16-byte application and KMS ids, the table
ordered by its key), rowid-int (a rowid table, a unique index on the key,
the two ids as small integers); "-bare" after either drops the eight
secondary indexes. Needs about 3 GB under WORK_DIR (default /tmp).
"""
import argparse
import os
import random
import sqlite3
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import bench_store  # noqa: E402  the 1M store's builder

COLS = ("cmid, app_id, kms_id, sku_id, workstation, address, license_status, protocol,"
        " first_seen, last_seen, requests, last_result, last_count, counted_seen")
INDEXES = ["clients_pool ON clients (app_id, last_seen)",
           "clients_last_seen ON clients (last_seen)",
           "clients_counted ON clients (counted_seen)",
           "clients_kms ON clients (kms_id, last_seen)",
           "clients_workstation ON clients (workstation COLLATE NOCASE)",
           "clients_address ON clients (address COLLATE NOCASE)",
           "clients_requests ON clients (requests, last_seen)",
           "clients_groups ON clients (app_id, kms_id, last_seen, last_result)"]


def tables(layout):
    ids = "INTEGER" if "int" in layout else "BLOB"
    body = (f"cmid BLOB NOT NULL, app_id {ids} NOT NULL, kms_id {ids}, sku_id BLOB,"
            " workstation TEXT, address TEXT, license_status INTEGER, protocol TEXT,"
            " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
            " requests INTEGER NOT NULL DEFAULT 1, last_result INTEGER, last_count INTEGER,"
            " counted_seen INTEGER")
    if "rowid" in layout:
        return [f"CREATE TABLE clients (id INTEGER PRIMARY KEY, {body})",
                "CREATE UNIQUE INDEX clients_key ON clients (cmid, app_id)"]
    return [f"CREATE TABLE clients ({body}, PRIMARY KEY (cmid, app_id)) WITHOUT ROWID"]


def copy(source, layout, where):
    path = os.path.join(where, f"layout-{layout}.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    for sql in tables(layout):
        db.execute(sql)
    db.execute("ATTACH ? AS src", (source,))
    select = COLS
    if "int" in layout:
        db.execute("CREATE TEMP TABLE ids AS SELECT k, row_number() OVER () n FROM (SELECT"
                   " DISTINCT app_id k FROM src.clients UNION SELECT DISTINCT kms_id FROM src.clients)")
        small = "(SELECT n FROM ids WHERE k = {})"
        select = select.replace("app_id,", small.format("app_id") + ",", 1)
        select = select.replace("kms_id,", small.format("kms_id") + ",", 1)
    db.execute("BEGIN")
    db.execute(f"INSERT INTO clients ({COLS}) SELECT {select} FROM src.clients"
               " ORDER BY cmid, app_id")
    db.execute("COMMIT")
    for index in ([] if "bare" in layout else INDEXES):
        db.execute("CREATE INDEX " + index)
    db.execute("DETACH src")
    db.close()
    return path


def new_clients(layout, n, seed):
    rnd = random.Random(seed)
    apps = [1, 2] if "int" in layout else [bytes.fromhex(bench_store.WIN_APP),
                                            bytes.fromhex(bench_store.O13_APP)]
    kms = 3 if "int" in layout else bytes.fromhex(bench_store.WIN_KMS)
    now = int(time.time())
    return [(rnd.randbytes(16), apps[i % 2], kms, rnd.randbytes(16),
             f"bench-{rnd.getrandbits(24):06x}-{i}.kmsc.example",
             f"127.0.0.1:{rnd.randrange(1024, 65535)}", 2, "6.0",
             now + i // 1000, now + i // 1000, 1, 0, 50, now + i // 1000) for i in range(n)]


def run(path, layout, seed, n=40000, batch=2500):
    work = path + ".run"
    for name in (work, work + "-wal", work + "-shm"):
        if os.path.exists(name):
            os.remove(name)
    with open(path, "rb") as src, open(work, "wb") as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
    db = sqlite3.connect(work, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-16384",
                   "wal_autocheckpoint=0"):
        db.execute("PRAGMA " + pragma)
    rows = new_clients(layout, n, seed)
    upsert = (f"INSERT INTO clients ({COLS}) VALUES ({','.join('?' * 14)})"
              " ON CONFLICT (cmid, app_id) DO UPDATE SET last_seen = excluded.last_seen,"
              " requests = requests + 1")
    probe = ("SELECT last_seen, last_result, workstation IS ? FROM clients"
             " WHERE cmid = ? AND app_id = ?")
    start = time.process_time()
    for b in range(0, n, batch):
        db.execute("BEGIN")
        for r in rows[b:b + batch]:
            db.execute(probe, (r[4], r[0], r[1])).fetchall()
            db.execute(upsert, r)
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    used = time.process_time() - start
    db.close()
    for name in (work, work + "-wal", work + "-shm"):
        if os.path.exists(name):
            os.remove(name)
    return used * 1e6 / n


def python_calls(n=40000):
    db = sqlite3.connect(":memory:", isolation_level=None)
    r = new_clients("blob", 1, 0)[0]
    start = time.process_time()
    for _ in range(n):
        db.execute("SELECT ?, ?, ?", (r[4], r[0], r[1])).fetchall()
        db.execute(f"SELECT {','.join('?' * 14)}", r)
    return (time.process_time() - start) * 1e6 / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("layouts", nargs="*",
                    default=["blob", "rowid-int", "blob-bare", "rowid-int-bare"])
    args = ap.parse_args()
    rows, clients = (10000, 2000) if args.short else (1000000, 40000)
    where, layouts = tempfile.mkdtemp(dir=args.dir), args.layouts
    print(f"Python's two calls alone: {python_calls(clients):.1f} µs per client", flush=True)
    source, _ = bench_store.build(rows, where)
    paths = {layout: copy(source, layout, where) for layout in layouts}
    os.remove(source)
    for rnd in (1, 2):
        for layout in layouts:
            size = os.path.getsize(paths[layout]) >> 20
            print(f"round {rnd} {layout:15s} {size:5d} MiB  {run(paths[layout], layout, rnd, clients, clients // 16):6.1f}"
                  " µs CPU per new client", flush=True)
    shutil.rmtree(where)


if __name__ == "__main__":
    main()
