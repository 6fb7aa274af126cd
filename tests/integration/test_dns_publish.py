"""kmsd publishing its _vlmcs._tcp SRV record (dns-publish) to a real BIND
9 named on loopback, and kmsc finding it there. Skipped, with the reason
printed, only when named is not installed."""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from dnstest import KEY_NAME, ZONE, Named, free_udp_tcp_port, named_missing
from kmsdtest import BIN, Kmsd, free_port, kmsc, run, skip, wait_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))

# another host's record, left alone (its TTL is the RRset's: the last added)
OTHER_HOST = (10, 50, 1688, f"kms2.{ZONE}.")


def skip_without_named():
    why = named_missing()
    if why:
        skip(why)


def publish_options(named, secret_path, *extra):
    return ("dns-publish=on", f"dns-zone={ZONE}", f"dns-server=127.0.0.1:{named.port}",
            f"dns-host=kms1.{ZONE}", "dns-ttl=600", "dns-priority=5", "dns-weight=20",
            f"dns-tsig-name={KEY_NAME}", f"dns-tsig-secret-file={secret_path}") + extra


def wait_for(predicate, what, timeout=10):
    if not wait_until(predicate, timeout, step=0.1):
        raise AssertionError(f"timed out waiting for {what}")


def secret_file(named, name="secret", **kw):
    path = os.path.join(named.dir, name)
    named.write_secret(path, **kw)
    return path


def test_publish_discover_activate_and_remove_only_its_own_record():
    skip_without_named()
    zone = [f"kms1 IN A 127.0.0.1", f"_vlmcs._tcp 300 IN SRV 10 50 1688 kms2.{ZONE}."]
    with Named(zone) as named:
        d = Kmsd(*publish_options(named, secret_file(named)))
        try:
            d.wait_log("dns-publish: published")
            ours = (5, 20, d.port, f"kms1.{ZONE}.")  # dns-port: the listen port
            assert {r[1:] for r in named.srv()} == {ours, OTHER_HOST}, named.srv()
            assert {r[0] for r in named.srv()} == {600}, named.srv()
            # what kmsc srv-record prints is the record kmsd published
            rc, out = kmsc("srv-record", "--domain", ZONE, "--ttl", "600", "--priority", "5",
                           "--weight", "20", f"kms1.{ZONE}", str(d.port))
            assert rc == 0 and f"_vlmcs._tcp.{ZONE}. 600 IN SRV 5 20 {d.port} kms1.{ZONE}." in out
            assert f"{out.split()[0]} 600 IN SRV 5 20 {d.port} kms1.{ZONE}." in d.log(), d.log()
            # no host given: kmsc finds kmsd through the record, over IPv4 and IPv6
            for server in (f"127.0.0.1:{named.port}", f"[::1]:{named.port}"):
                rc, out = kmsc("activate", "--domain", ZONE, "--dns-server", server,
                               "--timeout", "3")
                assert rc == 0, out
                assert f"using kms1.{ZONE} port {d.port}" in out, out
        finally:
            d.stop(signal.SIGTERM)
        assert {r[1:] for r in named.srv()} == {OTHER_HOST}, named.srv()


def test_reload_with_a_new_port_replaces_the_record():
    skip_without_named()
    with Named() as named:
        secret = secret_file(named)
        d = Kmsd(*publish_options(named, secret), listen=(),
                 config_text=f"listen = 127.0.0.1:{free_port()}\n")
        try:
            d.wait_log("dns-publish: published")
            new_port = free_port()
            with open(d.config, "a") as f:
                f.write(f"dns-port = {new_port}\n")
            # the file's dns-port is overridden by nothing on the command line
            d.send(signal.SIGHUP)
            d.wait_log("configuration reloaded")
            wait_for(lambda: {r[3] for r in named.srv()} == {new_port}, "the new record")
            assert "dns-publish: removed" in d.log(), d.log()
            # a secret file others may read fails the whole reload
            os.chmod(secret, 0o644)
            text = open(d.config).read().replace(f"dns-port = {new_port}", f"dns-port = {free_port()}")
            with open(d.config, "w") as f:  # a second dns-port line would be an error itself
                f.write(text)
            d.send(signal.SIGHUP)
            d.wait_log("reload failed, keeping the running configuration: dns-tsig-secret-file")
            time.sleep(0.5)
            assert {r[3] for r in named.srv()} == {new_port}, named.srv()
        finally:
            d.stop()
        assert named.srv() == set(), named.srv()


def test_a_deleted_record_comes_back_within_half_its_ttl():
    skip_without_named()
    with Named(unsigned_updates=True) as named:
        with Kmsd("dns-publish=on", f"dns-zone={ZONE}", f"dns-server=127.0.0.1:{named.port}",
                  f"dns-host=kms1.{ZONE}", "dns-ttl=10") as d:
            d.wait_log("dns-publish: published")
            named.nsupdate(f"update delete _vlmcs._tcp.{ZONE}. SRV")  # someone, by hand
            assert named.srv() == set()
            wait_for(lambda: named.srv(), "the refresh after 5 s", timeout=15)
            assert "dns-publish: refreshed" in d.log(), d.log()


