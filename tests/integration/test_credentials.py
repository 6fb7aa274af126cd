"""Secrets under systemd (issue 14): kmsd, started as the shipped unit
starts it (its ExecStart, a user that is not root, a credentials directory
as LoadCredential= makes one: files owned by that user, mode 0400), reads
web-token-file, store-password-file and dns-tsig-secret-file from
$CREDENTIALS_DIRECTORY when they say credential:NAME."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from kmsdtest import BIN, free_port, kmsc, run
from pgtest import Postgres
from test_install import as_service_user, unit_command, wait_output

TOKEN = "kmsd-credential-token-0123456789"
PASSWORD = "p@ss w0rd/credential"


def credentials(d, files, owner):
    creds = os.path.join(d, "credentials")
    os.mkdir(creds, 0o700)
    for name, text in files.items():
        path = os.path.join(creds, name)
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o400)
        if owner:
            shutil.chown(path, owner)
    if owner:
        shutil.chown(creds, owner)
    return creds


def status(port, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/status")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_unit_reads_secrets_from_its_credentials_directory_as_a_non_root_user():
    owner = "nobody" if os.geteuid() == 0 else None
    with Postgres() as pg:
        uri = pg.createdb("kmsd")
        pg.psql(f"ALTER ROLE kmsd PASSWORD '{PASSWORD}'")
        # TCP needs the password from now on (the unix socket stays open to this test)
        with open(os.path.join(pg.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        pg.server("pg_ctl", "-D", pg.data, "reload")
        time.sleep(0.5)
        no_password = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
        p = subprocess.run([os.path.join(pg.bin, "psql"), "-w", "-h", "127.0.0.1", "-p",
                            str(pg.port), "-U", "kmsd", "-d", "kmsd", "-c", "SELECT 1"],
                           env=no_password, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert p.returncode != 0, p.stdout  # so kmsd's writes below prove the password
        d = tempfile.mkdtemp(prefix="kmsd-creds-")
        os.chmod(d, 0o755)
        try:
            creds = credentials(d, {"web-token": TOKEN, "store-password": PASSWORD,
                                    "tsig": "c2VjcmV0c2VjcmV0c2VjcmV0"}, owner)
            port, web = free_port(), free_port()
            config = os.path.join(d, "kmsd.conf")
            with open(config, "w") as f:
                f.write(f"listen = 127.0.0.1:{port}\nstore = {uri}\n"
                        "store-password-file = credential:store-password\n"
                        f"web = yes\nweb-listen = 127.0.0.1:{web}\n"
                        "web-token-file = credential:web-token\n")
            os.chmod(config, 0o644)
            env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
            env.pop("PGPASSWORD", None)  # kmsd has only its credential
            os.environ["PGPASSWORD"] = PASSWORD  # for this test's psql over TCP
            # -t, as the unit's user, agrees
            rc, out = run(*as_service_user([os.path.join(BIN, "kmsd"), "-t", "-c", config]))
            assert rc == 1 and "no $CREDENTIALS_DIRECTORY" in out, out
            p = subprocess.run(as_service_user([os.path.join(BIN, "kmsd"), "-t", "-c", config]),
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert p.returncode == 0, p.stdout
            proc = subprocess.Popen(as_service_user(unit_command(config)), env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            try:
                out = wait_output(proc, "ready", 20)
                assert PASSWORD not in out, out
                assert status(web) == 401 and status(web, TOKEN) == 200
                rc, act = kmsc("activate", "--workstation", "from-credentials", f"127.0.0.1:{port}")
                assert rc == 0, act
                deadline = time.monotonic() + 10
                rows = []
                while not rows and time.monotonic() < deadline:
                    try:
                        rows = pg.psql("SELECT workstation FROM clients", "kmsd")
                    except AssertionError:
                        pass
                    time.sleep(0.2)
                assert rows == [["from-credentials"]], rows  # written over TCP with the password
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)
            # the TSIG secret too, checked as that user
            with open(config, "a") as f:
                f.write("dns-publish = on\ndns-zone = example.com\ndns-server = 127.0.0.1\n"
                        "dns-host = kms.example.com\ndns-tsig-name = k\n"
                        "dns-tsig-secret-file = credential:tsig\n")
            p = subprocess.run(as_service_user([os.path.join(BIN, "kmsd"), "-t", "-c", config]),
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert p.returncode == 0, p.stdout
        finally:
            os.environ.pop("PGPASSWORD", None)
            shutil.rmtree(d, ignore_errors=True)
