"""The web side's protection holds across reloads and against slow
clients (issue 20). A non-loopback listener is 0.0.0.0 (the code's rule:
only 127.0.0.0/8 and ::1 are loopback); requests go to 127.0.0.1 only."""
import signal
import socket
import time
import urllib.error
import urllib.request

from kmsdtest import Kmsd, free_port

TOKEN = "reload-token-0123456789"


def status(port, path="/api/v1/status", token=None):
    """The HTTP status, or None when nothing listens."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (ConnectionRefusedError, urllib.error.URLError) as e:
        if isinstance(e, ConnectionRefusedError) or isinstance(e.reason, ConnectionRefusedError):
            return None
        raise


def reload_with(d, text):
    before = d.log().count("configuration reloaded") + d.log().count("reload failed")
    with open(d.config, "w") as f:
        f.write(text)
    d.send(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if d.log().count("configuration reloaded") + d.log().count("reload failed") > before:
            return "reload failed" not in d.log().split("SIGHUP")[-1]
        time.sleep(0.02)
    raise AssertionError("no reload outcome:\n" + d.log())


def ports(n):
    """n distinct free ports (free_port alone may return one twice)."""
    out = []
    while len(out) < n:
        p = free_port()
        if p not in out:
            out.append(p)
    return out


def public_web(port):
    return f"store = none\nweb = yes\nweb-listen = 0.0.0.0:{port}\nweb-token = {TOKEN}\n"


def public_kmsd(avoid=()):
    """(kmsd with a token-protected web on 0.0.0.0, its web port). Tests in
    other lanes pick ports at the same moment: one taken in between is
    retried with another."""
    for _ in range(5):
        public, kms = [p for p in ports(2 + len(avoid)) if p not in avoid][:2]
        try:
            return Kmsd(config_text=public_web(public), port=kms), public
        except AssertionError as e:
            if "Address already in use" not in str(e):
                raise
    raise AssertionError("no free port pair for the web and KMS listeners")


def test_reload_to_loopback_without_token_closes_the_public_listener():
    d, public = public_kmsd()
    local = [p for p in ports(3) if p not in (public, d.port)][0]
    with d:
        assert status(public) == 401 and status(public, token=TOKEN) == 200
        assert reload_with(d, f"store = none\nweb = yes\nweb-listen = 127.0.0.1:{local}\n")
        assert status(public) is None, "the old public listener still answers"
        assert status(local) == 200  # loopback needs no token


def test_reload_turning_the_web_off_closes_its_listeners():
    d, public = public_kmsd()
    with d:
        assert status(public, token=TOKEN) == 200
        assert reload_with(d, "store = none\nweb = no\n")
        assert status(public) is None and status(public, token=TOKEN) is None
        # and on again
        assert reload_with(d, public_web(public))
        assert status(public) == 401 and status(public, token=TOKEN) == 200


def test_reload_removing_the_token_of_a_public_listener_is_refused_whole():
    d, public = public_kmsd()
    with d:
        assert not reload_with(d, f"store = none\nweb = yes\nweb-listen = 0.0.0.0:{public}\n"
                                  "hwid = 0102030405060708\n")
        assert status(public) == 401 and status(public, token=TOKEN) == 200


def test_reload_changes_the_token_with_the_listeners_in_place():
    d, public = public_kmsd()
    with d:
        new = "another-token-0123456789"
        assert reload_with(d, public_web(public).replace(TOKEN, new))
        assert status(public, token=TOKEN) == 401 and status(public, token=new) == 200


def test_reload_to_an_address_that_cannot_be_bound_is_refused_whole():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        d, public = public_kmsd(avoid=(busy,))
        with d:
            assert not reload_with(d, f"store = none\nweb = yes\nweb-listen = 127.0.0.1:{busy}\n")
            assert "web-listen 127.0.0.1:" in d.log()
            assert status(public) == 401 and status(public, token=TOKEN) == 200


def slow_client(port, source):
    s = socket.socket()
    # a client port must not keep a test in another lane from listening
    # on 0.0.0.0 with the same number
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


def dribble(socks, text, i):
    """Send one more byte of text on each socket; the ones closed by the
    host are dropped from the list."""
    alive = []
    for s in socks:
        try:
            if s.recv(1) == b"":
                s.close()
                continue
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        try:
            s.send(text[i % len(text):i % len(text) + 1])
            alive.append(s)
        except OSError:
            s.close()
    return alive


def test_slow_web_clients_are_cut_at_the_deadline_and_others_served():
    port, kms = ports(2)
    with Kmsd("store=none", "web=yes", f"web-listen=127.0.0.1:{port}", "web-timeout=2s",
              port=kms) as d:
        request = b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
        # slowloris: 8 connections (the per-address cap) from each of 4 addresses
        socks = [slow_client(port, f"127.0.0.{n}") for n in range(2, 6) for _ in range(8)]
        # a ninth from one address is refused: a whole request on it gets
        # no answer, however long the host (a sanitizer build, say) takes
        # to get to it. Its close, not its timing, tells refusal from service.
        extra = slow_client(port, "127.0.0.2")
        extra.setblocking(True)
        extra.settimeout(30)
        try:
            extra.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
            assert extra.recv(1) == b"", "a ninth connection from one address was served"
        except (ConnectionResetError, BrokenPipeError):
            pass
        extra.close()
        started, served = time.monotonic(), 0
        i = 0
        while socks and time.monotonic() - started < 6:
            socks = dribble(socks, request, i)
            i += 1
            if i % 3 == 0:
                assert status(port) == 200  # a normal request is answered meanwhile
                served += 1
            time.sleep(0.1)
        took = time.monotonic() - started
        assert not socks, f"{len(socks)} slow connections outlived the deadline"
        assert took < 4.5, took  # 2 s, and the reaper's quarter-second tick
        assert served >= 3
