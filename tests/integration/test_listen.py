"""Listen addresses that cannot be opened (issue 14): the start names the
address and the reason, and goes on with the others (listen-failure =
warn, the default) or stops (stop); listen-freebind binds an address this
machine does not have yet. 192.0.2.1 (TEST-NET-1) is on no interface here."""
import os
import subprocess

from kmsdtest import BIN, Kmsd, free_port, replay

UNASSIGNED = "192.0.2.1"


def test_one_address_failing_is_named_and_the_others_serve():
    port = free_port()
    with Kmsd(listen=[f"{UNASSIGNED}:{free_port()}", f"127.0.0.1:{port}"], port=port) as d:
        log = d.log()
        assert (f"warning: cannot listen on {UNASSIGNED}:" in log and
                "Cannot assign requested address" in log and "listen-freebind" in log and
                "going on with the other addresses" in log), log
        rc, out = replay(port, "vlmcsd-win7-ent-v4")
        assert rc == 0, out


def test_listen_failure_stop_stops_and_none_at_all_says_so():
    for options, message in (
            (["-l", f"{UNASSIGNED}:{free_port()}", "-l", f"127.0.0.1:{free_port()}",
              "-o", "listen-failure=stop"], "listen-failure = stop"),
            (["-l", f"{UNASSIGNED}:{free_port()}"], "none of the 1 listen address(es)")):
        p = subprocess.run([os.path.join(BIN, "kmsd"), "-f", "-c", "/dev/null", "-o", "store=none",
                            "-o", "allow-root=yes", *options], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        out = p.stdout.decode()
        assert p.returncode == 1 and f"cannot listen on {UNASSIGNED}:" in out and message in out, out


def test_freebind_binds_an_address_not_up_yet():
    port, other = free_port(), free_port()
    with Kmsd("listen-freebind=yes", listen=[f"{UNASSIGNED}:{other}", f"127.0.0.1:{port}"],
              port=port) as d:
        assert f"listening on {UNASSIGNED}:{other}" in d.log(), d.log()
        assert "cannot listen" not in d.log()
