"""Every command the README shows is run here, exactly as written where
this machine allows it (a free port is added where the README's would
clash with other tests)."""
import os
import re
import shlex
import shutil
import signal
import subprocess
import time

from kmsdtest import wait_output, BIN, VECTORS, free_port, replay, run, skip

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
# its commands use the documented port 1688 and build/run: one such file at a time
SERIAL = True


def readme():
    with open(os.path.join(ROOT, "README.md")) as f:
        return f.read()


def code_blocks():
    return re.findall(r"```(?:sh|bat)?\n(.*?)```", readme(), re.S)


def readme_commands(word):
    """README lines that run kmsc's WORD subcommand(s), in order."""
    return [l for block in code_blocks() for l in block.splitlines()
            if l.startswith("build/kmsc ") and l.split()[1] in word]


def run_readme_line(line, prefix=()):
    p = subprocess.run([*prefix, *shlex.split(line)], cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    assert p.returncode == 0, (line, p.stdout.decode(errors="replace"))
    return p.stdout.decode(errors="replace")


def test_readme_starts_with_the_two_commands():
    first = code_blocks()[0].strip().splitlines()
    assert first == ["make deps run", "make test"], first
    ci = open(os.path.join(ROOT, ".ci/run")).read()
    assert "make test" in ci and "make deps" in ci


def test_make_deps_run_starts_a_working_host_and_ctrl_c_stops_it():
    port = free_port()
    proc = subprocess.Popen(["make", "-s", "deps", "run", f"KMSD_ARGS=-l 127.0.0.1:{port}"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_output(proc, "ready")
        rc, out = replay(port, "vlmcsd-win10-ent-v6-ndr32")
        assert rc == 0, out
        time.sleep(0.5)  # two store batch intervals
        store_lines = readme_commands(("clients", "stats", "prune"))
        assert len(store_lines) == 3
        out = run_readme_line(store_lines[0])
        assert "mail.amazon.info" in out, out  # the replayed client is in the store
        for line in store_lines[1:]:
            run_readme_line(line)
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends
        proc.wait(30)
    out = proc.stdout.read().decode(errors="replace")
    assert "stopped" in out, out


def test_check_config_command():
    cmd = "build/kmsd -t -c contrib/kmsd.conf -o user=nobody"
    assert cmd in readme()
    if os.geteuid() != 0:
        skip("only root can switch to nobody, and -t checks that")
    p = subprocess.run(cmd.split(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode == 0, p.stdout
    p = subprocess.run(cmd.replace("-t", "-t -v").split(), cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert b"listen = 0.0.0.0:1688" in p.stdout, p.stdout
    # as root without a user to drop to, -t says no, as the start would
    p = subprocess.run(["build/kmsd", "-t", "-c", "contrib/kmsd.conf"], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode == 1 and b"refusing to run as root" in p.stdout, p.stdout


def test_foreground_command_as_written():
    cmd = "build/kmsd -f -c contrib/kmsd.conf -l 127.0.0.1:1688 -o user=nobody"
    assert cmd in readme()
    if os.geteuid() != 0:
        skip("dropping to nobody needs root")
    # the README's kmsd logs to its terminal; here a file stands in for it,
    # so the log never waits on an unread pipe
    log = open(os.path.join(ROOT, "build", "readme-foreground.log"), "w+b")
    # port 1688 and the default store /var/lib/kmsd of its own, in a network
    # and mount namespace, so nothing else on this machine is in the way
    inside = []
    if shutil.which("unshare") and shutil.which("nsenter"):
        script = ("mount --make-rprivate / && mkdir -p /var/lib/kmsd && "
                  "mount -t tmpfs -o mode=0755 kmsd-state /var/lib/kmsd && ip link set lo up && "
                  f"exec {cmd}")
        proc = subprocess.Popen(["unshare", "-m", "-n", "sh", "-c", script], cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)
        inside = ["nsenter", "-t", str(proc.pid), "-m", "-n", "-w"]  # -w: its cwd
    else:
        proc = subprocess.Popen(cmd.split(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while b"ready" not in open(log.name, "rb").read():
            assert time.monotonic() < deadline and proc.poll() is None, open(log.name).read()
            time.sleep(0.05)
        rc, out = run(*inside, os.path.join(BIN, "kms-replay"), "127.0.0.1", "1688",
                      os.path.join(VECTORS, "vlmcsd-win7-ent-v4.c2s.bin"))
        assert rc == 0, out
        lines = readme_commands(("activate", "gvlk", "products", "srv-record", "bench"))
        assert len(lines) == 5
        for line in lines:
            run_readme_line(line, inside)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert proc.returncode == 0


def test_example_log_line_has_the_real_shape():
    line = [l for l in readme().splitlines() if " info: activated " in l][0]
    assert re.match(r'^\S+Z info: activated \S+ workstation="[^"]*" product="[^"]*" '
                    r'group="[^"]*" v\d\.\d cmid=[0-9a-f-]{36} count=\d+/\d+$', line), line


def test_make_targets_the_readme_names_exist():
    for target in ["unit", "integration", "fuzz", "fuzz-short", "bench", "bench-short", "lint",
                   "layers"]:
        assert f"make {target}" in readme() or target in ("fuzz",), target
        p = subprocess.run(["make", "-n", target], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        assert p.returncode == 0, (target, p.stdout)
    assert "make SAN=1 unit" in readme()


def test_windows_client_commands_are_what_kmsc_gvlk_prints():
    """The slmgr/ospp lines cannot run here; kmsc gvlk prints the same lines
    for the same host, so a change to either is caught."""
    windows = [l.strip() for l in code_blocks() if "slmgr" in l][0].splitlines()
    office = [l.strip() for l in code_blocks() if "ospp.vbs" in l][0].splitlines()
    rc, out = run(os.path.join(BIN, "kmsc"), "gvlk", "--host", "kms.example.com:1688",
                  "Windows 10/11 Enterprise")
    assert rc == 0, out
    for line in windows:
        assert line in out.splitlines(), (line, out)
    rc, out = run(os.path.join(BIN, "kmsc"), "gvlk", "--host", "kms.example.com:1688",
                  "Office Professional Plus 2016")
    assert rc == 0, out
    for line in office:
        assert line in out.splitlines(), (line, out)
