#!/usr/bin/env python3
"""Integration test runner: runs each test_* function of every
tests/integration/test_*.py and closes with "N passed, N failed, N skipped".

Tests start the real binaries (KMSD_BIN names their directory) on loopback
with ephemeral ports and temporary directories, so test files run in
parallel, each in a process of its own (KMSD_TEST_JOBS, default 3: the
tests spend most of their time waiting on daemons, not on a core). A file
that sets SERIAL (its commands use the documented fixed port 1688, say)
runs in one lane with the other such files, one after the other, while the
rest share the other lanes. A file that sets ALONE runs after every lane
has finished, with nothing else running: one that changes the machine
itself (test_deb installs a package, creates and deletes a system user),
so no other test sees that user or package come and go, and one that
holds kmsd to a time it promises (test_store_kill9's 250 ms), which the
other lanes' load on the cores would turn into a measure of them. A file
that sets LONG (a package build, minutes of faults) is started before the
others, so the run does not wait on it at the end.

Each file gets a temporary directory of its own as TMPDIR, removed when
the file is done, so what a test leaves in it never outlives the run nor
shows up in another test's view of /tmp. KMSD_RUN_SHARED names one
directory for the whole run, where a file can leave a result for an ALONE
file that runs after it (the package that test_deb_build built in a lane,
for test_deb to install). A test that cannot run here raises kmsdtest.Skip
and is reported as skipped, never as passed.

Usage:
    run.py [NAME-FILTER]
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
MODULE_TIMEOUT = float(os.environ.get("KMSD_TEST_MODULE_TIMEOUT", "900"))


def load(name):
    spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(HERE, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_module(name, flt):
    """Run one file's tests in this process; the last line is the tally."""
    from kmsdtest import Skip
    module = load(name)
    counts = [0, 0, 0]
    for attr in sorted(dir(module)):
        fn = getattr(module, attr)
        if not (attr.startswith("test_") and callable(fn)):
            continue
        full = f"{name[:-3]}.{attr}"
        if flt and flt not in full:
            continue
        start = time.monotonic()
        try:
            fn()
        except Skip as why:
            counts[2] += 1
            print(f"skip {full}: {why}")
        except Exception:  # a failed assert or anything unexpected
            counts[1] += 1
            print(f"FAIL {full}")
            traceback.print_exc(file=sys.stdout)
        else:
            counts[0] += 1
            print(f"ok   {full} ({time.monotonic() - start:.2f}s)")
        sys.stdout.flush()
    print("#tally %d %d %d" % tuple(counts))
    return counts


def marked(name, flag):
    """Whether the file sets FLAG (SERIAL, ALONE or LONG) at its top level."""
    with open(os.path.join(HERE, name)) as f:
        return any(line.startswith(f"{flag} =") for line in f)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--module":
        run_module(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
        return 0
    flt = sys.argv[1] if len(sys.argv) > 1 else ""
    names = sorted(n for n in os.listdir(HERE) if n.startswith("test_") and n.endswith(".py"))
    if flt:
        names = [n for n in names if any(flt in f"{n[:-3]}.{a}" for a in dir_of(n))]
    jobs = max(1, int(os.environ.get("KMSD_TEST_JOBS", "3")))
    alone = [n for n in names if marked(n, "ALONE")]
    serial = [n for n in names if marked(n, "SERIAL") and n not in alone]
    parallel = [n for n in names if n not in serial and n not in alone]
    parallel.sort(key=lambda n: not marked(n, "LONG"))  # stable: LONG files first
    totals = [0, 0, 0]
    lock = threading.Lock()
    started = time.monotonic()
    shared = tempfile.mkdtemp(prefix="kmsd-run-")

    def one(name):
        # traversable by others: some tests drop to nobody and read their files
        tmp = tempfile.mkdtemp(prefix=f"kmsd-it-{name[5:-3]}-")
        os.chmod(tmp, 0o755)
        env = dict(os.environ, TMPDIR=tmp, KMSD_RUN_SHARED=shared)
        try:
            p = subprocess.run([sys.executable, os.path.abspath(__file__), "--module", name, flt],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=MODULE_TIMEOUT, check=False, env=env)
            out = p.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace") + \
                f"FAIL {name[:-3]}: no result within {MODULE_TIMEOUT:.0f} s\n#tally 0 1 0\n"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        lines = out.splitlines()
        tally = [l for l in lines if l.startswith("#tally ")]
        counts = [int(x) for x in tally[-1].split()[1:]] if tally else [0, 1, 0]
        if not tally:
            lines.append(f"FAIL {name[:-3]}: the test file stopped without a result")
        with lock:
            for line in lines:
                if not line.startswith("#tally "):
                    print(line)
            sys.stdout.flush()
            for i in range(3):
                totals[i] += counts[i]

    queue = list(parallel)
    qlock = threading.Lock()

    def lane_parallel():
        while True:
            with qlock:
                if not queue:
                    return
                name = queue.pop(0)
            one(name)

    def lane_serial():
        for name in serial:
            one(name)
        lane_parallel()  # then help with what is left

    lanes = [threading.Thread(target=lane_serial)] + \
        [threading.Thread(target=lane_parallel) for _ in range(jobs - 1)]
    for t in lanes:
        t.start()
    for t in lanes:
        t.join()
    for name in alone:
        one(name)
    shutil.rmtree(shared, ignore_errors=True)
    print(f"integration wall time: {time.monotonic() - started:.1f} s with {jobs} lane(s)")
    print(f"integration: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 1 if totals[1] or not (totals[0] or totals[2]) else 0


def dir_of(name):
    try:
        return [a for a in dir(load(name)) if a.startswith("test_")]
    except Exception:  # a file that does not even import runs, and fails, in its lane
        return [""]


if __name__ == "__main__":
    sys.exit(main())
