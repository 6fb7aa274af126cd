"""Log lines that cannot vanish (issue 14): under systemd's journal stream
every line carries its sd-daemon "<N>" priority and no timestamp of its
own; a daemon with log = stderr logs to syslog, with the log-facility
set; a log file is reopened on SIGHUP (rotation)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from kmsdtest import skip, BIN, Kmsd, free_port, replay

KMSD = os.path.join(BIN, "kmsd")
UNASSIGNED = "192.0.2.1"  # on no interface here: a listen warning


def journal_run(extra, env_stream=True, stop=True):
    """kmsd -f with stderr on a pipe that $JOURNAL_STREAM names, as
    systemd sets it up; returns the exit code and what it wrote."""
    r, w = os.pipe()
    st = os.fstat(w)
    env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}" if env_stream else "1:1")
    port = free_port()
    proc = subprocess.Popen([KMSD, "-f", "-c", "/dev/null", "-o", "store=none", "-o",
                             "allow-root=yes", "-l", f"{UNASSIGNED}:{free_port()}", "-l",
                             f"127.0.0.1:{port}", *extra], stderr=w, stdout=w, env=env)
    os.close(w)
    out = b""
    os.set_blocking(r, False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b"ready" not in out and proc.poll() is None:
        try:
            out += os.read(r, 65536)
        except BlockingIOError:
            time.sleep(0.02)
    if stop and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    proc.wait(10)
    os.set_blocking(r, True)
    while chunk := os.read(r, 65536):
        out += chunk
    os.close(r)
    return proc.returncode, out.decode(errors="replace")


def test_journal_lines_carry_their_priority_and_no_timestamp():
    rc, out = journal_run([])
    assert rc == 0, out
    lines = out.splitlines()
    assert lines and all(re.match(r"^<[3467]>\S", l) for l in lines), out
    assert not any(re.search(r"\d{4}-\d\d-\d\dT", l) for l in lines), out  # the journal's own
    assert any(l.startswith(f"<4>cannot listen on {UNASSIGNED}") for l in lines), out
    assert any(l.startswith("<6>kmsd ") and "ready" in l for l in lines), out
    rc, out = journal_run(["-o", "listen-failure=stop"])
    assert rc == 1 and "<3>stopping: an address could not be opened" in out, out
    # debug lines are <7>
    rc, out = journal_run(["-o", "log-level=debug"])
    assert rc == 0 and all(re.match(r"^<[3467]>", l) for l in out.splitlines()), out


def test_stderr_that_is_not_the_journal_keeps_timestamps():
    rc, out = journal_run([], env_stream=False)
    assert rc == 0, out
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\S+Z (info|warning): ", l) for l in out.splitlines()), out


def test_daemon_with_log_stderr_logs_to_syslog_with_its_facility():
    """/dev/log, in a mount namespace of kmsd's own, is this test's socket."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        skip("a private /dev/log needs root's mount namespace")
    d = tempfile.mkdtemp(prefix="kmsd-syslog-")
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(os.path.join(d, "log"))
        sock.settimeout(10)
        open(os.path.join(d, "null"), "w").close()
        pidfile = os.path.join(d, "kmsd.pid")
        port = free_port()
        script = (f"mount --make-rprivate / && mount --bind /dev/null {d}/null && "
                  f"mount --rbind {d} /dev && exec {KMSD} -c /dev/null -o store=none "
                  f"-o allow-root=yes -l 127.0.0.1:{port} -o log-facility=local3 "
                  f"-o pidfile={pidfile}")
        p = subprocess.run(["unshare", "-m", "sh", "-c", script], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        said = p.stdout.decode()
        assert p.returncode == 0, said
        assert "log = stderr goes to syslog from now on" in said, said  # told before it goes
        ready = sock.recv(4096).decode()
        # local3 (19) * 8 + info (6)
        assert ready.startswith("<158>") and "kmsd[" in ready and "ready" in ready, ready
        rc, out = replay(port, "vlmcsd-win7-ent-v4")
        assert rc == 0, out
        assert "activated" in sock.recv(4096).decode()
        os.kill(int(open(pidfile).read()), signal.SIGHUP)  # a reload keeps syslog
        seen = ""
        while "configuration reloaded" not in seen:
            seen += sock.recv(4096).decode() + "\n"
        os.kill(int(open(pidfile).read()), signal.SIGTERM)
        while "stopped" not in seen:
            seen += sock.recv(4096).decode() + "\n"
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_sighup_reopens_a_rotated_log_file():
    with Kmsd() as d:
        rotated = d.log_path + ".1"
        os.rename(d.log_path, rotated)  # what logrotate does
        d.send(signal.SIGHUP)
        d.wait_log("configuration reloaded")
        assert "SIGHUP" in open(rotated).read()
        assert os.path.exists(d.log_path)


def test_a_log_file_that_is_a_link_or_a_fifo_is_refused():
    """log = file:PATH is opened before the privilege drop: a symbolic
    link planted at PATH must not redirect kmsd's appends (nor create the
    file it names), and a FIFO must not hang the start."""
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "victim")
        link = os.path.join(tmp, "kmsd.log")
        os.symlink(target, link)
        fifo = os.path.join(tmp, "fifo.log")
        os.mkfifo(fifo)
        for path, why in ((link, "it is a symbolic link"), (fifo, "neither a regular file nor a device")):
            p = subprocess.run([KMSD, "-f", "-c", "/dev/null", "-o", "store=none", "-o",
                                "allow-root=yes", "-o", f"log=file:{path}", "-l",
                                f"127.0.0.1:{free_port()}"], capture_output=True, text=True,
                               timeout=10)
            assert p.returncode != 0, p.stderr
            assert f"cannot open log file {path}: {why}" in p.stderr, p.stderr
        assert not os.path.exists(target)
