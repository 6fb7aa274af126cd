"""A throwaway PostgreSQL server for tests: the Debian package's initdb and
pg_ctl run directly on a temp directory, listening on a free loopback port
and a unix socket in that directory. PostgreSQL refuses to run as root, so
as root the cluster belongs to `nobody` and its commands run through
runuser."""
import glob
import os
import shutil
import subprocess
import tempfile

from kmsdtest import free_port


def bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


class Postgres:
    def __init__(self, superuser="kmsd"):
        self.user = superuser
        self.bin = bin_dir()
        assert self.bin, "PostgreSQL is not installed (make deps installs it)"
        self.dir = tempfile.mkdtemp(prefix="kmsd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "nobody")
            self.as_user = ["runuser", "-u", "nobody", "--"]
        self.server("initdb", "-D", self.data, "-A", "trust", "-U", self.user, "-E", "UTF8",
                    "--no-locale", "--no-sync")
        self.start()

    def server(self, tool, *args):
        p = subprocess.run(self.as_user + [os.path.join(self.bin, tool), *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = p.stdout.decode(errors="replace")
        assert p.returncode == 0, f"{tool} failed:\n{out}\n{self.log()}"
        return out

    def log(self):
        try:
            with open(os.path.join(self.dir, "postgres.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start(self):
        self.server("pg_ctl", "-D", self.data, "-w", "-l", os.path.join(self.dir, "postgres.log"),
                    "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir}"
                    " -c fsync=off -c max_connections=50", "start")

    def stop(self):
        self.server("pg_ctl", "-D", self.data, "-w", "-m", "fast", "stop")

    def uri(self, db="postgres"):
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{db}"

    def createdb(self, name):
        self.psql(f"CREATE DATABASE {name}")
        return self.uri(name)

    def psql(self, sql, db="postgres"):
        """Run SQL; the rows as lists of strings."""
        p = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-At", "-F", "|",
                            "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", self.user, "-d", db, "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode(errors="replace")
        assert p.returncode == 0, f"psql {sql!r}:\n{out}"
        return [line.split("|") for line in out.splitlines() if line]

    def close(self):
        try:
            self.stop()
        except AssertionError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
