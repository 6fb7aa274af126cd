"""kmsc ping (issue 21): the container health check's probe binds and
hangs up; the host counts no machine and logs nothing above debug."""
import os
import re

from kmsdtest import Kmsd, free_port, kmsc


def test_ping_binds_without_counting_or_logging():
    with Kmsd("log-level=info", "count=real") as d:
        before = d.log()
        for _ in range(3):
            rc, out = kmsc("ping", f"127.0.0.1:{d.port}")
            assert rc == 0 and out.strip() == f"127.0.0.1:{d.port}: bind accepted", out
        assert d.log() == before, d.log()
        # the first real client is still machine number one
        rc, out = kmsc("activate", f"127.0.0.1:{d.port}")
        assert rc == 0, out
        assert re.search(r"count 1 ", out), out  # "not activated (count 1 < 25)"


def test_ping_fails_without_a_host():
    rc, out = kmsc("ping", "--timeout", "2", f"127.0.0.1:{free_port()}")
    assert rc == 4 and "cannot connect" in out, out
    rc, out = kmsc("ping", "127.0.0.1:1688", "extra")
    assert rc == 2, out