def test_a_wrong_key_is_logged_once_and_activation_goes_on():
    skip_without_named()
    with Named() as named:
        wrong = secret_file(named, secret="d3Jvbmcgd3Jvbmcgd3Jvbmcgd3Jvbmcgd3Jvbmc=")
        d = Kmsd(*publish_options(named, wrong))
        try:
            line = (f"dns-publish: update of _vlmcs._tcp.{ZONE} refused by 127.0.0.1:{named.port}: "
                    "NOTAUTH (TSIG key rejected")
            d.wait_log(line)
            rc, out = kmsc("activate", f"127.0.0.1:{d.port}")
            assert rc == 0, out
            d.wait_log("next try in", timeout=12)  # retried, quietly
            assert d.log().count("warning: " + line) == 1, d.log()
            assert named.srv() == set()
            # the right key and a reload: published
            named.write_secret(wrong)
            d.send(signal.SIGHUP)
            wait_for(lambda: len(named.srv()) == 1, "the record after the key was fixed")
        finally:
            d.stop()


def test_a_dns_server_that_comes_up_later_gets_the_record():
    skip_without_named()
    with Named() as probe:
        port = probe.port
    d = Kmsd("dns-publish=on", f"dns-zone={ZONE}", f"dns-server=127.0.0.1:{port}",
             f"dns-host=kms1.{ZONE}")
    try:
        d.wait_log("dns-publish: update of")  # nothing listens yet
        rc, out = kmsc("activate", f"127.0.0.1:{d.port}")
        assert rc == 0, out
        with Named(port=port, unsigned_updates=True) as named:
            d.wait_log("dns-publish: working again", timeout=20)
            assert {r[3] for r in named.srv()} == {d.port}
            assert d.log().count("dns-publish: update of") == 1, d.log()
            d.stop()
            assert named.srv() == set()
    finally:
        d.stop()


def test_an_unreachable_dns_server_never_delays_activations():
    skip_without_named()
    # a "DNS server" that takes the connection and never answers: every
    # update waits for its whole timeout
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    d = Kmsd("dns-publish=on", f"dns-zone={ZONE}", f"dns-server=127.0.0.1:{silent.getsockname()[1]}",
             f"dns-host=kms1.{ZONE}")
    try:
        for _ in range(3):
            start = time.monotonic()
            rc, out = kmsc("activate", f"127.0.0.1:{d.port}")
            assert rc == 0 and time.monotonic() - start < 2, out
        d.send(signal.SIGHUP)  # the reload does not wait for DNS either
        d.wait_log("configuration reloaded", timeout=1)
        d.wait_log("dns-publish: update of", timeout=10)
        assert "no answer from" in d.log(), d.log()
        start = time.monotonic()
    finally:
        d.stop()
        silent.close()
    assert time.monotonic() - start < 5, "stop waited too long on DNS"


def test_secret_file_and_settings_are_checked():
    skip_without_named()
    with Named() as named:
        loose = secret_file(named, mode=0o640)
        conf = os.path.join(named.dir, "kmsd.conf")
        with open(conf, "w") as f:
            f.write("\n".join(o.replace("=", " = ", 1) for o in publish_options(named, loose)) + "\n")
        root = ["-o", "allow-root=yes"]  # -t as root refuses a start without user
        rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", conf, *root)
        assert rc == 1 and "group or others may read" in out and "chmod 600" in out, out
        os.chmod(loose, 0o600)
        rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", conf, *root)
        assert rc == 0, out
        rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", conf, *root, "-o", "dns-server=[::1")
        assert rc == 1 and "-o:2: dns-server:" in out, out
        rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", "/dev/null", *root, "-o",
                      "dns-publish=on")
        assert rc == 1 and "needs dns-zone" in out, out


def test_without_dns_server_the_zones_primary_gets_the_update():
    skip_without_named()
    # The system's resolver must find the zone's SOA: kmsd runs in a mount
    # namespace where /etc/resolv.conf names a named on 127.0.0.1:53 (named
    # listens only on addresses interfaces have).
    if os.geteuid() != 0 or not shutil.which("unshare"):
        skip("needs root and unshare for a private /etc/resolv.conf")
    address = "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, 53))
        except OSError as e:
            print(f"skipped: {address}:53 not free: {e}")
            return
    with Named([f"kms1 IN A 127.0.0.1"], address=address, port=53, unsigned_updates=True) as named:
        resolv = os.path.join(named.dir, "resolv.conf")
        with open(resolv, "w") as f:
            f.write(f"nameserver {address}\n")
        wrapper = ["unshare", "--mount", "sh", "-c",
                   f'mount --bind {resolv} /etc/resolv.conf && exec "$@"', "kmsd"]
        with Kmsd("dns-publish=on", f"dns-zone={ZONE}", f"dns-host=kms1.{ZONE}",
                  wrapper=wrapper) as d:
            d.wait_log(f"dns-publish: published _vlmcs._tcp.{ZONE}. 3600 IN SRV 0 0 {d.port} "
                       f"kms1.{ZONE}. at {address}:53")
            assert {r[3] for r in named.srv()} == {d.port}
        assert named.srv() == set()


