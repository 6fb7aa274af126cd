"""Installing kmsd on a server (issue 14): `make deps` brings only what
building and running need, the test-only packages come from `make
test-deps` with service start-up prevented, and `make test` starts there."""
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

from kmsdtest import wait_output, skip, BIN, free_port, kmsc, run
from pgtest import Postgres

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
# the clone runs `make deps`: one apt-get at a time, so the files that run it share a lane
SERIAL = True
# packages that ship a network service (or pull one in) a KMS host has no use for
SERVICE_PACKAGES = {"bind9", "postgresql", "chromium", "prometheus", "dnsmasq", "dnsmasq-base",
                    "apache2", "nginx", "postgresql-common", "mariadb-server", "openssh-server"}


def installed_by(target):
    """The packages `make TARGET` would pass to apt-get install."""
    rc, out = run("make", "-n", "-s", "-C", ROOT, target, "DPKG_QUERY=false")
    assert rc == 0, out
    m = re.findall(r"apt-get install -y -qq ([^;\n]*)", out)
    assert len(m) == 1, out
    return m[0].split()


def ships_a_service(package):
    rc, files = run("dpkg", "-L", package)
    if rc != 0:
        return False  # not installed here: only the name list can judge it
    return any(re.search(r"^/(usr/)?lib/systemd/system/[^/]+\.(service|socket)$|^/etc/init\.d/", f)
               for f in files.splitlines())


def test_make_deps_installs_no_network_service():
    packages = installed_by("deps")
    assert "libssl-dev" in packages and "libpq-dev" in packages, packages
    for p in packages:
        assert p not in SERVICE_PACKAGES, p
        assert not ships_a_service(p), f"{p} ships a service unit or init script"
    # and the test-only list is where those went
    test_packages = installed_by("test-deps")
    for p in ("bind9", "postgresql", "chromium", "prometheus", "valgrind", "clang"):
        assert p in test_packages and p not in packages, p
    assert ships_a_service("bind9") or run("dpkg", "-s", "bind9")[0] != 0


def test_make_test_starts_with_test_deps_and_ci_runs_the_readme_command():
    makefile = open(os.path.join(ROOT, "Makefile")).read()
    prerequisites = re.search(r"^test:(.*)$", makefile, re.M).group(1).split()
    assert prerequisites == ["test-deps"], prerequisites  # alone: nothing runs before it
    readme = open(os.path.join(ROOT, "README.md")).read()
    first = re.findall(r"```sh\n(.*?)```", readme, re.S)[0].split("\n")
    test_command = first[1]
    assert test_command == "make test", first
    ci = [l for l in open(os.path.join(ROOT, ".ci/run")).read().splitlines()
          if l and not l.startswith("#") and not l.startswith(("set ", "cd "))]
    # then only the cross builds (issue 21), which need foreign architectures
    assert ci[:2] == ["make deps", test_command] and ci[2:] == ["make cross-deps cross-all"], ci


def fake_apt(d, outcome):
    """An apt-get that records whether services may start while it runs."""
    path = os.path.join(d, "apt-get")
    with open(path, "w") as f:
        f.write(f"""#!/bin/sh
echo "$*" >> {d}/apt.log
if [ "$1" = install ]; then
    {d}/policy-rc.d named start; echo "policy-rc.d says $?" >> {d}/apt.log
    exit {outcome}
fi
""")
    os.chmod(path, 0o755)
    return path


