"""The EXAMPLES of the man pages, run: each command as printed, with the
documentation's example hosts, addresses and paths mapped to a kmsd, a DNS
server and files of this test (issue 9: every command shown is exercised)."""
import os
import re
import shlex
import shutil
import tempfile
import time

from kmsdtest import BIN, Kmsd, free_port, run
from test_kmsc import start_dnsmasq

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


def examples(page):
    with open(os.path.join(ROOT, "man", page)) as f:
        text = f.read()
    section = text.split(".Sh EXAMPLES", 1)[1].split(".Sh ", 1)[0]
    blocks = re.findall(r"\.Bd -literal[^\n]*\n(.*?)\.Ed", section, re.S)
    lines = "\n".join(blocks).replace("\\e\n", " ").replace("\\e", "\\")
    return [l.strip() for l in lines.splitlines() if l.strip()]


def service_user():
    """The documentation's user kmsd, or nobody where make install has not
    created kmsd."""
    return "kmsd" if run("getent", "passwd", "kmsd")[0] == 0 else "nobody"


def test_kmsd_conf_example_is_a_valid_configuration():
    d = tempfile.mkdtemp()
    text = "\n".join(examples("kmsd.conf.5")) + "\n"
    assert "user = kmsd" in text
    user = service_user()
    text = text.replace("user = kmsd", f"user = {user}").replace("group = kmsd", "")
    for path in ("/etc/kmsd/web-token", "/etc/kmsd/tsig.secret"):
        local = os.path.join(d, os.path.basename(path))
        with open(local, "w") as f:
            f.write("a2Vtc2QtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ==\n")
        os.chmod(local, 0o600)
        if path.endswith("tsig.secret"):
            shutil.chown(local, user)  # read by kmsd's user, as docs/dns.md sets it up
        assert path in text
        text = text.replace(path, local)
    conf = os.path.join(d, "kmsd.conf")
    with open(conf, "w") as f:
        f.write(text)
    rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", conf)
    assert rc == 0 and "configuration OK" in out, out


def test_kmsd_examples():
    lines = examples("kmsd.8")
    assert lines[0] == "runuser -u kmsd -- kmsd -t -c /etc/kmsd.conf"
    if os.geteuid() == 0:
        rc, out = run("runuser", "-u", service_user(), "--", os.path.join(BIN, "kmsd"), "-t",
                      "-c", os.path.join(ROOT, "contrib/kmsd.conf"))
        assert rc == 0, out
    port = free_port()
    args = shlex.split(lines[1].replace("192.0.2.10:1688", f"127.0.0.1:{port}"))
    assert args[:2] == ["kmsd", "-f"]
    with Kmsd(*[a for a in args[2:] if "=" in a and a != "-o"], listen=[f"127.0.0.1:{port}"],
              port=port) as d:
        assert "count=real" in d.log()


def test_kmsc_examples():
    lines = examples("kmsc.1")
    db = os.path.join(tempfile.mkdtemp(), "clients.db")
    with Kmsd(f"store=sqlite:{db}") as d:
        proc, dns_port = start_dnsmasq([
            f"--srv-host=_vlmcs._tcp.corp.example,kms.corp.example,{d.port},0,0",
            "--host-record=kms.corp.example,127.0.0.1"])
        try:
            for line in lines:
                line = line.replace("kms.example.com:1688", f"127.0.0.1:{d.port}")
                line = line.replace("127.0.0.1:1688", f"127.0.0.1:{d.port}")
                line = re.sub(r"\bkms\.example\.com\b", f"127.0.0.1:{d.port}", line)
                args = shlex.split(line)
                assert args[0] == "kmsc", line
                if "--domain" in args:
                    args += ["--dns-server", f"127.0.0.1:{dns_port}"]
                if args[1] in ("clients", "stats", "prune", "forget", "backup"):
                    time.sleep(0.6)
                    args += ["--db", db]
                args = [os.path.join(os.path.dirname(db), "backup.db")
                        if a == "/var/backups/kmsd-clients.db" else a for a in args]
                rc, out = run(os.path.join(BIN, "kmsc"), *args[1:])
                assert rc == 0, (line, out)
        finally:
            proc.kill()
            proc.wait()