def test_without_dns_host_the_machines_fqdn_is_published():
    skip_without_named()
    fqdn = socket.getfqdn()
    with Named(unsigned_updates=True) as named:
        with Kmsd("dns-publish=on", f"dns-zone={ZONE}", f"dns-server=127.0.0.1:{named.port}") as d:
            d.wait_log("dns-publish: ")
            if "." in fqdn and "published" in d.log():
                assert {r[4] for r in named.srv()} == {fqdn.rstrip(".") + "."}, named.srv()
            else:  # a machine without a domain: told what to do
                assert "is not a fully qualified DNS name; set dns-host" in d.log(), d.log()


def doc_blocks():
    """The fenced blocks of docs/dns.md as (language, text)."""
    with open(os.path.join(ROOT, "docs", "dns.md")) as f:
        return re.findall(r"```(\w*)\n(.*?)```", f.read(), re.S)


def test_every_command_in_docs_dns_md():
    skip_without_named()
    tmp = tempfile.mkdtemp(prefix="kmsd-doc-")
    # the page's user kmsd: nobody as root (the check runs as that user,
    # who owns the secret), else this test's own user
    user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
    os.chmod(tmp, 0o755)
    named_port = free_udp_tcp_port()
    kmsd_port = free_port()

    def localise(text):
        """The page's example.com and /etc paths, made this test's."""
        text = (text.replace("example.com", ZONE).replace("/etc/bind/", tmp + "/")
                .replace("/etc/kmsd/", tmp + "/").replace("/etc/kmsd.conf", tmp + "/kmsd.conf")
                .replace("chown kmsd ", f"chown {user} ")
                .replace("runuser -u kmsd -- ", f"runuser -u {user} -- " if os.geteuid() == 0
                         else "")
                .replace(f"server ns1.{ZONE}", f"server 127.0.0.1 {named_port}")
                .replace("dig +short", f"dig @127.0.0.1 -p {named_port} +short")
                .replace("build/kmsc", os.path.join(BIN, "kmsc")))
        text = re.sub(r"(^|-- )kmsd ", r"\g<1>" + os.path.join(BIN, "kmsd") + " ", text, flags=re.M)
        if "kmsc activate --domain" in text:
            text = text.rstrip() + f" --dns-server 127.0.0.1:{named_port} --timeout 3\n"
        return text

    def sh(text):
        p = subprocess.run(["sh", "-ec", localise(text)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        assert p.returncode == 0, (text, p.stdout.decode(errors="replace"))
        return p.stdout.decode(errors="replace")

    blocks = doc_blocks()
    shell = [text for lang, text in blocks if lang == "sh"]
    conf = next(text for lang, text in blocks if lang == "conf")
    named_conf = next(text for lang, text in blocks if lang == "" and "update-policy" in text)
    assert len(shell) == 6, shell
    keygen, secret, dig, srv_record, nsupdate, activate = shell
    try:
        sh(keygen)
        with open(os.path.join(tmp, "kmsd-key.conf")) as f:
            key = re.search(r'secret "(.*)";', f.read()).group(1)
        policy = re.search(r"update-policy .*;", localise(named_conf)).group(0)
        # the test's own additions: where the server is, the name to publish
        kmsd_conf = localise(conf) + (f"dns-server = 127.0.0.1:{named_port}\n"
                                      f"dns-host = kms1.{ZONE}\nlisten = 127.0.0.1:{kmsd_port}\n")
        with open(os.path.join(tmp, "kmsd.conf"), "w") as f:
            f.write(kmsd_conf)
        with Named([f"kms1 IN A 127.0.0.1"], port=named_port, secret=key, policy=policy) as named:
            assert "configuration OK" in sh(secret)
            d = Kmsd(listen=(), config_text=kmsd_conf, port=kmsd_port)
            try:
                d.wait_log("dns-publish: published")
                assert f"0 0 {kmsd_port} kms1.{ZONE}." in sh(dig)
                line = sh(srv_record).strip()
                assert line == f"_vlmcs._tcp.{ZONE}. 3600 IN SRV 0 0 1688 kms1.{ZONE}.", line
                sh(nsupdate)  # adds exactly that line's record
                assert (3600, 0, 0, 1688, f"kms1.{ZONE}.") in named.srv(), named.srv()
                out = sh(activate)
                assert "using kms1." in out, out
            finally:
                d.stop()
            # kmsd took only its own record away
            assert {r[3] for r in named.srv()} == {1688}, named.srv()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
