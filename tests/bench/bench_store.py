#!/usr/bin/env python3
"""make bench-store: the client store at 10k, 100k and 1M clients (issue 19).

For each size: a SQLite store built by kmsd (the schema, its migrations
and indexes) and filled by a bulk loader writing the same rows kmsd
writes, inside SQLite; then kmsd serving it with the web on, and per size:
the kmsc and web queries of issue 19's table (p50 / p99), /metrics while a
search runs, SIGHUP while queries run, SIGTERM while queries and new
clients arrive (and how many records it saved for the next start), start-up
to ready and RSS (again after that stop), and activation p99 while the
queries run. Prints a table with ratios to the smallest size; never fails
on a figure (only a broken run exits 1).
Then a burst at the largest size: 2,000 new clients a second for 30 s
(3 s with --short), with the records dropped, the longest batch and the
longest wait from an answer to its commit.

    bench_store.py [--short] [--burst-only] [--burst-seconds S] [--write BENCHMARKS.md]
    bench_store.py --pg [--short] [--write BENCHMARKS.md]

--pg: the same on a PostgreSQL store (a private cluster on loopback, with
fsync on), plus the write path: a sustained load of new clients and how
many records the writer dropped. The short pass skips, saying so, when no
PostgreSQL server binary is installed.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

BIN = os.environ.get("KMSD_BIN", os.path.join(os.path.dirname(__file__), "../../build"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../integration"))
import kmsdtest  # noqa: E402  the integration helpers (pgtest, for --pg, too)
WIN_APP = uuid.UUID("55c92734-d682-4d71-983e-d6ec3f16059f").bytes_le.hex()
O13_APP = uuid.UUID("0ff1ce15-a989-479d-af46-f275c6370663").bytes_le.hex()
WIN_KMS = uuid.UUID("58e2134f-8e11-4d17-9cb2-91069c151148").bytes_le.hex()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kmsd_args(db, port, web_port, log):
    return [os.path.join(BIN, "kmsd"), "-f", "-c", "/dev/null", "-l", f"127.0.0.1:{port}",
            "-o", "allow-root=yes", "-o", f"store=sqlite:{db}", "-o", "web=yes",
            "-o", f"web-listen=127.0.0.1:{web_port}", "-o", "count=real",
            "-o", f"log=file:{log}", "-o", "log-level=info",
            # the load generator is one address: no per-address limits
            "-o", "rate-limit=0", "-o", "max-connections-per-address=0"]


def wait_log(log, text, count=1, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(log, errors="replace") as f:
                if f.read().count(text) >= count:
                    return time.monotonic()
        except FileNotFoundError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{text!r} not in {log}")


def make_schema(args_of, store, log):
    """kmsd started once on `store` (args_of: kmsd_args or pg_kmsd_args)
    and stopped once ready: the schema is its own."""
    p = subprocess.Popen(args_of(store, free_port(), free_port(), log),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_log(log, "ready")
    p.send_signal(signal.SIGTERM)
    p.wait()


def build(size, where):
    """kmsd creates the schema; SQLite itself writes `size` rows and their
    hourly counters as kmsd's writer would (72 % Windows, 28 % Office 2013+,
    last seen over 40 days)."""
    db = os.path.join(where, f"clients-{size}.db")
    make_schema(kmsd_args, db, os.path.join(where, f"create-{size}.log"))
    now = int(time.time())
    t0 = time.monotonic()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
        " INSERT INTO clients (cmid, app_id, kms_id, sku_id, workstation, address,"
        " license_status, protocol, first_seen, last_seen, requests, last_result, last_count,"
        " counted_seen)"
        f" SELECT randomblob(16), CASE WHEN i % 25 < 18 THEN X'{WIN_APP}' ELSE X'{O13_APP}' END,"
        f" X'{WIN_KMS}', randomblob(16), printf('pc-%07d.corp.example', i),"
        " printf('10.%d.%d.%d:%d', i / 65536 % 256, i / 256 % 256, i % 256, 49152 + i % 16000),"
        " 1, '6.0', ? - i % 3456000, ? - i % 3456000, 1 + i % 5, 0, 50, ? - i % 3456000 FROM n",
        (size, now, now, now))
    kmsdtest.recount_hours(con)  # the counters kmsd's writer keeps beside its rows
    con.commit()
    con.close()
    return db, time.monotonic() - t0


def get(port, path, timeout=60):
    t0 = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        body = r.read()
    return time.monotonic() - t0, body


def timed(fn, reps):
    ts = sorted(fn() for _ in range(reps))
    return ts[len(ts) // 2], ts[min(len(ts) - 1, int(len(ts) * 0.99))]


def kmsc_time(*args):
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(BIN, "kmsc"), *args], capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"kmsc {args}: {r.stderr.decode()}")
    return time.monotonic() - t0


class QueryLoop:
    """Web store queries in a loop on another thread."""

    def __init__(self, port):
        self.port, self.stop, self.n = port, threading.Event(), 0
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        paths = ["/api/v1/clients?search=pc-0&limit=1000", "/api/v1/stats",
                 "/api/v1/clients?sort=workstation&limit=1000"]
        while not self.stop.is_set():
            try:
                get(self.port, paths[self.n % 3])
            except OSError:
                pass
            self.n += 1

    def end(self):
        self.stop.set()
        self.thread.join()


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def query_figures(r, store, web_port, size, reps):
    """The issue's kmsc and web queries, p50/p99 over reps, into r; store is
    what kmsc --db takes (a file or a PostgreSQL URI)."""
    r["kmsc_since"] = timed(lambda: kmsc_time("clients", "--db", store, "--since", "30d",
                                              "--limit", "50"), reps)
    r["kmsc_search"] = timed(lambda: kmsc_time("clients", "--db", store, "--search",
                                               "pc-00123", "--limit", "50"), reps)
    r["kmsc_stats"] = timed(lambda: kmsc_time("stats", "--db", store), reps)
    r["web_search"] = timed(lambda: get(web_port, "/clients?search=pc-00123")[0], reps)
    deep = min(size // 2, 100000)  # WEB_OFFSET_MAX: deeper pages use cursor=
    r["api_offset"] = timed(lambda: get(web_port, f"/api/v1/clients?offset={deep}")[0], reps)
    _, first = get(web_port, "/api/v1/clients?limit=1000")
    cursor = json.loads(first)["next_cursor"]
    r["api_cursor"] = timed(lambda: get(web_port, f"/api/v1/clients?cursor={cursor}")[0],
                            reps)
    r["api_stats"] = timed(lambda: get(web_port, "/api/v1/stats")[0], reps)


def busy_figures(r, p, port, web_port, log, reps, bench_s):
    """With a query loop running: /metrics, activations/s and p99, SIGHUP."""
    r["metrics_busy"] = timed(lambda: get(web_port, "/metrics")[0], reps * 4)
    out = subprocess.run([os.path.join(BIN, "kmsc"), "bench", "-c", "4", "-d",
                          str(bench_s), "--json", f"127.0.0.1:{port}"],
                         capture_output=True).stdout
    b = json.loads(out)
    r["act_per_s"], r["act_p99_ms"] = b["per_second"], b["latency_ms"]["p99"]
    t = time.monotonic()
    p.send_signal(signal.SIGHUP)
    r["sighup_s"] = wait_log(log, "configuration reloaded") - t


def remove_store(db):
    """A SQLite store's file and its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)


