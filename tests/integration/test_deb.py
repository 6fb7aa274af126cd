"""The Debian package (issue 21): built with `make deb`, lintian-clean,
installed with dpkg on this machine (as root; no systemd needed), every
file's path, owner and mode checked, the installed kmsd started exactly as
the unit's ExecStart says and as the unit's user (reading a web-token-file
chown'ed to kmsd, as docs/api.md says), activated against with
the installed kmsc, then upgraded (an edited conffile stays), removed
(state stays) and purged (nothing stays).

It changes the machine (a package, a user): it runs only as root on a
machine where kmsd is not installed, with no other test running (ALONE),
and always purges what it installed. The package is built and linted by
test_deb_build, in a lane beside other tests, which hands it over through
the runner's KMSD_RUN_SHARED; run on its own, this file builds it itself.
KMSD_DEB=path/to/kmsd_VERSION_amd64.deb reuses a package already built.
"""
import glob
import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import time

from kmsdtest import Skip, free_port, run

# it installs a package and creates, then deletes, the user kmsd: with no
# other test running, none of which may see that user or /var/lib/kmsd come
# and go, nor leave a file its purge check would count as the package's
ALONE = True

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
UNIT = "/lib/systemd/system/kmsd.service"
CONF = "/etc/kmsd.conf"
STATE = "/var/lib/kmsd"
DOCS = ("README.md", "SECURITY.md", "administration.md", "api.md", "dns.md", "multi-host.md")

# path -> (owner, group, mode) of everything the package installs, besides
# the docs (compressed or not by size) and the shared parent directories
FILES = {
    "/usr/sbin/kmsd": ("root", "root", 0o100755),
    "/usr/bin/kmsc": ("root", "root", 0o100755),
    "/usr/share/man/man8/kmsd.8.gz": ("root", "root", 0o100644),
    "/usr/share/man/man1/kmsc.1.gz": ("root", "root", 0o100644),
    "/usr/share/man/man5/kmsd.conf.5.gz": ("root", "root", 0o100644),
    "/usr/share/doc/kmsd/copyright": ("root", "root", 0o100644),
    "/usr/share/doc/kmsd/changelog.gz": ("root", "root", 0o100644),
    "/usr/share/lintian/overrides/kmsd": ("root", "root", 0o100644),
    UNIT: ("root", "root", 0o100644),
    "/lib/systemd/system/kmsd.socket": ("root", "root", 0o100644),
    "/usr/lib/sysusers.d/kmsd.conf": ("root", "root", 0o100644),
    CONF: ("root", "kmsd", 0o100640),
    STATE: ("kmsd", "kmsd", 0o040750),
    "/usr/share/doc/kmsd": ("root", "root", 0o040755),
}
ENABLED_LINK = "/etc/systemd/system/multi-user.target.wants/kmsd.service"


def sh(*args, timeout=300):
    rc, out = run(*args, timeout=timeout)
    assert rc == 0, f"{args} exited {rc}:\n{out}"
    return out


def build():
    given = os.environ.get("KMSD_DEB")
    if given:
        return given
    assert readme_package_commands()[0] == "make deb"
    # at the lowest priority: it shares the cores with tests that time
    # what kmsd does (the 250 ms durability bound, a flood's handshakes)
    sh("nice", "-n", "19", "make", "-C", ROOT, "deb", timeout=900)
    debs = glob.glob(os.path.join(ROOT, "build/deb/kmsd_*_amd64.deb"))
    assert len(debs) == 1, debs
    return debs[0]


def lint(deb):
    changes = deb[:-len(".deb")] + ".changes"
    target = changes if os.path.exists(changes) else deb
    rc, out = run("nice", "-n", "19", "lintian", "--fail-on", "error,warning", target, timeout=600)
    assert rc == 0 and not re.search(r"(?m)^[EW]: ", out), out


def handover_path():
    shared = os.environ.get("KMSD_RUN_SHARED")
    return os.path.join(shared, "deb") if shared else None


def hand_over(deb):
    """Leave the built and linted package for test_deb, later in this run."""
    path = handover_path()
    if path:
        with open(path, "w") as f:
            f.write(deb)


def handed_over():
    """The package test_deb_build built and linted in this run, if it did."""
    path = handover_path()
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        deb = f.read()
    return deb if os.path.exists(deb) else None


def skip_unless_packaging_runs_here():
    if os.geteuid() != 0 or not shutil.which("dpkg"):
        raise Skip("needs root and dpkg")
    if os.environ.get("KMSD_SANITIZED") == "1" or os.environ.get("KMSD_VALGRIND"):
        # the package is built with its own flags: one run is enough
        raise Skip("the sanitizer/valgrind pass would build the same package again")


