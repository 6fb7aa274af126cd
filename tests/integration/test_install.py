"""Installing kmsd on a server (issue 14): `make deps` brings only what
building and running need, the test-only packages come from `make
test-deps` with service start-up prevented, and `make test` starts there."""
import os
import re
import stat
import subprocess
import tempfile

from kmsdtest import run

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
# packages that ship a network service (or pull one in) a KMS host has no use for
SERVICE_PACKAGES = {"bind9", "postgresql", "chromium", "prometheus", "dnsmasq", "dnsmasq-base",
                    "apache2", "nginx", "postgresql-common", "mariadb-server", "openssh-server"}


def installed_by(target):
    """The packages `make TARGET` would pass to apt-get install."""
    rc, out = run("make", "-n", "-s", "-C", ROOT, target, "DPKG=false")
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
    assert ci == ["make deps", test_command], ci


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
            p = subprocess.run(["make", "-s", "-C", ROOT, "test-deps", "DPKG=false",
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
        subprocess.run(["make", "-s", "-C", ROOT, "test-deps", "DPKG=false",
                        f"APT_GET={fake_apt(d, 1)}", f"POLICY_RC_D={policy}"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert open(policy).read() == "#!/bin/sh\nexit 0\n"
        assert stat.S_IMODE(os.stat(policy).st_mode) == 0o700
