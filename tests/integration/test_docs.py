"""Commands shown in docs/*.md run here as written: a `build/kmsd -f`
line starts the daemon (as root, so it can bind and drop privileges), and
every other shell line runs against it and must succeed."""
import os
import re
import shlex
import signal
import subprocess
import time

from kmsdtest import skip

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
# its commands use the documented port 1688 and build/run: one such file at a time
SERIAL = True


def doc_blocks(name, lang="sh"):
    with open(os.path.join(ROOT, "docs", name)) as f:
        return re.findall(r"```" + lang + r"\n(.*?)```", f.read(), re.S)


def start_daemon(line, log_name):
    log = open(os.path.join(ROOT, "build", log_name), "w+b")
    proc = subprocess.Popen(shlex.split(line), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while b"ready" not in open(log.name, "rb").read():
        assert time.monotonic() < deadline and proc.poll() is None, open(log.name).read()
        time.sleep(0.05)
    return proc, log.name


def run_lines(lines):
    outputs = []
    for line in lines:
        p = subprocess.run(line, shell=True, cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        assert p.returncode == 0 and p.stdout, (line, p.stdout.decode(errors="replace"))
        outputs.append(p.stdout.decode(errors="replace"))
    return outputs


def test_api_doc_commands():
    if os.geteuid() != 0:
        skip("the documented command drops to nobody, which needs root")
    lines = doc_blocks("api.md")[0].strip().splitlines()
    assert lines[0].startswith("build/kmsd -f") and "web=yes" in lines[0]
    proc, log = start_daemon(lines[0], "docs-api.log")
    try:
        # the documented store is the system's, which may hold other
        # machines already: look for this one
        name = f"docs-api-{os.getpid()}"
        subprocess.run(["build/kmsc", "activate", "--workstation", name, "127.0.0.1:1688"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        time.sleep(0.6)
        status, clients, metrics = run_lines(lines[1:])
        assert '"count_mode"' in status and '"pools"' in status
        assert f'"workstation": "{name}"' in clients, clients
        assert "kmsd_activations_total{" in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert proc.returncode == 0, open(log).read()