def readme_package_commands():
    """The README's package block: the build and the install line."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    section = text.split("## Installing the Debian package\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip().splitlines()
    assert block[0] == "make deb", block
    assert block[1].startswith("apt-get install -y ./build/deb/"), block
    return block


def owner_mode(path):
    st = os.lstat(path)
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name, st.st_mode


def check_files():
    listed = set(sh("dpkg", "-L", "kmsd").split())
    docs_seen = set()
    for path in sorted(listed):
        if path in FILES:
            assert owner_mode(path) == FILES[path], (path, owner_mode(path), FILES[path])
        elif path.startswith("/usr/share/doc/kmsd/"):
            name = os.path.basename(path)
            assert name.removesuffix(".gz") in DOCS, path
            docs_seen.add(name.removesuffix(".gz"))
            assert owner_mode(path) == ("root", "root", 0o100644), (path, owner_mode(path))
        else:
            # a parent directory shared with other packages (/lib may be
            # merged /usr's link to usr/lib)
            st = os.stat(path)
            assert stat.S_ISDIR(st.st_mode), path
            assert (st.st_uid, st.st_gid, st.st_mode) == (0, 0, 0o040755), (path, oct(st.st_mode))
    assert set(FILES) <= listed, set(FILES) - listed
    assert docs_seen == set(DOCS), docs_seen
    assert sh("dpkg-query", "-W", "-f=${Conffiles}", "kmsd").split()[0] == CONF
    user = pwd.getpwnam("kmsd")
    assert user.pw_uid < 1000 and user.pw_dir == STATE, user
    assert user.pw_shell in ("/usr/sbin/nologin", "/bin/false"), user
    assert grp.getgrgid(user.pw_gid).gr_name == "kmsd"
    # enabled the debhelper way, which works without systemd running
    assert os.readlink(ENABLED_LINK) == UNIT


def unit_settings():
    """ExecStart's words and the [Service] settings of the installed unit."""
    settings = {}
    with open(UNIT) as f:
        for line in f:
            m = re.match(r"^(\w+)=(.*)$", line.strip())
            if m:
                settings.setdefault(m.group(1), []).append(m.group(2))
    return shlex.split(settings["ExecStart"][0]), settings


