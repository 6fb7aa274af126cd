"""Counting as docs/protocol.md section 5 says, over a live host in count = real
(issue 15): only answered requests count, unknown applications cannot
touch the real pools, the cap is per pool, and a restart keeps all of it."""
import json
import os
import signal
import time
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor

from kmsdtest import Kmsd, kmsc

WIN10 = "Windows 10/11 Enterprise"
SERVER = "Windows Server 2019 Datacenter"
OFFICE = "Office Professional Plus 2019"
OFFICE2010 = "Office Professional Plus 2010"


def activate(d, product, *extra, cmid=None):
    """One request; the JSON answer (None for a refusal) and the exit code."""
    args = ["activate", "--json", "-p", product, "--cmid", cmid or str(uuid.uuid4())]
    rc, out = kmsc(*args, *extra, f"127.0.0.1:{d.port}")
    result = json.loads(out.splitlines()[-1])
    return (result["response"]["count"] if "response" in result else None), rc, result


def count_of(d, product):
    """The pool's count as a new, answered client of `product` sees it."""
    return activate(d, product)[0]


def test_refused_requests_of_every_kind_leave_the_count_unchanged():
    with Kmsd("count=real", "serve=Windows 10/11 2015 (Volume)", "client-time-check=yes",
              "max-n-policy=100") as d:
        same = str(uuid.uuid4())
        for _ in range(5):  # not served: 0xC004F042
            count, rc, r = activate(d, SERVER)
            assert count is None and r["status"] == "0xC004F042", r
        for _ in range(3):  # bad clock: 0xC004F06C
            count, rc, r = activate(d, WIN10, "--time", "2020-01-01 00:00:00")
            assert count is None and r["status"] == "0xC004F06C", r
        for _ in range(3):  # N too large: 0x8007000D
            count, rc, r = activate(d, WIN10, "--n-policy", "5000")
            assert count is None and r["status"] == "0x8007000D", r
        # a machine refused first, then answered, counts once
        activate(d, WIN10, "--n-policy", "5000", cmid=same)
        assert activate(d, WIN10, cmid=same)[0] == 1
        assert count_of(d, WIN10) == 2
        assert "below threshold count=2/25" in d.log() or "count=2/25" in d.log()


def test_random_applications_touch_no_real_pool():
    for serve in ("all", "unknown"):
        with Kmsd("count=real", f"serve={serve}", threads=2) as d:
            assert count_of(d, WIN10) == 1
            assert count_of(d, OFFICE) == 1

            def junk(_):
                return activate(d, WIN10, "--app-id", str(uuid.uuid4()),
                                "--kms-id", str(uuid.uuid4()))[2]["status"]

            with ThreadPoolExecutor(4) as pool:
                statuses = set(pool.map(junk, range(100)))
            # refused by default; `serve = unknown` answers them, in their own bucket
            assert statuses == ({"0xC004F042"} if serve == "all" else {"0x00000000"}), statuses
            assert count_of(d, WIN10) == 2
            assert count_of(d, OFFICE2010) == 1
            # Office still counts up to its threshold and activates
            counts = [activate(d, OFFICE)[0] for _ in range(4)]
            assert counts == [2, 3, 4, 5], counts
            count, rc, r = activate(d, OFFICE)
            assert count == 6 and r["activated"], r


def test_the_cap_is_per_pool_and_survives_a_restart():
    db = os.path.join(tempfile.mkdtemp(), "clients.db")
    with Kmsd("count=real", f"store=sqlite:{db}", "serve=Windows 10/11 2015 (Volume)") as d:
        for i in range(12):
            assert count_of(d, WIN10) == i + 1
        for _ in range(4):  # refused, and recorded as history
            assert activate(d, SERVER)[0] is None
    with Kmsd("count=real", f"store=sqlite:{db}") as d:
        # 12 answered machines, not the 4 refused ones; a server is the 13th
        # and is told 13, not 2 x its N of 5
        count, rc, r = activate(d, SERVER)
        assert count == 13 and r["activated"], r
        for _ in range(60):
            count = count_of(d, WIN10)
        assert count == 50  # Windows' cap: 2 x 25
        for _ in range(12):
            count = count_of(d, OFFICE)
        assert count == 10  # an Office pool's cap: 2 x 5
        rc, out = kmsc("stats", "--db", f"sqlite:{db}", "--json")
        groups = {g["group"]: g for g in json.loads(out)}
        assert not any("2019" in name and "Server" in name and not g["clients"]
                       for name, g in groups.items()), groups
    with Kmsd("count=real", f"store=sqlite:{db}") as d:
        assert count_of(d, SERVER) == 50
        assert count_of(d, OFFICE) == 10


