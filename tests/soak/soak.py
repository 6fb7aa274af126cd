#!/usr/bin/env python3
"""make soak: steady load on kmsd (store on, real counting) for a while,
sampling its RSS and open descriptors every few seconds. Fails if either
keeps growing: after a warm-up, the last third of the run may not exceed
the first third by more than a small slack.

    soak.py [SECONDS]     (default 600; CI runs a short pass)
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("KMSD_BIN", os.path.join(os.path.dirname(__file__), "../../build"))
RSS_SLACK_KIB = 4096
FD_SLACK = 16


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = int([l for l in f if l.startswith("VmRSS:")][0].split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    port, db = free_port(), os.path.join(tempfile.mkdtemp(), "clients.db")
    kmsd = subprocess.Popen([os.path.join(BIN, "kmsd"), "-f", "-c", "/dev/null",
                             "-l", f"127.0.0.1:{port}", "-o", "allow-root=yes",
                             "-o", "log-level=warning", "-o", "count=real",
                             "-o", f"store=sqlite:{db}", "-o", "rate-limit=0",
                             "-o", "max-connections-per-address=0",
                             "-o", "max-connections-per-prefix=0"], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    # alternate whole-visit and keep-alive load, all protocol versions
    loads = []
    for args in (["-c", "16", "-6"], ["-c", "4", "-4", "--keepalive"], ["-c", "4", "-5"]):
        loads.append(subprocess.Popen([os.path.join(BIN, "kmsc"), "bench", "-d", str(seconds),
                                       "--json", "--machines", "1000000000", *args,
                                       f"127.0.0.1:{port}"],
                                      stdout=subprocess.PIPE))
    samples = []
    start = time.monotonic()
    try:
        while time.monotonic() - start < seconds:
            time.sleep(max(1, seconds // 60))
            if kmsd.poll() is not None:
                print("soak: kmsd died")
                return 1
            samples.append(sample(kmsd.pid))
            print(f"  {time.monotonic() - start:6.0f}s  rss {samples[-1][0] / 1024:6.1f} MiB  "
                  f"fds {samples[-1][1]}", flush=True)
    finally:
        results = [json.loads(p.communicate()[0] or b"{}") for p in loads]
        kmsd.terminate()
        kmsd.wait(30)
    done = sum(r.get("activations", 0) for r in results)
    errors = sum(sum(r.get("errors", {}).values()) for r in results)
    third = max(1, len(samples) // 3)
    first, last = samples[third:2 * third] or samples[:third], samples[-third:]
    rss_growth = max(s[0] for s in last) - max(s[0] for s in first)
    fd_growth = max(s[1] for s in last) - max(s[1] for s in first)
    kinds = {}
    for r in results:
        for k, v in r.get("errors", {}).items():
            kinds[k] = kinds.get(k, 0) + v
    print(f"soak: errors by kind {kinds}")
    print(f"soak: {seconds}s, {done} activations, {errors} errors, RSS growth {rss_growth} KiB, "
          f"fd growth {fd_growth}, exit {kmsd.returncode}")
    failed = errors > 0 or rss_growth > RSS_SLACK_KIB or fd_growth > FD_SLACK or kmsd.returncode
    print("soak: " + ("FAILED" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
