"""Packaging (issue 9): the Dockerfile (checked statically and by running
its health check and install steps, since image builds need a Docker daemon
this machine may not have) and the systemd unit's sandboxing score."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from kmsdtest import BIN, Kmsd, free_port, run, skip

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


def dockerfile():
    with open(os.path.join(ROOT, "Dockerfile")) as f:
        text = f.read()
    # join continuation lines, drop comments
    text = re.sub(r"\\\n\s*", " ", text)
    return [l.strip() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]


def instruction(lines, word):
    return [l[len(word) + 1:] for l in lines if l.split()[0] == word]


def test_dockerfile_is_multi_stage_debian_non_root_with_healthcheck():
    lines = dockerfile()
    froms = instruction(lines, "FROM")
    assert len(froms) == 2 and all(f.startswith("debian:") for f in froms), froms
    assert froms[0].endswith(" AS build")
    users = instruction(lines, "USER")
    assert users and users[-1] not in ("root", "0"), users
    health = instruction(lines, "HEALTHCHECK")
    assert len(health) == 1 and "CMD [\"kmsc\", \"ping\"" in health[0], health
    assert instruction(lines, "EXPOSE") == ["1688 8688"]
    # the repository alone is the build context: the product data is in it
    copies = instruction(lines, "COPY")
    assert not any("--from=shared" in c for c in copies), copies
    assert ". ./" in copies, copies
    assert os.path.exists(os.path.join(ROOT, "data", "KmsDataBase.xml"))
    runs = " ".join(instruction(lines, "RUN"))
    assert "make deps-build" in runs and "make install" in runs
    for name in ("deps-build", "all"):
        rc, out = run("make", "-n", "-C", ROOT, name)
        assert rc == 0, out


def package_of(path):
    """The Debian package owning a library (merged /usr: try both names)."""
    for candidate in (os.path.realpath(path), path, path.replace("/usr/lib/", "/lib/")):
        rc, owner = run("dpkg", "-S", candidate)
        if rc == 0:
            return owner.split(":")[0]
    raise AssertionError(f"no package owns {path}")


def runtime_packages(lines):
    runtime = [r for r in instruction(lines, "RUN") if "apt-get install" in r][-1]
    m = re.search(r"apt-get install -y --no-install-recommends ([^&]*)", runtime)
    return set(m.group(1).split())


def test_runtime_stage_installs_every_library_the_binaries_need():
    """Each library kmsd and kmsc link directly must come from a package
    the runtime stage installs, or from libc6, which every image has."""
    wanted = runtime_packages(dockerfile())
    for program in ("kmsd", "kmsc"):
        path = os.path.join(BIN, program)
        rc, out = run("readelf", "-d", path, check=True)
        needed = re.findall(r"\(NEEDED\).*\[(.*)\]", out)
        rc, ldd = run("ldd", path, check=True)
        for lib in needed:
            if lib.startswith(("libasan", "libubsan", "libtsan")):
                continue
            m = re.search(re.escape(lib) + r" => (\S+)", ldd)
            assert m, (lib, ldd)
            package = package_of(m.group(1))
            assert package == "libc6" or package in wanted, (program, lib, package, wanted)


def test_runtime_stage_installs_the_libraries_loaded_on_demand():
    """Libraries kmsd opens with dlopen (only when a feature needs them)
    must be in the image too."""
    wanted = runtime_packages(dockerfile())
    with open(os.path.join(BIN, "kmsd"), "rb") as f:
        sonames = set(re.findall(rb"lib[a-z0-9_]+\.so\.\d+", f.read()))
    rc, cache = run("ldconfig", "-p", check=True)
    loaded = [s.decode() for s in sonames if s.decode() + " " in cache]
    assert "libmicrohttpd.so.12" in loaded and "libpq.so.5" in loaded, loaded
    for soname in loaded:
        if soname.startswith(("libasan", "libubsan", "libtsan")):
            continue  # a sanitized build names its runtime; the image has none
        path = re.search(re.escape(soname) + r" .*=> (\S+)", cache).group(1)
        package = package_of(path)
        assert package == "libc6" or package in wanted, (soname, package, wanted)


def test_healthcheck_command_tells_healthy_from_not():
    lines = dockerfile()
    cmd = json.loads(instruction(lines, "HEALTHCHECK")[0].split("CMD ", 1)[1])
    assert cmd[:2] == ["kmsc", "ping"], cmd
    port = free_port()
    cmd = [os.path.join(BIN, "kmsc")] + cmd[1:-1] + [f"127.0.0.1:{port}"]
    store = os.path.join(tempfile.mkdtemp(), "clients.db")
    with Kmsd("count=real", f"store=sqlite:{store}", port=port):
        for _ in range(2):
            rc, out = run(*cmd)
            assert rc == 0, out
        time.sleep(0.6)  # two store batch intervals
        rc, out = run(os.path.join(BIN, "kmsc"), "clients", "--db", store, "--json")
    # however often it runs, the check is no machine at all
    assert "cmid" not in out, out
    rc, out = run(*cmd)
    assert rc != 0, out


def entrypoint_argv(env):
    """The command line the image's entrypoint runs, caught by a stand-in
    kmsd on PATH."""
    lines = dockerfile()
    assert json.loads(instruction(lines, "ENTRYPOINT")[0]) == ["kmsd-entrypoint"]
    assert "contrib/container/entrypoint.sh /out/usr/sbin/kmsd-entrypoint" in " ".join(
        instruction(lines, "RUN"))
    bindir = tempfile.mkdtemp()
    with open(os.path.join(bindir, "kmsd"), "w") as f:
        f.write('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    os.chmod(os.path.join(bindir, "kmsd"), 0o755)
    env = dict({"PATH": bindir + ":/usr/bin:/bin"}, **env)
    p = subprocess.run([os.path.join(ROOT, "contrib/container/entrypoint.sh")], env=env,
                       stdout=subprocess.PIPE, check=True)
    shutil.rmtree(bindir)
    return p.stdout.decode().splitlines()


def test_entrypoint_overrides_nothing_but_the_environment_settings():
    # nothing set: the configuration file alone decides
    assert entrypoint_argv({}) == ["-f", "-c", "/etc/kmsd.conf"]
    env = {"KMSD_COUNT": "real", "KMSD_SERVE": "windows", "KMSD_WEB": "yes",
           "KMSD_WEB_LISTEN": "0.0.0.0:8688", "KMSD_WEB_TOKEN_FILE": "/run/secrets/t",
           "KMSD_LOG_LEVEL": "warning", "KMSD_OTHER": "x"}
    assert entrypoint_argv(env) == ["-f", "-c", "/etc/kmsd.conf", "-o", "count=real", "-o", "serve=windows",
                                    "-o", "web=yes", "-o", "web-listen=0.0.0.0:8688",
                                    "-o", "web-token-file=/run/secrets/t", "-o", "log-level=warning"]
    # each name is a real setting kmsd takes, and the sample config listens
    # on IPv4 and IPv6
    rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-v", "-c", os.path.join(ROOT, "contrib/kmsd.conf"),
                  "-o", "count=real", "-o", "log-level=warning", "-o", "web-listen=0.0.0.0:8688",
                  "-o", "user=nobody", "-o", "store=none")  # not this machine's /var/lib/kmsd
    assert rc == 0, out
    assert "0.0.0.0:1688" in out and "[::]:1688" in out, out


def test_compose_example_uses_a_named_volume():
    with open(os.path.join(ROOT, "contrib/container/compose.yaml")) as f:
        text = f.read()
    assert re.search(r"(?m)^      - kmsd-state:/var/lib/kmsd$", text), text
    assert re.search(r"(?m)^volumes:\n  kmsd-state:$", text), text
    with open(os.path.join(ROOT, "contrib/container/entrypoint.sh")) as f:
        script = f.read()
    for name in re.findall(r"KMSD_[A-Z_]+", text):
        assert f"#   {name} " in script, name  # a documented variable


def test_docker_build_when_a_daemon_is_available():
    docker = shutil.which("docker")
    if not docker or run(docker, "info")[0] != 0:
        skip("no Docker daemon here; the tests above check the Dockerfile")
    rc, out = run(docker, "build", "-t",
                  "kmsd-test", ROOT, timeout=1800)
    assert rc == 0, out


def test_systemd_unit_sandboxing_score():
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        skip("no systemd-analyze")
    rc, out = run(analyze, "security", "--offline=yes", os.path.join(ROOT, "contrib/kmsd.service"))
    m = re.search(r"Overall exposure level for kmsd.service: ([0-9.]+)", out)
    assert m, out
    # 0 is fully locked down, 10 unprotected; systemd calls below 2 "OK"
    assert float(m.group(1)) <= 2.0, out