def test_deps_prevent_service_start_and_clean_up_even_on_failure():
    for outcome in (0, 100):
        with tempfile.TemporaryDirectory() as d:
            policy = os.path.join(d, "policy-rc.d")
            p = subprocess.run(["make", "-s", "-C", ROOT, "test-deps", "DPKG_QUERY=false",
                                f"APT_GET={fake_apt(d, outcome)}", f"POLICY_RC_D={policy}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            log = open(os.path.join(d, "apt.log")).read()
            assert "policy-rc.d says 101" in log, log  # invoke-rc.d: action forbidden
            assert "install -y -qq" in log and "bind9" in log, log
            assert not os.path.exists(policy), "policy-rc.d left behind"
            assert (p.returncode == 0) == (outcome == 0), p.stdout
    # an administrator's own policy-rc.d is put back as it was
    with tempfile.TemporaryDirectory() as d:
        policy = os.path.join(d, "policy-rc.d")
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(policy, 0o700)
        subprocess.run(["make", "-s", "-C", ROOT, "test-deps", "DPKG_QUERY=false",
                        f"APT_GET={fake_apt(d, 1)}", f"POLICY_RC_D={policy}"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert open(policy).read() == "#!/bin/sh\nexit 0\n"
        assert stat.S_IMODE(os.stat(policy).st_mode) == 0o700


def readme_first_command():
    readme = open(os.path.join(ROOT, "README.md")).read()
    return re.findall(r"```sh\n(.*?)```", readme, re.S)[0].splitlines()[0]


def test_a_clone_alone_runs_the_readme_first_command():
    """The committed HEAD, cloned where no ../shared is, built and started
    by the README's first command exactly as written, on port 1688: in a
    network namespace of its own, so nothing else on this machine can hold
    the port or answer in kmsd's place."""
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], stdout=subprocess.PIPE,
                          check=True).stdout.decode().strip()
    parent = tempfile.mkdtemp(prefix="kmsd-clone-")
    os.chmod(parent, 0o755)  # make run drops to nobody, who writes build/run
    clone = os.path.join(parent, "kmsd")
    try:
        run("git", "clone", "-q", "--no-checkout", ROOT, clone, check=True)
        run("git", "-C", clone, "checkout", "-q", head, check=True)
        assert os.listdir(parent) == ["kmsd"]  # no ../shared beside it
        command = readme_first_command()
        assert command == "make deps run", command
        # the user's environment, not the test run's: a make variable given to
        # the outer make (SAN=1, say) reaches the environment of its recipes
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MAKE", "MFLAGS", "KMSD_", "VECTORS", "KMSDB", "TSAN_"))
               and k not in ("SAN", "TSAN", "FUZZ", "O", "OPT", "CC", "CFLAGS", "CPPFLAGS",
                             "LDFLAGS", "ARCH")}
        if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
            proc = subprocess.Popen(
                ["unshare", "-n", "sh", "-c", f'ip link set lo up && exec {command}'],
                cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True)
            inside = ["nsenter", "-t", str(proc.pid), "-n"]
        else:
            with socket.socket() as s:  # no namespace: 1688 must be free for this to count
                assert s.connect_ex(("127.0.0.1", 1688)) != 0, "something listens on 1688"
            proc = subprocess.Popen(shlex.split(command), cwd=clone, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            inside = []
        try:
            out = wait_output(proc, "ready", 600)
            assert "listening on 0.0.0.0:1688" in out, out
            rc, act = run(*inside, os.path.join(clone, "build", "kmsc"), "activate",
                          "127.0.0.1:1688")
            assert rc == 0, act
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(30)
        assert "../shared" not in out, out
        assert "gen-products" in out and " -c -o " in out, out  # built here, from scratch
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def unit_command(config):
    """The shipped unit's ExecStart, with this build's kmsd and `config` in
    place of /etc/kmsd.conf."""
    unit = open(os.path.join(ROOT, "contrib/kmsd.service")).read()
    lines = [l for l in unit.splitlines() if l.startswith("ExecStart=")]
    assert len(lines) == 1, lines
    argv = shlex.split(lines[0][len("ExecStart="):])
    assert argv[0] == "/usr/local/sbin/kmsd" and argv.count("/etc/kmsd.conf") == 1, argv
    return [os.path.join(BIN, "kmsd") if a == argv[0] else config if a == "/etc/kmsd.conf" else a
            for a in argv]


def as_service_user(argv):
    """The unit never runs kmsd as root: as root here, run it as nobody."""
    return ["runuser", "-u", "nobody", "--"] + argv if os.geteuid() == 0 else argv


def test_unit_command_line_overrides_nothing_in_the_file():
    argv = unit_command("/etc/kmsd.conf")
    assert argv[1:] == ["-f", "-c", "/etc/kmsd.conf"], argv  # no -o, no -l
    socket_unit = open(os.path.join(ROOT, "contrib/kmsd.socket")).read()
    assert "ExecStart" not in socket_unit and "kmsd -" not in socket_unit
    lines = [l for l in open(os.path.join(ROOT, "Dockerfile")).read().splitlines()
             if l.startswith("ENTRYPOINT")]
    # the image's entrypoint script runs exactly kmsd -f -c /etc/kmsd.conf
    # unless KMSD_* variables are set (test_packaging.test_entrypoint_*)
    assert lines == ['ENTRYPOINT ["kmsd-entrypoint"]'], lines
    unit = open(os.path.join(ROOT, "contrib/kmsd.service")).read()
    assert "After=network-online.target" in unit and "Wants=network-online.target" in unit


def test_unit_command_line_uses_the_store_the_file_names():
    with Postgres() as pg:
        uri = pg.createdb("kmsd")
        d = tempfile.mkdtemp(prefix="kmsd-unit-")
        os.chmod(d, 0o755)
        port = free_port()
        config = os.path.join(d, "kmsd.conf")
        with open(config, "w") as f:
            f.write(f"listen = 127.0.0.1:{port}\nstore = {uri}\nlog = stderr\n")
        os.chmod(config, 0o644)
        proc = subprocess.Popen(as_service_user(unit_command(config)), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            out = wait_output(proc, "ready", 20)
            assert "client store postgresql://" in out, out
            rc, act = kmsc("activate", "--workstation", "unit-line", f"127.0.0.1:{port}")
            assert rc == 0, act
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    rows = pg.psql("SELECT workstation FROM clients", "kmsd")
                except AssertionError:
                    rows = []  # the table may not exist yet
                if rows:
                    break
                time.sleep(0.2)
            assert rows == [["unit-line"]], rows
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
            shutil.rmtree(d, ignore_errors=True)


def install_section():
    readme = open(os.path.join(ROOT, "README.md")).read()
    section = readme.split("## Installing on a server\n", 1)[1].split("\n## ", 1)[0]
    return [l for b in re.findall(r"```sh\n(.*?)```", section, re.S) for l in b.splitlines()]


def test_readme_server_install_walk_through():
    """Every command of the README's server install, run here as far as a
    machine without systemd as PID 1 allows: make install staged in a
    DESTDIR; systemctl enable on that root (--now: the installed unit's
    ExecStart, started as its user would be); the firewall rule and the
    host in a network and mount namespace of their own, with port 1688 and
    /var/lib/kmsd their own; the user kmsd is nobody here."""
    lines = install_section()
    assert lines == ["make deps", "make install", "systemctl enable --now kmsd",
                     "nft add rule inet filter input tcp dport 1688 accept",
                     "kmsc activate kms.example.com:1688", "journalctl -u kmsd -p warning",
                     "kmsc stats --db /var/lib/kmsd/clients.db"], lines
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "nsenter", "nft")):
        raise AssertionError("needs root, unshare, nsenter and nft (make test-deps)")
    dest = tempfile.mkdtemp(prefix="kmsd-install-")
    os.chmod(dest, 0o755)
    try:
        run("make", "-s", "-C", ROOT, *lines[0].split()[1:], check=True)  # a no-op when present
        run("make", "-s", "-C", ROOT, *lines[1].split()[1:], f"DESTDIR={dest}", check=True)
        run("systemd-sysusers", f"--root={dest}",
            os.path.join(dest, "usr/local/lib/sysusers.d/kmsd.conf"), check=True)
        assert "kmsd:x:" in open(os.path.join(dest, "etc/passwd")).read()
        systemctl = lines[2].split()
        assert systemctl[:3] == ["systemctl", "enable", "--now"]
        run("systemctl", f"--root={dest}", "enable", *systemctl[3:], check=True)
        assert os.path.islink(os.path.join(dest, "etc/systemd/system/multi-user.target.wants",
                                           "kmsd.service"))
        unit = open(os.path.join(dest, "usr/local/lib/systemd/system/kmsd.service")).read()
        exec_start = shlex.split(re.search(r"^ExecStart=(.*)$", unit, re.M).group(1))
        argv = [dest + a if a.startswith("/usr/local/") or a == "/etc/kmsd.conf" else a
                for a in exec_start]
        conf = os.path.join(dest, "etc/kmsd.conf")
        assert stat.S_IMODE(os.stat(conf).st_mode) == 0o640
        shutil.chown(conf, group="nogroup")  # make install's chgrp kmsd, with kmsd = nobody
        # StateDirectory=kmsd: /var/lib/kmsd, the user's; the network: lo and
        # Debian's default nftables table
        setup = ("mount --make-rprivate / && mkdir -p /var/lib/kmsd && "
                 "mount -t tmpfs -o mode=0750,uid=$(id -u nobody) kmsd-state /var/lib/kmsd && "
                 "ip link set lo up && nft add table inet filter && "
                 "nft add chain inet filter input '{ type filter hook input priority 0; }' && "
                 f"{lines[3]} && exec runuser -u nobody -- {shlex.join(argv)}")
        proc = subprocess.Popen(["unshare", "-m", "-n", "sh", "-c", setup], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        inside = ["nsenter", "-t", str(proc.pid), "-m", "-n"]
        try:
            out = wait_output(proc, "ready", 20)
            assert "listening on 0.0.0.0:1688" in out and "/var/lib/kmsd/clients.db" in out, out
            rc, rules = run(*inside, "nft", "list", "chain", "inet", "filter", "input")
            assert "tcp dport 1688 accept" in rules, rules
            kmsc_bin = os.path.join(dest, "usr/local/bin/kmsc")
            activate = lines[4].replace("kms.example.com", "127.0.0.1").split()
            rc, act = run(*inside, kmsc_bin, *activate[1:])
            assert rc == 0, act
            time.sleep(0.6)  # two store batch intervals
            rc, stats = run(*inside, kmsc_bin, *lines[6].split()[1:])
            assert rc == 0 and "Windows" in stats, stats
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        # the journal's priority filter (its lines' <N> prefixes: test_logging)
        rc, out = run(*lines[5].split(), "--no-pager")
        assert rc == 0, out
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def test_deps_under_systemd_disable_only_the_units_the_install_enabled():
    """With systemd as PID 1 (a fake one here: a systemctl that records),
    units enabled by the test packages are disabled and stopped; one the
    administrator had enabled before stays."""
    if os.geteuid() != 0:
        skip("the target runs systemctl through sudo otherwise")
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "run-systemd"))
        with open(os.path.join(d, "systemctl"), "w") as f:
            f.write(f"""#!/bin/sh
echo "$*" >> {d}/systemctl.log
[ "$*" = "-q is-enabled postgresql" ] && exit 0
[ "$1" = -q ] && exit 1
exit 0
""")
        os.chmod(os.path.join(d, "systemctl"), 0o755)
        env = dict(os.environ, PATH=f"{d}:{os.environ['PATH']}")
        p = subprocess.run(["make", "-s", "-C", ROOT, "test-deps", "DPKG_QUERY=false",
                            f"APT_GET={fake_apt(d, 0)}", f"POLICY_RC_D={d}/policy-rc.d",
                            f"SYSTEMD_RUN={d}/run-systemd"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        assert p.returncode == 0, p.stdout
        calls = open(os.path.join(d, "systemctl.log")).read().splitlines()
        assert "disable --now named" in calls and "disable --now bind9" in calls, calls
        assert "disable --now postgresql" not in calls, calls  # enabled before: left alone
        assert not os.path.exists(os.path.join(d, "policy-rc.d"))
