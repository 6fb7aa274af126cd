"""kmsd's life under a service manager: daemon mode and pidfile, sd_notify
readiness, sockets passed by systemd, syslog."""
import os
import signal
import socket
import subprocess
import shutil
import tempfile

from kmsdtest import BIN, free_port, replay, skip, wait_until

KMSD = os.path.join(BIN, "kmsd")


def test_daemon_mode_writes_pidfile_and_stops_on_sigterm():
    d = tempfile.mkdtemp()
    pidfile, log = os.path.join(d, "kmsd.pid"), os.path.join(d, "kmsd.log")
    port = free_port()
    p = subprocess.run([KMSD, "-c", "/dev/null", "-l", f"127.0.0.1:{port}", "-o", "store=none",
                        "-o", "allow-root=yes", "-o", f"pidfile={pidfile}", "-o", f"log=file:{log}"],
                       timeout=10)
    assert p.returncode == 0  # the parent returns once the daemon is on its own
    assert wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip())
    pid = int(open(pidfile).read())
    try:
        assert wait_until(lambda: "ready" in open(log).read())
        rc, out = replay(port, "vlmcsd-win7-ent-v4")
        assert rc == 0, out
    finally:
        os.kill(pid, signal.SIGTERM)
    assert wait_until(lambda: not os.path.exists(f"/proc/{pid}"))
    assert not os.path.exists(pidfile), "pidfile left behind"
    assert "stopped" in open(log).read()


def test_sd_notify_ready_and_stopping():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    port = free_port()
    proc = subprocess.Popen([KMSD, "-f", "-c", "/dev/null", "-l", f"127.0.0.1:{port}", "-o",
                             "store=none", "-o", "allow-root=yes", "-o", "log=file:/dev/null"],
                            env=dict(os.environ, NOTIFY_SOCKET=path))
    try:
        assert b"READY=1" in sock.recv(4096)
        proc.send_signal(signal.SIGHUP)
        assert b"RELOADING=1" in sock.recv(4096)
        assert b"READY=1" in sock.recv(4096)
        proc.send_signal(signal.SIGTERM)
        assert b"STOPPING=1" in sock.recv(4096)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_socket_activation_uses_passed_socket():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    d = tempfile.mkdtemp()
    log = os.path.join(d, "kmsd.log")
    # systemd hands the socket over as fd 3 and names the receiving pid
    script = (f'exec 3<&{listener.fileno()}; LISTEN_PID=$$ LISTEN_FDS=1 exec "{KMSD}" -f '
              f'-c /dev/null -l 127.0.0.1:{free_port()} -o store=none -o allow-root=yes '
              f'-o log=file:{log}')
    proc = subprocess.Popen(["sh", "-c", script], pass_fds=[listener.fileno()])
    listener.close()
    try:
        assert wait_until(lambda: os.path.exists(log) and "ready" in open(log).read())
        assert "socket(s) from systemd" in open(log).read()
        rc, out = replay(port, "vlmcsd-win10-ent-v6-ndr64")
        assert rc == 0, out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_syslog_target_is_accepted():
    p = subprocess.run([KMSD, "-t", "-c", "/dev/null", "-o", "log=syslog", "-o", "allow-root=yes"],
                       stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    assert p.returncode == 0, p.stdout


def test_systemd_units_are_valid_and_sandboxed():
    root = os.path.join(os.path.dirname(__file__), "../..")
    service = open(os.path.join(root, "contrib/kmsd.service")).read()
    for directive in ("Type=notify", "DynamicUser=yes", "CapabilityBoundingSet=",
                      "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                      "SystemCallFilter=@system-service", "StateDirectory=kmsd"):
        assert directive in service, directive
    socket_unit = open(os.path.join(root, "contrib/kmsd.socket")).read()
    assert "ListenStream=[::]:1688" in socket_unit
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        skip("no systemd-analyze on this machine; the directives above were checked")
    for unit in ("kmsd.service", "kmsd.socket"):
        p = subprocess.run([analyze, "verify", os.path.join(root, "contrib", unit)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        text = p.stdout.decode(errors="replace")
        assert "Unknown" not in text and "bad" not in text.lower(), text


def test_man_pages_pass_mandoc_lint():
    root = os.path.join(os.path.dirname(__file__), "../..")
    for page in ("kmsd.8", "kmsc.1", "kmsd.conf.5"):
        p = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", os.path.join(root, "man", page)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert p.returncode == 0 and not p.stdout, p.stdout.decode()


def test_make_install_and_uninstall():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
    dest = tempfile.mkdtemp()
    p = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/opt/kmsd"], cwd=root,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode == 0, p.stdout.decode()
    for path in ("opt/kmsd/sbin/kmsd", "opt/kmsd/bin/kmsc", "opt/kmsd/share/man/man8/kmsd.8",
                 "opt/kmsd/share/man/man1/kmsc.1", "opt/kmsd/share/man/man5/kmsd.conf.5",
                 "etc/kmsd.conf", "opt/kmsd/lib/systemd/system/kmsd.service",
                 "opt/kmsd/lib/systemd/system/kmsd.socket"):
        assert os.path.exists(os.path.join(dest, path)), path
    unit = open(os.path.join(dest, "opt/kmsd/lib/systemd/system/kmsd.service")).read()
    assert "ExecStart=/opt/kmsd/sbin/kmsd" in unit
    # it may hold a database password; the user the unit names is declared
    assert os.stat(os.path.join(dest, "etc/kmsd.conf")).st_mode & 0o777 == 0o640
    sysusers = open(os.path.join(dest, "opt/kmsd/lib/sysusers.d/kmsd.conf")).read()
    assert "u kmsd " in sysusers and "User=kmsd" in unit
    # the installed daemon works with the installed configuration
    # (as root, -t wants the user to drop to, as a start would)
    p = subprocess.run([os.path.join(dest, "opt/kmsd/sbin/kmsd"), "-t", "-c",
                        os.path.join(dest, "etc/kmsd.conf")]
                       + (["-o", "user=nobody"] if os.geteuid() == 0 else []),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode == 0, p.stdout
    p = subprocess.run(["make", "-s", "uninstall", f"DESTDIR={dest}", "PREFIX=/opt/kmsd"], cwd=root,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode == 0, p.stdout.decode()
    left = [os.path.join(d, f) for d, _, files in os.walk(dest) for f in files]
    assert left == [os.path.join(dest, "etc/kmsd.conf")], left  # the admin's config stays