def start_as_unit(port):
    """kmsd run the way systemd would run the unit: its ExecStart argv, as
    its User/Group, with its UMask, no capabilities, no new privileges,
    from the root directory. The store and listen addresses come from the
    config file only."""
    argv, settings = unit_settings()
    assert argv[0] == "/usr/sbin/kmsd", argv
    assert "-l" not in argv, argv  # listen addresses are the config file's
    assert settings.get("User") == ["kmsd"] and settings.get("Group") == ["kmsd"], settings
    assert "DynamicUser" not in settings, settings
    assert settings.get("StateDirectory") == ["kmsd"], settings
    umask = int(settings.get("UMask", ["0022"])[0], 8)
    wrapper = ["setpriv", "--reuid=kmsd", "--regid=kmsd", "--init-groups",
               "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    proc = subprocess.Popen(wrapper + argv, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: os.umask(umask),
                            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
    lines = []
    deadline = time.monotonic() + 15
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        chunk = proc.stdout.read()
        if chunk:
            lines.append(chunk.decode(errors="replace"))
            if " ready" in "".join(lines):
                return proc, "".join(lines)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("installed kmsd did not start:\n" + "".join(lines))


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0


TOKEN_DIR = "/etc/kmsd"
TOKEN = "deb-test-token-0123456789abcdef"


def configure(port, web_port):
    """Edit the conffile as an admin would: this host listens on one
    loopback port (tests never bind 1688) and serves its web API with the
    token file docs/api.md describes, chown'ed to kmsd."""
    with open(CONF) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^(listen|web) = .*\n", "", text)
    assert n >= 2
    os.makedirs(TOKEN_DIR)
    token = os.path.join(TOKEN_DIR, "web-token")
    with open(token, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(token, 0o600)
    sh("chown", "kmsd", token)  # docs/api.md's command
    with open(CONF, "w") as f:
        f.write(text + f"# edited by test_deb\nlisten = 127.0.0.1:{port}\nweb = yes\n"
                f"web-listen = 127.0.0.1:{web_port}\nweb-token-file = {token}\n")


def web_status(web_port, token):
    headers = ["-H", f"Authorization: Bearer {token}"] if token else []
    rc, out = run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *headers,
                  f"http://127.0.0.1:{web_port}/api/v1/status")
    return out.strip()


def upgraded_copy(deb, tmp):
    """The same package with a higher version: what an upgrade installs."""
    tree = os.path.join(tmp, "tree")
    sh("dpkg-deb", "-R", deb, tree)
    control = os.path.join(tree, "DEBIAN/control")
    with open(control) as f:
        text = f.read()
    version = re.search(r"(?m)^Version: (.*)$", text).group(1)
    with open(control, "w") as f:
        f.write(text.replace(f"Version: {version}", f"Version: {version}+test1"))
    out = os.path.join(tmp, "kmsd_upgrade.deb")
    sh("dpkg-deb", "--root-owner-group", "-b", tree, out)
    return out


def left_behind(uid):
    """Paths anything of the package or its user could have left."""
    found = [p for p in list(FILES) + [ENABLED_LINK] if os.path.lexists(p)]
    found += glob.glob("/var/lib/systemd/deb-systemd-helper-enabled/*kmsd*")
    found += glob.glob("/var/lib/dpkg/info/kmsd.*")
    # stdout alone: run() mixes in stderr, where find says "No such file or
    # directory" of each temporary file that tests in other lanes remove
    # while it walks /tmp, and those words read as files left behind
    p = subprocess.run(["find", "/etc", "/var", "/run", "/tmp", "/usr", "-xdev", "-uid", str(uid)],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120)
    found += [l for l in p.stdout.decode(errors="replace").splitlines() if l]
    return found


def test_deb_install_run_upgrade_purge():
    skip_unless_packaging_runs_here()
    assert run("dpkg-query", "-W", "kmsd")[0] != 0, "kmsd is installed already: not touching it"
    assert run("getent", "passwd", "kmsd")[0] != 0, "a kmsd user exists already: not touching it"
    assert not os.path.exists(TOKEN_DIR), f"{TOKEN_DIR} exists already: not touching it"
    times = {}
    deb = handed_over()
    if deb is None:
        t = time.monotonic()
        deb = build()
        times["build"] = time.monotonic() - t
        t = time.monotonic()
        lint(deb)
        times["lintian"] = time.monotonic() - t

    tmp = tempfile.mkdtemp(prefix="kmsd-deb-")
    # test_docs runs the sample configuration for real, whose store is
    # /var/lib/kmsd: set what it left aside, so purge is judged alone
    saved = os.path.join(tmp, "saved-state")
    if os.path.lexists(STATE):
        shutil.move(STATE, saved)
    proc = None
    uid = None
    try:
        t = time.monotonic()
        install = readme_package_commands()[1]
        if os.environ.get("KMSD_DEB"):
            install = f"apt-get install -y {shlex.quote(os.path.abspath(deb))}"
        p = subprocess.run(["sh", "-c", install], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        out = p.stdout.decode(errors="replace")
        assert p.returncode == 0 and "kmsd" in sh("dpkg-query", "-W", "kmsd"), out
        times["install"] = time.monotonic() - t
        uid = pwd.getpwnam("kmsd").pw_uid
        check_files()

        port, web_port = free_port(), free_port()
        configure(port, web_port)
        proc, log = start_as_unit(port)
        # the secret file owned by the package's user is read by the unit's
        assert web_status(web_port, TOKEN) == "200" and web_status(web_port, None) == "401"
        rc, out = run("/usr/bin/kmsc", "activate", "--json", f"127.0.0.1:{port}")
        assert rc == 0, out
        result = json.loads(out)
        assert result["valid"], out
        stop(proc)
        proc = None
        # the store the config file names, written by the unit's user
        db = os.path.join(STATE, "clients.db")
        assert owner_mode(db)[0] == "kmsd", owner_mode(db)

        # upgrade: the edited conffile stays, its mode too; the service is
        # restarted (systemd only: the snippet is there)
        t = time.monotonic()
        out = sh("dpkg", "-i", upgraded_copy(deb, tmp))
        times["upgrade"] = time.monotonic() - t
        with open(CONF) as f:
            assert f"listen = 127.0.0.1:{port}" in f.read()
        assert owner_mode(CONF) == FILES[CONF]
        assert os.path.exists(db)
        with open("/var/lib/dpkg/info/kmsd.postinst") as f:
            assert "_dh_action=restart" in f.read()

        # the admin's own secret goes first; then remove keeps the state and
        # the conffile, purge removes everything
        shutil.rmtree(TOKEN_DIR)
        sh("dpkg", "-r", "kmsd")
        assert os.path.exists(db) and os.path.exists(CONF)
        assert not os.path.exists("/usr/sbin/kmsd")
        t = time.monotonic()
        sh("dpkg", "-P", "kmsd")
        times["purge"] = time.monotonic() - t
        assert run("getent", "passwd", "kmsd")[0] != 0
        assert run("getent", "group", "kmsd")[0] != 0
        left = left_behind(uid)
        assert left == [], left
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        if run("dpkg-query", "-W", "kmsd")[0] == 0:
            run("dpkg", "-P", "kmsd")
        shutil.rmtree(TOKEN_DIR, ignore_errors=True)
        if os.path.lexists(saved) and not os.path.lexists(STATE):
            shutil.move(saved, STATE)
        shutil.rmtree(tmp, ignore_errors=True)
    print("test_deb times: " + ", ".join(f"{k} {v:.1f}s" for k, v in times.items()))