def test_refused_requests_are_kept_but_not_replayed_into_the_count():
    db = os.path.join(tempfile.mkdtemp(), "clients.db")
    with Kmsd("count=real", f"store=sqlite:{db}", "serve=Office 2019") as d:
        for _ in range(24):
            assert activate(d, SERVER)[0] is None
    rc, out = kmsc("clients", "--db", f"sqlite:{db}", "--json")
    assert rc == 0 and len(json.loads(out)) == 24, out
    rc, out = kmsc("stats", "--db", f"sqlite:{db}", "--json")
    assert all(not g["activating"] for g in json.loads(out)), out
    with Kmsd("count=real", f"store=sqlite:{db}") as d:
        count, rc, r = activate(d, WIN10)
        assert count == 1 and not r["activated"], r


def test_kmsc_leaves_a_bounded_trace_and_forget_removes_it():
    db = os.path.join(tempfile.mkdtemp(), "clients.db")
    with Kmsd("count=real", f"store=sqlite:{db}") as d:
        # kmsc activate is one machine however often it asks
        for _ in range(2):
            rc, out = kmsc("activate", "--json", f"127.0.0.1:{d.port}")
            assert rc == 5, out
        assert json.loads(out)["response"]["count"] == 1, out
        # kmsc bench adds at most --machines clients
        rc, out = kmsc("bench", "-c", "4", "-N", "200", "--machines", "5", "--json",
                       f"127.0.0.1:{d.port}")
        assert rc == 0, out
        assert count_of(d, WIN10) == 7  # 1 + 5 + this one
        time.sleep(0.5)  # a batch is written every 125 ms
        rc, out = kmsc("clients", "--db", f"sqlite:{db}", "--json")
        assert len(json.loads(out)) == 7, out
        # forget: bench's machines, then one by id, then a product's
        rc, out = kmsc("forget", "--db", f"sqlite:{db}", "--bench")
        assert rc == 0 and "forgot 5 clients" in out, out
        d.send(signal.SIGHUP)
        d.wait_log("configuration reloaded")
        assert count_of(d, WIN10) == 3  # kmsc's, the probe above, this one
        activate(d, OFFICE, cmid="11111111-2222-4333-8444-555555555555")
        time.sleep(0.5)
        rc, out = kmsc("forget", "--db", f"sqlite:{db}", "--cmid",
                       "11111111-2222-4333-8444-555555555555")
        assert rc == 0 and "forgot 1 clients" in out, out
        rc, out = kmsc("forget", "--db", f"sqlite:{db}", "--product", "Windows 11 Enterprise")
        assert rc == 0 and "forgot 3 clients" in out, out
        d.send(signal.SIGHUP)
        time.sleep(0.3)
        assert count_of(d, WIN10) == 1
        assert count_of(d, OFFICE) == 1
        rc, out = kmsc("forget", "--db", f"sqlite:{db}")
        assert rc == 2, out


def test_dashboard_pools_do_not_count_refused_requests():
    from test_web import get_json, web_kmsd
    with web_kmsd("serve=Office 2019") as d:
        for _ in range(5):
            assert activate(d, SERVER)[0] is None
        assert activate(d, OFFICE)[0] == 1
        _, status = get_json(d.web_port, "/api/v1/status")
        pools = {p["pool"]: p["clients"] for p in status["pools"]}
        assert pools["windows"] == 0 and pools["office2013"] == 1, pools
