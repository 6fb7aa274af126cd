"""A real BIND 9 named on a loopback port, serving one zone that accepts
dynamic updates signed with one TSIG key: the server kmsd publishes to."""
import base64
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

from kmsdtest import free_port

NAMED = shutil.which("named") or "/usr/sbin/named"
ZONE = "example.test"
KEY_NAME = "kmsd-key"


def named_missing():
    """Why the DNS tests cannot run here, or None."""
    if not os.path.exists(NAMED):
        return f"{NAMED} not installed (make deps)"
    if not shutil.which("dig") or not shutil.which("nsupdate"):
        return "dig or nsupdate not installed (make deps)"
    return None


def free_udp_tcp_port():
    """A port free for both UDP and TCP on 127.0.0.1 (named wants both)."""
    for _ in range(50):
        port = free_port()  # below the range outgoing connections take theirs from
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError("no free port")


class Named:
    """named in the foreground in a temp dir; zone example.test with the
    given extra records (zone-file lines, relative names allowed)."""

    def __init__(self, records=(), port=None, unsigned_updates=False, secret=None, policy=None,
                 address="127.0.0.1"):
        self.dir = tempfile.mkdtemp(prefix="kmsd-named-")
        self.address = address
        self.port = port or free_udp_tcp_port()
        self.secret = secret or base64.b64encode(os.urandom(32)).decode()
        zone = [f"$ORIGIN {ZONE}.", "$TTL 300",
                f"@ IN SOA ns.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 60",
                f"@ IN NS ns.{ZONE}.", f"ns IN A {address}"] + list(records)
        with open(os.path.join(self.dir, "zone.db"), "w") as f:
            f.write("\n".join(zone) + "\n")
        # unsigned: any loopback client may update (for tests of other things)
        policy = policy or ("allow-update { 127.0.0.0/8; ::1; };" if unsigned_updates
                            else f"update-policy {{ grant {KEY_NAME} zonesub ANY; }};")
        with open(os.path.join(self.dir, "named.conf"), "w") as f:
            f.write(f"""
options {{
    directory "{self.dir}";
    pid-file none;
    listen-on port {self.port} {{ {address}; }};
    listen-on-v6 port {self.port} {{ {"::1" if address == "127.0.0.1" else "none"}; }};
    recursion no;
    notify no;
    dnssec-validation no;
}};
controls {{ }};
key "{KEY_NAME}" {{ algorithm hmac-sha256; secret "{self.secret}"; }};
zone "{ZONE}" {{
    type primary;
    file "zone.db";
    {policy}
}};
""")
        args = [NAMED, "-g", "-c", os.path.join(self.dir, "named.conf")]
        if os.geteuid() == 0:
            # named refuses nothing as root, but it should not keep root:
            # run it as the packaged user, who must own its journal
            user = "bind" if _user_exists("bind") else "nobody"
            pw = pwd.getpwnam(user)
            for name in os.listdir(self.dir) + ["."]:
                os.chown(os.path.join(self.dir, name), pw.pw_uid, pw.pw_gid)
            args += ["-u", user]
        self.log_path = os.path.join(self.dir, "named.out")
        self.out = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"named exited {self.proc.returncode}:\n{self.log()}")
            if "running" in self.log() and self.srv() is not None:
                return
            time.sleep(0.1)
        raise AssertionError("named did not start:\n" + self.log())

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def dig(self, name, rtype):
        p = subprocess.run(["dig", f"@{self.address}", "-p", str(self.port), "+short", "+tries=1",
                            "+time=2", name, rtype], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        return p.stdout.decode()

    def srv(self):
        """The SRV records of _vlmcs._tcp as (ttl, priority, weight, port,
        target) tuples, or None while the server does not answer."""
        p = subprocess.run(["dig", f"@{self.address}", "-p", str(self.port), "+noall", "+answer",
                            "+tries=1", "+time=2", f"_vlmcs._tcp.{ZONE}", "SRV"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        if p.returncode != 0:
            return None
        records = set()
        for line in p.stdout.decode().splitlines():
            f = line.split()
            if len(f) == 8 and f[3] == "SRV":
                records.add((int(f[1]), int(f[4]), int(f[5]), int(f[6]), f[7]))
        return records

    def nsupdate(self, commands):
        """Run nsupdate with the zone's key; commands without send."""
        script = f"server {self.address} {self.port}\nzone {ZONE}\n{commands}\nsend\n"
        p = subprocess.run(["nsupdate", "-y", f"hmac-sha256:{KEY_NAME}:{self.secret}"],
                           input=script.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        assert p.returncode == 0, p.stdout.decode()

    def write_secret(self, path, secret=None, mode=0o600):
        with open(path, "w") as f:
            f.write((secret or self.secret) + "\n")
        os.chmod(path, mode)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