def replace_sections(path, headings, section):
    """Drops the `## heading` sections of a Markdown file and appends section."""
    with open(path) as f:
        doc = f.read()
    for heading in headings:
        doc = re.sub(rf"## {re.escape(heading)}\n.*?(?=\n## |\Z)", "", doc, flags=re.S)
    with open(path, "w") as f:
        f.write(doc.rstrip("\n") + "\n\n" + section)


def measure(size, where, reps, bench_s):
    db, load_s = build(size, where)
    log = os.path.join(where, f"serve-{size}.log")
    port, web_port = free_port(), free_port()
    t0 = time.monotonic()
    p = subprocess.Popen(kmsd_args(db, port, web_port, log), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    r = {"size": size, "load_s": load_s, "ready_s": wait_log(log, "ready") - t0}
    try:
        r["rss_mib"] = rss_mib(p.pid)
        query_figures(r, db, web_port, size, reps)
        loop = QueryLoop(web_port)
        try:
            busy_figures(r, p, port, web_port, log, reps, bench_s)
            # SIGTERM with activations still arriving (a new machine each,
            # so the writer may be behind): what it cannot write in time is
            # saved for the next start
            load = subprocess.Popen([os.path.join(BIN, "kmsc"), "bench", "-c", "8",
                                     "--keepalive", "-m", "1000000000", "-d", "30",
                                     f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(bench_s)
            t = time.monotonic()
            p.send_signal(signal.SIGTERM)
            p.wait(120)
            r["sigterm_s"] = time.monotonic() - t
            load.kill()
            load.wait()
        finally:
            loop.end()
        r["queries_meanwhile"] = loop.n
        with open(log) as f:
            closed = re.search(r"closed: (\d+) records written, (\d+) dropped, (\d+) saved",
                               f.read())
        r["stop_saved"] = int(closed.group(3)) if closed else 0
        # the next start, with what that stop saved to write first
        log2 = log + ".2"
        t0 = time.monotonic()
        p = subprocess.Popen(kmsd_args(db, port, web_port, log2), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        r["ready_again_s"] = wait_log(log2, "ready") - t0
        r["rss_again_mib"] = rss_mib(p.pid)
        p.send_signal(signal.SIGTERM)
        p.wait(120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    remove_store(db)
    return r


def metrics(web_port):
    """/metrics as {name with labels: value}."""
    _, body = get(web_port, "/metrics")
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def drained(web_port, timeout=300, answered=0):
    """Wait until the writer's queue is empty and it has written or dropped
    at least `answered` records in all (or timeout seconds pass); the
    seconds it took and the store's metrics then."""
    start = time.monotonic()
    while True:
        m = metrics(web_port)
        done = m.get('kmsd_store_records_total{outcome="written"}', 0) + \
            m.get('kmsd_store_records_total{outcome="dropped"}', 0)
        if m.get("kmsd_store_queue_depth", 0) == 0 and done >= answered or \
                time.monotonic() - start > timeout:
            return time.monotonic() - start, m
        time.sleep(0.05)


def burst(size, where, seconds, rate):
    """Issue 19's burst: `rate` new clients a second for `seconds` into a
    store of `size` clients (one kmsc bench a second, each with machines
    never seen before). Reports what was answered, written and dropped,
    the longest batch, and the longest a record waited from its answer to
    its commit (kmsd_store_wait_max_seconds): the kill -9 promise."""
    where = os.path.join(where, "burst")  # build's own log names are taken
    os.makedirs(where, exist_ok=True)
    db, _ = build(size, where)
    log = os.path.join(where, f"burst-{size}.log")
    port, web_port = free_port(), free_port()
    # one load generator on one address: the flood limits would refuse it
    p = subprocess.Popen(kmsd_args(db, port, web_port, log) +
                         ["-o", "rate-limit=0", "-o", "max-connections-per-address=0",
                          "-o", "max-connections-per-prefix=0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = {"size": size, "seconds": seconds, "rate": rate}
    try:
        wait_log(log, "ready")
        t0 = time.monotonic()
        runs = []
        for i in range(seconds):
            runs.append(subprocess.Popen(
                [os.path.join(BIN, "kmsc"), "bench", "-N", str(rate), "-c", "32", "-m",
                 "1000000000", "--first", str(i * rate), "--json", f"127.0.0.1:{port}"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
            time.sleep(max(0.0, t0 + i + 1 - time.monotonic()))
        answered = 0
        for run in runs:
            out, _ = run.communicate()
            try:
                answered += json.loads(out).get("activations", 0)
            except ValueError:
                pass
        r["sent_s"] = time.monotonic() - t0
        r["answered"] = answered
        # the writer drains what is queued: then every answered record is
        # written or counted as dropped
        _, m = drained(web_port, 120, answered)
        r["drained_s"] = time.monotonic() - t0
        r["written"] = int(m.get('kmsd_store_records_total{outcome="written"}', 0))
        r["dropped"] = int(m.get('kmsd_store_records_total{outcome="dropped"}', 0))
        r["batch_max_ms"] = m.get("kmsd_store_batch_max_seconds", 0) * 1000
        r["wait_max_ms"] = m.get("kmsd_store_wait_max_seconds", 0) * 1000
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    remove_store(db)
    return r


def burst_text(b):
    return (f"A burst of {b['rate']:,} new clients/s for {b['seconds']} s into a store of "
            f"{b['size']:,} clients: {b['answered']:,} answered in {b['sent_s']:.1f} s, "
            f"{b['written']:,} written, **{b['dropped']} dropped**; longest batch "
            f"{b['batch_max_ms']:.0f} ms; the longest a record waited from its answer to "
            f"its commit {b['wait_max_ms']:.0f} ms (the promise: 250 ms); queue drained "
            f"{b['drained_s'] - b['sent_s']:.1f} s after the last request.")


def burst_section(b):
    return ("## A burst of new clients\n\n`make bench-store`'s burst: new machines "
            "(never seen before) at a steady rate, kmsd with the web on; figures from its "
            "/metrics once the writer drained its queue.\n\n" + burst_text(b) + "\n")


ROWS = [("kmsc clients --since 30d --limit 50", "kmsc_since"),
        ("kmsc clients --search", "kmsc_search"), ("kmsc stats", "kmsc_stats"),
        ("/clients?search=", "web_search"), ("/api/v1/clients?offset=(n/2, at most 100000)",
                                             "api_offset"),
        ("/api/v1/clients?cursor= (page 2)", "api_cursor"), ("/api/v1/stats", "api_stats"),
        ("/metrics while searches run", "metrics_busy")]


def ratio(value, base):
    """The growth over the smallest size, where it means something."""
    return f" ({value / base:.1f}×)" if base and value else ""


def table(results):
    base = results[0]
    head = "| at N clients | " + " | ".join(f"{r['size']:,}" for r in results) + \
           " | ratio largest / smallest |"
    lines = [head, "|---|" + "---:|" * (len(results) + 1)]
    for label, key in ROWS:
        cells = [f"{r[key][0] * 1000:.1f} / {r[key][1] * 1000:.1f} ms"
                 + (ratio(r[key][0], base[key][0]) if r is not base else "") for r in results]
        growth = results[-1][key][0] / base[key][0] if base[key][0] else 0
        lines.append(f"| {label} (p50 / p99) | " + " | ".join(cells) + f" | {growth:.2f} |")
    for label, key, fmt in [("SIGHUP while queries run", "sighup_s", "{:.3f} s"),
                            ("SIGTERM while queries and activations run", "sigterm_s",
                             "{:.3f} s"),
                            ("records that SIGTERM saved for the next start", "stop_saved",
                             "{:.0f}"),
                            ("start-up to ready", "ready_s", "{:.3f} s"),
                            ("start-up to ready after that stop", "ready_again_s", "{:.3f} s"),
                            ("RSS after start", "rss_mib", "{:.1f} MiB"),
                            ("RSS after the start after that stop", "rss_again_mib",
                             "{:.1f} MiB"),
                            ("activations/s while queries run", "act_per_s", "{:.0f}"),
                            ("activation p99 while queries run", "act_p99_ms", "{:.2f} ms"),
                            ("bulk load (SQLite, all indexes)", "load_s", "{:.1f} s")]:
        if not all(key in r for r in results):
            continue  # measured by the SQLite pass only
        cells = [fmt.format(r[key]) for r in results]
        growth = results[-1][key] / base[key] if base[key] else 0
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {growth:.2f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true", help="the CI pass: 10k and 30k")
    ap.add_argument("--sizes", help="comma-separated sizes")
    ap.add_argument("--write", help="replace the store section of this BENCHMARKS.md")
    ap.add_argument("--burst-only", action="store_true", help="only the burst (at the "
                    "largest size), and only its section with --write")
    ap.add_argument("--burst-seconds", type=int, help="length of the burst of 2,000 new "
                    "clients/s at the largest size (30; 3 with --short; 0: none)")
    ap.add_argument("--pg", action="store_true", help="a PostgreSQL store")
    a = ap.parse_args()
    if a.pg:
        return pg_main(a)
    sizes = [10000, 30000] if a.short else [10000, 100000, 1000000]
    if a.sizes:
        sizes = [int(x) for x in a.sizes.split(",")]
    reps, bench_s = (3, 1) if a.short else (9, 3)
    where = tempfile.mkdtemp(prefix="kmsd-bench-store-")
    # the stores, their WAL files and kmsd's logs: gigabytes at 1M clients
    try:
        results = []
        for n in [] if a.burst_only else sizes:
            results.append(measure(n, where, reps, bench_s))
            print(f"{n} clients: " + json.dumps(results[-1]), flush=True)
        text = table(results) if results else ""
        print(text)
        burst_s, burst_size = (3, sizes[-1]) if a.short else (30, max(sizes))
        if a.burst_seconds is not None:
            burst_s = a.burst_seconds
        b = burst(burst_size, where, burst_s, 2000) if burst_s else None
        if b:
            print(f"burst: {json.dumps(b)}\n{burst_text(b)}", flush=True)
        if a.write:
            headings, section = [], ""
            if results:
                headings.append("The client store at scale")
                section = ("## The client store at scale\n\n`make bench-store` on this machine "
                           "(2 shared cores): a SQLite store of N clients, kmsd serving it with "
                           "the web on. Queries are p50 / p99 over repeated runs; kmsc figures "
                           "include starting kmsc. Ratios: the largest size to the smallest.\n\n"
                           + text + "\n")
            if b:
                headings.append("A burst of new clients")
                section += ("\n" if section else "") + burst_section(b)
            replace_sections(a.write, headings, section)
    finally:
        shutil.rmtree(where, ignore_errors=True)
    return 0


# ---- PostgreSQL (--pg) -------------------------------------------------

def pg_server():
    """A private cluster from tests/integration/pgtest.py, with fsync on
    (pgtest turns it off for speed; a figure of the write path must not)."""
    import pgtest

    class Durable(pgtest.Postgres):
        def start(self):
            self.server("pg_ctl", "-D", self.data, "-w", "-l",
                        os.path.join(self.dir, "postgres.log"), "-o",
                        f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir}"
                        " -c max_connections=50 -c shared_buffers=128MB", "start")

    return (Durable, pgtest.bin_dir())


def pg_kmsd_args(uri, port, web_port, log):
    args = kmsd_args("/dev/null", port, web_port, log)
    # one load generator on one address: the flood limits would hold it
    # to 100 requests a second
    return [f"store={uri}" if a.startswith("store=") else a for a in args] + [
        "-o", "rate-limit=0", "-o", "max-connections-per-address=0",
        "-o", "max-connections-per-prefix=0"]


def pg_build(pg, size):
    """A database of `size` clients: kmsd makes the schema, PostgreSQL
    writes the rows kmsd's writer would (as build() does for SQLite)."""
    db = f"c{size}"
    uri = pg.createdb(db)
    make_schema(pg_kmsd_args, uri, os.path.join(pg.dir, f"create-{size}.log"))
    now = int(time.time())
    t0 = time.monotonic()
    bulk_sql = ("INSERT INTO clients (cmid, app_id, kms_id, sku_id, workstation, address,"
            " license_status, protocol, first_seen, last_seen, requests, last_result,"
            " last_count, stored_at, counted_seen)"
            " SELECT decode(md5(i || 'c'), 'hex'),"
            f" CASE WHEN i % 25 < 18 THEN '\\x{WIN_APP}'::bytea ELSE '\\x{O13_APP}'::bytea END,"
            f" '\\x{WIN_KMS}', decode(md5(i || 's'), 'hex'),"
            " format('pc-%s.corp.example', lpad(i::text, 7, '0')),"
            " format('10.%s.%s.%s:%s', i / 65536 % 256, i / 256 % 256, i % 256, 49152 + i % 16000),"
            f" 1, '6.0', {now} - i % 3456000, {now} - i % 3456000, 1 + i % 5, 0, 50, {now},"
            f" {now} - i % 3456000 FROM generate_series(1, {size}) i")
    # pg.psql gives a statement a minute: a million rows on a loaded machine take longer
    for sql in (bulk_sql, "VACUUM ANALYZE clients"):
        subprocess.run([os.path.join(pg.bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", "127.0.0.1", "-p", str(pg.port), "-U", pg.user, "-d", db,
                        "-c", sql], check=True, timeout=900, stdout=subprocess.DEVNULL)
    return uri, time.monotonic() - t0


def pg_queue_depths(web_port, seconds):
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        out.append(metrics(web_port).get("kmsd_store_queue_depth", 0))
        time.sleep(0.2)
    return out


def write_path(port, web_port, concurrency, seconds):
    """kmsc bench sending new machines for `seconds`, the writer's queue
    sampled meanwhile, then how long it takes to empty; works on any store."""
    depths = []
    sampler = threading.Thread(target=lambda: depths.extend(pg_queue_depths(web_port, seconds)))
    sampler.start()
    out = subprocess.run([os.path.join(BIN, "kmsc"), "bench", "-c", str(concurrency), "-d",
                          str(seconds), "--machines", "1000000000", "--json",
                          f"127.0.0.1:{port}"], capture_output=True).stdout
    t = time.monotonic()
    sampler.join()
    b = json.loads(out)
    r = {"new_per_s": b["per_second"], "new_answered": b["activations"],
         "queue_max": max(depths, default=0)}
    _, m = drained(web_port, 300)
    r["drain_s"] = time.monotonic() - t
    r["batch_ms"] = (m.get("kmsd_store_batch_seconds_sum", 0) * 1000 /
                     max(1, m.get("kmsd_store_batch_seconds_count", 0)))
    return r


def pg_measure(pg, size, reps, bench_s):
    uri, load_s = pg_build(pg, size)
    log = os.path.join(pg.dir, f"serve-{size}.log")
    port, web_port = free_port(), free_port()
    t0 = time.monotonic()
    p = subprocess.Popen(pg_kmsd_args(uri, port, web_port, log), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    r = {"size": size, "load_s": load_s, "ready_s": wait_log(log, "ready") - t0}
    try:
        time.sleep(1.5)  # the follower's first poll (the window again)
        r["rss_mib"] = rss_mib(p.pid)
        query_figures(r, uri, web_port, size, reps)
        loop = QueryLoop(web_port)
        try:
            busy_figures(r, p, port, web_port, log, reps, bench_s)
        finally:
            loop.end()
        # the write path: new machines flat out, then at a steadier rate
        for tag, c, secs in (("", 16, bench_s * 3), ("_c1", 1, bench_s * 5)):
            for k, v in write_path(port, web_port, c, secs).items():
                r[k + tag] = v
        t = time.monotonic()
        p.send_signal(signal.SIGTERM)
        p.wait(300)
        r["sigterm_s"] = time.monotonic() - t
        with open(log, errors="replace") as f:
            m = re.search(r"client store closed: (\d+) records written, (\d+) dropped", f.read())
        r["written"], r["dropped"] = (int(m.group(1)), int(m.group(2))) if m else (-1, -1)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    pg.psql(f"DROP DATABASE c{size}")
    return r


def pg_table(results):
    text = table(results).replace("bulk load (SQLite, all indexes)",
                                  "bulk load (PostgreSQL, all indexes)")
    lines = [text]
    rows = []
    for tag, how in (("", "kmsc bench -c 16"), ("_c1", "kmsc bench -c 1")):
        rows += [(f"new clients/s ({how}, new machines)", "new_per_s" + tag, "{:.0f}"),
                 ("writer queue at most meanwhile (of 65,536)", "queue_max" + tag, "{:.0f}"),
                 ("queue empty again after the load", "drain_s" + tag, "{:.1f} s")]
    rows += [("mean batch (the whole run)", "batch_ms_c1", "{:.0f} ms"),
             ("records written (the whole run)", "written", "{:d}"),
             ("records dropped", "dropped", "{:d}")]
    for label, key, fmt in rows:
        cells = [fmt.format(r[key]) for r in results]
        lines.append(f"| {label} | " + " | ".join(cells) + " | |")
    return "\n".join(lines)


def pg_main(a):
    Durable, bin_dir = pg_server()
    if not bin_dir:
        print("bench_store --pg: skipped, no PostgreSQL server binary (initdb) installed")
        return 0
    sizes = [10000, 30000] if a.short else [10000, 100000, 1000000]
    if a.sizes:
        sizes = [int(x) for x in a.sizes.split(",")]
    reps, bench_s = (3, 1) if a.short else (9, 3)
    results = []
    with Durable() as pg:
        for n in sizes:
            results.append(pg_measure(pg, n, reps, bench_s))
            print(f"{n} clients (PostgreSQL): " + json.dumps(results[-1]), flush=True)
    text = pg_table(results)
    print(text)
    if a.write:
        section = ("## The PostgreSQL store at scale\n\n`make bench-store-pg` on this machine "
                   "(2 shared cores): a local PostgreSQL server (fsync on) holding N clients, "
                   "kmsd serving it with the web on, measured as for SQLite above; then "
                   "kmsc bench sending new machines for the write path, and the records the "
                   "writer wrote and dropped, from its closing log line.\n\n" + text + "\n")
        replace_sections(a.write, ["The PostgreSQL store at scale"], section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
