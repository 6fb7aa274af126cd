"""Truthful, unforgeable log lines (issue 15): a workstation name is
escaped in every log output and in kmsc's tables, a below-threshold answer
is logged as such, a refusal names the group and the setting."""
import os
import signal
import socket
import subprocess
import tempfile
import threading

from kmsdtest import Kmsd, kmsc

# a newline that would start a forged line, a carriage return, a terminal
# escape and a quote that would close the field
EVIL = 'pc\nFAKE activated 10.0.0.1\r\x1b[2J"x'
ESCAPED = 'workstation="pc\\nFAKE activated 10.0.0.1\\r\\x1B[2J\\"x"'


class QuietKmsd(Kmsd):
    """A kmsd logging elsewhere than its file: ready once it accepts."""

    def accepting(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False


def one_escaped_line(text):
    lines = [line for line in text.splitlines() if "FAKE" in line]
    assert len(lines) == 1, text
    assert ESCAPED in lines[0], lines[0]
    assert "\x1b" not in text and "\r" not in text, repr(text)


def probe(d, *extra):
    return kmsc("activate", "--workstation", EVIL, *extra, f"127.0.0.1:{d.port}")


def test_workstation_is_escaped_in_the_log_file_and_below_threshold_is_said():
    with Kmsd("count=real") as d:
        rc, out = probe(d)
        assert rc == 5, out  # valid, below the threshold
        d.wait_log("FAKE")
        one_escaped_line(d.log())
        assert "answered 127.0.0.1:" in d.log() and "below threshold count=1/25" in d.log()


def test_workstation_is_escaped_on_stderr():
    d = QuietKmsd("log=stderr", "count=real")
    try:
        probe(d)
        d.proc.send_signal(signal.SIGTERM)
        d.proc.wait(30)
        out = d.proc.stdout.read().decode(errors="replace")
    finally:
        d.stop()
    one_escaped_line(out)


def test_workstation_is_escaped_in_syslog():
    """kmsd in a mount namespace whose /dev/log is our datagram socket."""
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "log")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    got = []
    stop = threading.Event()

    def collect():
        while not stop.is_set():
            try:
                got.append(sock.recv(65536).decode(errors="replace"))
            except socket.timeout:
                pass

    reader = threading.Thread(target=collect)
    reader.start()
    wrapper = ["unshare", "-m", "sh", "-c",
               f'mount -t tmpfs tmpfs /dev && ln -s {path} /dev/log && exec "$@"', "sh"]
    try:
        with QuietKmsd("log=syslog", "log-level=info", wrapper=wrapper) as d:
            probe(d)
            for _ in range(50):
                if any("FAKE" in g for g in got):
                    break
                stop.wait(0.1)
    finally:
        stop.set()
        reader.join()
        sock.close()
    # each datagram is one message: exactly one carries the name, escaped
    messages = [g for g in got if "FAKE" in g]
    assert len(messages) == 1, got
    assert ESCAPED in messages[0] and "\n" not in messages[0].rstrip("\n"), messages


def test_kmsc_clients_table_is_safe():
    db = os.path.join(tempfile.mkdtemp(), "clients.db")
    with Kmsd(f"store=sqlite:{db}") as d:
        rc, out = probe(d)
        assert rc == 0, out
    rc, out = kmsc("clients", "--db", f"sqlite:{db}")
    assert rc == 0, out
    assert "\x1b" not in out and "\r" not in out, repr(out)
    assert len(out.splitlines()) == 3, out  # heading, the client, the total
    assert 'pc\\nFAKE' in out, out


def test_refusal_names_the_group_and_the_setting():
    with Kmsd("serve=Office 2019") as d:
        rc, out = kmsc("activate", "-p", "Windows Server 2019 Datacenter", f"127.0.0.1:{d.port}")
        assert rc == 3, out
        d.wait_log("refused")
        line = [l for l in d.log().splitlines() if "refused" in l][0]
        assert 'group="Windows Server 2019"' in line or 'group="Windows Server 2019 ' in line, line
        assert "(serve lines)" in line, line


def test_kmsc_flags_intervals_outside_microsofts_range():
    from test_kmsc import BadHost
    with BadHost("intervals") as h:
        rc, out = kmsc("activate", f"127.0.0.1:{h.port}")
    assert rc == 0, out  # a client accepts them...
    assert "activation interval outside Microsoft's range" in out, out  # ...kmsc says so
    assert "renewal interval outside Microsoft's range" in out, out
