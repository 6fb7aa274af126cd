"""Helpers for integration tests: start and stop a real kmsd, talk raw
DCE/RPC to it, run kmsc and the replay tool."""
import os
import random
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import tempfile
import time

BIN = os.environ.get("KMSD_BIN", os.path.join(os.path.dirname(__file__), "../../build"))
VECTORS = os.environ.get("KMSD_VECTORS", os.path.join(os.path.dirname(__file__), "../vectors"))



class Skip(Exception):
    """A test that cannot run on this machine raises this: run.py reports it
    as skipped, never as passed."""


def skip(why):
    raise Skip(why)


def vector_names():
    return sorted(n[:-8] for n in os.listdir(VECTORS) if n.endswith(".c2s.bin") and not n.startswith("windows10-real"))


def read_vector(name):
    with open(os.path.join(VECTORS, name), "rb") as f:
        return f.read()


def _local_port_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port(family=socket.AF_INET):
    """A port free now, chosen at random below the kernel's range for
    outgoing connections: test files run in parallel and open thousands of
    client connections, whose source ports would otherwise take the port
    between this choice and the daemon's bind."""
    low, _ = _local_port_range()
    top = low if low > 12000 else 60999
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    for _ in range(200):
        port = random.randrange(10000, top)
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10, step=0.05):
    """Poll predicate until it is true (True) or timeout seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def recount_hours(con):
    """Rebuild a SQLite store's hourly counters from its rows, as kmsd's
    writer would have kept them: for rows written behind its back."""
    con.execute("DELETE FROM client_hours")
    con.execute("INSERT INTO client_hours SELECT app_id, ifnull(kms_id, x''), last_seen / 3600,"
                " count(*) FROM clients WHERE last_result = 0 GROUP BY 1, 2, 3")


def take_write_lock(db, timeout=60):
    """A connection holding the database's write lock. Tried every few ms:
    Python's busy handler sleeps up to 100 ms between tries, and a writer
    that is behind (ThreadSanitizer's) leaves gaps of a few ms between its
    batches, which such sleeps can miss for ten seconds and more."""
    con = sqlite3.connect(db, isolation_level=None, timeout=0)
    deadline = time.monotonic() + timeout
    while True:
        try:
            con.execute("BEGIN IMMEDIATE")
            return con
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.002)


def wait_output(proc, text, timeout=120):
    """Read a process's stdout (a pipe) until text appears; what it printed."""
    deadline = time.monotonic() + timeout
    seen = b""
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        chunk = proc.stdout.read()
        if chunk:
            seen += chunk
            if text.encode() in seen:
                return seen.decode(errors="replace")
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not seen:\n{seen.decode(errors='replace')[-4000:]}")


class Kmsd:
    """A kmsd process on loopback with its own temp dir and config."""

    def __init__(self, *options, listen=None, config_text=None, env=None, threads=2, port=None,
                 wrapper=(), flood_limits=False):
        """listen=None: one -l on a free port; listen=(): none on the command
        line (the config text says where). wrapper: a command kmsd runs
        under (it must end by exec'ing its arguments). flood_limits=False
        turns off the per-address limits (rate-limit, max-connections-per-
        address/-prefix), which every test talking from 127.0.0.1 at load
        would meet; options given still override that."""
        self.dir = tempfile.mkdtemp(prefix="kmsd-test-")
        self.auto_port = port is None and listen is None
        self.port = port or free_port()
        self.log_path = os.path.join(self.dir, "kmsd.log")
        self.listen = [f"127.0.0.1:{self.port}"] if listen is None else list(listen)
        self.config = os.path.join(self.dir, "kmsd.conf")
        with open(self.config, "w") as f:
            f.write(config_text if config_text is not None else "")
        args = [os.path.join(BIN, "kmsd"), "-f", "-c", self.config,
                "-o", f"log=file:{self.log_path}", "-o", "log-level=debug",
                "-o", "store=none", "-o", f"threads={threads}", "-o", "allow-root=yes"]
        if not flood_limits:
            args += ["-o", "rate-limit=0", "-o", "max-connections-per-address=0",
                     "-o", "max-connections-per-prefix=0"]
        for l in self.listen:
            args += ["-l", l]
        for o in options:
            args += ["-o", o]
        if os.environ.get("KMSD_VALGRIND"):
            # memcheck: any invalid access or leak makes kmsd exit 99
            args = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
                    "--errors-for-leak-kinds=definite,indirect", "--track-fds=no"] + args
        self.args = list(wrapper) + args
        for attempt in range(3):
            self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT,
                                         env=dict(os.environ, **(env or {})))
            try:
                self.wait_ready()
                return
            except AssertionError:
                # another test's process took the port we chose: choose again
                if not (self.auto_port and attempt < 2 and "Address already in use" in self.log()):
                    raise
            old = f"127.0.0.1:{self.port}"
            self.port = free_port()
            self.listen = [f"127.0.0.1:{self.port}"]
            self.args = [f"127.0.0.1:{self.port}" if a == old else a for a in self.args]
            open(self.log_path, "w").close()

    def wait_ready(self, timeout=30 if os.environ.get("KMSD_VALGRIND") else 10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace")
                raise AssertionError(f"kmsd exited with {self.proc.returncode}: {out}\n{self.log()}")
            if "ready" in self.log() or (self.listen and self.accepting()):
                return
            time.sleep(0.02)
        raise AssertionError("kmsd did not become ready:\n" + self.log())

    def accepting(self):
        """True once the first listen address takes connections (for
        log levels that do not show the ready line)."""
        if "log-level=warning" not in self.args and "log-level=error" not in self.args:
            return False
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            time.sleep(0.02)
        raise AssertionError(f"log line {text!r} not seen:\n{self.log()}")

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("kmsd did not stop:\n" + self.log())
        shutil.rmtree(self.dir, ignore_errors=True)
        out = self.proc.stdout.read().decode(errors="replace")
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert marker not in out, f"sanitizer report from kmsd:\n{out}"
        if sig == signal.SIGTERM:
            assert self.proc.returncode == 0, f"kmsd exited {self.proc.returncode}:\n{out}"
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def connect(port, host="127.0.0.1", timeout=5):
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    return s


def recv_pdu(sock):
    """One whole PDU, or b"" if the host closed the connection."""
    head = b""
    while len(head) < 16:
        chunk = sock.recv(16 - len(head))
        if not chunk:
            return b""
        head += chunk
    frag = struct.unpack_from("<H", head, 8)[0]
    body = b""
    while len(body) < frag - 16:
        chunk = sock.recv(frag - 16 - len(body))
        if not chunk:
            return b""
        body += chunk
    return head + body


def pdus(data):
    """Split a byte stream into PDUs by frag_length."""
    out = []
    while len(data) >= 16:
        n = struct.unpack_from("<H", data, 8)[0]
        out.append(data[:n])
        data = data[n:]
    return out


def is_closed(sock, timeout=2):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def fault_status(pdu):
    assert pdu[2] == 3, f"expected a fault PDU, got type {pdu[2]}"
    return struct.unpack_from("<I", pdu, 24)[0]


def response_status(pdu):
    """The return code of a response PDU (NDR32 stub)."""
    assert pdu[2] == 2, f"expected a response PDU, got type {pdu[2]}"
    stub = pdu[24:]
    length = struct.unpack_from("<I", stub, 0)[0]
    if length == 0:
        return struct.unpack_from("<I", stub, 8)[0]
    return struct.unpack_from("<I", stub, 12 + length)[0]


def run(*args, timeout=60, check=False):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    out = p.stdout.decode(errors="replace")
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}:\n{out}")
    return p.returncode, out


def replay(port, vector, *options, host="127.0.0.1"):
    return run(os.path.join(BIN, "kms-replay"), *options, host, str(port),
               os.path.join(VECTORS, vector + ".c2s.bin"))


def kmsc(*args, timeout=60):
    return run(os.path.join(BIN, "kmsc"), *args, timeout=timeout)
