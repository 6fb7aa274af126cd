"""kmsc backup: a copy of the SQLite store taken while kmsd writes, and the
restore docs/administration.md describes. A cp of the file could catch a
commit half written, and misses what is still in the -wal; restoring a
file beside an old -wal makes SQLite read that -wal into it."""
import os
import shutil
import sqlite3
import stat
import tempfile
import time

from kmsdtest import Kmsd, kmsc
from test_store_faults import load, probes_while, stored_cmids


def test_backup_while_kmsd_writes_then_restore():
    where = tempfile.mkdtemp()
    db, copy = os.path.join(where, "clients.db"), os.path.join(where, "backup.db")
    d = Kmsd(f"store=sqlite:{db}", "log-level=info")
    bench = load(d, 3)
    before = probes_while(d, 0.5)
    # committed before the copy starts: within 250 ms on a normal build,
    # seconds for a sanitizer's writer behind a full-speed load
    deadline = time.monotonic() + 60
    while [c for c in before if c not in stored_cmids(db)]:
        assert time.monotonic() < deadline, "clients answered before the copy never stored"
        time.sleep(0.1)
    rc, out = kmsc("backup", "--db", db, copy)
    assert rc == 0, out
    during = probes_while(d, 0.5)
    bench.wait()
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    assert not os.path.exists(copy + "-wal")
    con = sqlite3.connect(copy)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA user_version").fetchone()[0] >= 6
    con.close()
    saved = stored_cmids(copy)
    assert not [c for c in before if c not in saved], "clients answered before the copy missing"
    # never over a file already there
    size = os.path.getsize(copy)
    rc, out = kmsc("backup", "--db", db, copy)
    assert rc != 0 and "cannot create" in out, out
    assert os.path.getsize(copy) == size
    d.stop()
    assert os.path.exists(db + "-wal")  # a stop leaves its -wal: what the restore removes

    # the restore, as docs/administration.md says: kmsd stopped, the -wal
    # and -shm removed, the copy put in place
    for side in (db + "-wal", db + "-shm"):
        if os.path.exists(side):
            os.remove(side)
    shutil.copyfile(copy, db)
    d = Kmsd(f"store=sqlite:{db}", "log-level=info")
    later = probes_while(d, 0.3)
    d.stop()
    restored = stored_cmids(db)
    assert not [c for c in before if c not in restored]
    # what was answered after the copy is not in it: the store is the copy
    assert during and not [c for c in during if c in restored]
    assert not [c for c in later if c not in restored]
    rc, out = kmsc("clients", "--db", db, "--limit", "1")
    assert rc == 0, out


def test_backup_refuses_a_postgresql_store_and_says_what_to_use():
    rc, out = kmsc("backup", "--db", "postgresql://localhost/kmsd", "/tmp/never-written.db")
    assert rc == 2 and "pg_dump" in out, out
    assert not os.path.exists("/tmp/never-written.db")
