"""kill -9 against a live host under load (issues 19 and 20): every client
answered more than the durability bound before the kill is in the store.

The bound is a time kmsd promises (README: 250 ms at 2,000 new clients/s),
so this file runs ALONE, with no other test's load on the cores: beside the
other lanes (a PostgreSQL cluster, a package build) the writer waits for
CPU, and the figure measured the neighbours, not kmsd (892 ms under ASan
beside test_store_pg in a fresh-clone run)."""
import os
import signal
import subprocess
import tempfile
import threading
import time

from kmsdtest import skip, BIN, Kmsd
from test_store_faults import load, probe, stored_cmids

ALONE = True


class PacedLoad:
    """`rate` new clients a second (kmsc bench runs of rate / 4 new
    machines every 250 ms), the load issue 19 states the promise for."""

    def __init__(self, d, rate):
        self.d, self.rate, self.runs = d, rate, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.send)
        self.thread.start()

    def send(self):
        n, t0 = self.rate // 4, time.monotonic()
        for i in range(1000):
            if self.stop.is_set():
                break
            self.runs.append(subprocess.Popen(
                [os.path.join(BIN, "kmsc"), "bench", "-N", str(n), "-c", "8", "-m", "1000000000",
                 "--first", str(i * n), f"127.0.0.1:{self.d.port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            self.stop.wait(max(0.0, t0 + (i + 1) * 0.25 - time.monotonic()))

    def kill(self):
        self.stop.set()
        self.thread.join()
        for r in self.runs:
            r.kill()

    def wait(self):
        for r in self.runs:
            r.wait()


def kill_9_run(bound, rate=None):
    """One kill -9 under load (flat out, or `rate` new clients a second):
    (answered clients due, how many missing, how long before the kill the
    oldest missing one was answered)."""
    db = os.path.join(tempfile.mkdtemp(), "clients.db")
    d = Kmsd(f"store=sqlite:{db}", threads=2)
    answered = []
    bench = PacedLoad(d, rate) if rate else load(d, 30, concurrency=8)
    try:
        time.sleep(0.5)
        deadline = time.monotonic() + bound + 1.0
        while time.monotonic() < deadline:
            c = probe(d)
            if c:
                answered.append((c, time.monotonic()))
        killed_at = time.monotonic()
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
    finally:
        bench.kill()
        bench.wait()
    stored = stored_cmids(db)
    due = [c for c, t in answered if killed_at - t > bound]
    late = max((killed_at - t for c, t in answered if c not in stored), default=0)
    missing = [c for c in due if c not in stored]
    return len(due), len(missing), late


def kill_9_runs(runs, bound, rate=None):
    """kill_9_run `runs` times, each losing no answered client older than
    `bound`; the oldest answered client missing in any run, in seconds."""
    worst = 0
    for i in range(runs):
        due, missing, late = kill_9_run(bound, rate=rate)
        worst = max(worst, late)
        assert due, "no activation finished in time"
        assert not missing, f"run {i}: {missing} of {due} answered clients lost, " \
            f"the oldest answered {late * 1000:.0f} ms before the kill"
    return worst


def test_kill_9_at_2000_new_clients_a_second_loses_nothing_older_than_250_ms():
    # the README's promise, at the load issue 19 states it for; 10 runs
    # with KMSD_LONG=1 (make test-long), 2 in CI. Measured: the oldest
    # missing client answered at most 48 ms before the kill (load average
    # 11 on 2 cores)
    if os.environ.get("KMSD_TSAN") == "1":
        # its writer, 5 to 15 times slower, falls behind 2,000 records/s on
        # 2 cores (1,754 ms seen): the bound would measure the sanitizer.
        # The same path runs under it in test_kill_9_under_load_runs
        skip("ThreadSanitizer's writer cannot keep up with 2,000 new clients/s here")
    runs = 10 if os.environ.get("KMSD_LONG") == "1" else 2
    bound = 0.25
    if os.environ.get("KMSD_SANITIZED") == "1":
        bound = 0.5  # a performance bound: sanitizers slow the writer several times
    worst = kill_9_runs(runs, bound, rate=2000)
    print(f"kill -9 at 2,000 new clients/s: {runs} runs, the oldest answered client missing "
          f"was answered {worst * 1000:.0f} ms before the kill (bound {bound * 1000:.0f} ms)")


def test_kill_9_under_load_runs():
    # flat out: the load generator saturating the same two cores. 10 runs
    # with KMSD_LONG=1 (make test-long); 2 in CI. Up to 265 ms was
    # measured with the machine otherwise idle, and up to 1,046 ms with
    # other builds loading it (load average 9): the writer then gets too
    # little CPU to keep up with ~14,000 activations/s
    # with the load generator taking the CPU the writer needs, its lag is
    # the scheduler's: 900 ms was seen in a fresh-clone CI run, so the bound
    # is twice the worst seen, not a target
    runs = 10 if os.environ.get("KMSD_LONG") == "1" else 2
    bound = 2.0
    if os.environ.get("KMSD_SANITIZED") == "1":
        bound = 4.0  # sanitizers slow the writer several times (1,928 ms seen)
    if os.environ.get("KMSD_TSAN") == "1":
        bound = 8.0  # ThreadSanitizer: 5 to 15 times (up to 2,723 ms seen)
    worst = kill_9_runs(runs, bound)
    print(f"kill -9: {runs} runs, the oldest answered client missing was answered "
          f"{worst * 1000:.0f} ms before the kill (bound {bound * 1000:.0f} ms)")
