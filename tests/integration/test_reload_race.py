"""Reloads under load (issue 18): a SIGHUP reopens the log while workers
write to it. A log line must never land anywhere but the log, in particular
not in a client's socket that took the number of a descriptor just closed;
under `make tsan` the same run proves there is no data race."""
import json
import os
import signal
import subprocess
import time

from kmsdtest import BIN, Kmsd


def test_a_hundred_reloads_while_clients_activate():
    with Kmsd("count=real", "count-window=30d") as d:
        load = subprocess.Popen([os.path.join(BIN, "kmsc"), "bench", "-c", "8", "-d", "4",
                                 "--json", "--timeout", "10", f"127.0.0.1:{d.port}"],
                                stdout=subprocess.PIPE)
        time.sleep(0.3)
        for _ in range(100):
            d.send(signal.SIGHUP)
            time.sleep(0.02)
        out, _ = load.communicate(timeout=60)
        result = json.loads(out)
        # every answer verified by kmsc: a stray log line in a socket breaks one
        assert result["activations"] > 0, result
        assert sum(result["errors"].values()) == 0, result
        assert d.proc.poll() is None
        log = d.log()
        assert log.count("configuration reloaded") >= 50, log[-2000:]
        for line in log.splitlines():
            assert line[:4].isdigit(), line  # every line whole, with its timestamp
        d.stop()  # exits 0: under ThreadSanitizer, no race was seen
