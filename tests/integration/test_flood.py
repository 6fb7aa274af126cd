"""Floods (issue 20): connections held from one address, from 250
addresses of one network and past max-connections, while a legitimate
client activates; colliding addresses against the rate limit; running
out of file descriptors. Everything on loopback (127.0.0.0/8)."""
import multiprocessing
import os
import resource
import selectors
import socket
import time

from kmsdtest import Kmsd, pdus, read_vector, recv_pdu, response_status

FLOOD = 10000


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n)), hard))


def bound_socket(source):
    """A client socket from `source`. SO_REUSEADDR: its port must not keep
    a test in another lane from listening on 0.0.0.0 with that number."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((source, 0))
    return s


def open_from(source, port):
    s = bound_socket(source)
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    return s


HANDSHAKE_BATCH = 256


def open_paced(port, sources, total, sel):
    """Open `total` connections round-robin over `sources` into `sel`, a
    batch at a time, each batch once the kernel has completed the last
    one's handshakes. Ten thousand connects at once overflow kmsd's listen
    backlog (4096) whenever its workers are short of CPU: the kernel then
    drops SYNs, the legitimate client's among them, and retries them 1, 3
    and 7 s later. That is a SYN flood, which the kernel answers; the
    floods here are of connections held, which kmsd's fair share answers."""
    for start in range(0, total, HANDSHAKE_BATCH):
        pending = selectors.DefaultSelector()
        for i in range(start, min(total, start + HANDSHAKE_BATCH)):
            src = sources[i % len(sources)]
            try:
                pending.register(open_from(src, port), selectors.EVENT_WRITE, src)
            except OSError:
                pass
        deadline = time.monotonic() + 10
        while pending.get_map() and time.monotonic() < deadline:
            for key, _ in pending.select(0.1):
                pending.unregister(key.fileobj)
                sel.register(key.fileobj, selectors.EVENT_READ, key.data)
        for key in list(pending.get_map().values()):
            pending.unregister(key.fileobj)
            sel.register(key.fileobj, selectors.EVENT_READ, key.data)
        pending.close()


def hold(port, sources, total, ready, stop):
    """Open `total` connections round-robin over `sources` and keep them
    open; reopen the ones the host closes (at most ~2,000/s) until `stop`."""
    raise_fd_limit(total + 1000)
    sel = selectors.DefaultSelector()
    open_paced(port, sources, total, sel)
    ready.set()
    again = []
    while not stop.is_set():
        for key, _ in sel.select(0.05):
            try:
                gone = key.fileobj.recv(64) == b""
            except OSError:
                gone = True
            if gone:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                again.append(key.data)
        for src in again[:100]:
            try:
                sel.register(open_from(src, port), selectors.EVENT_READ, src)
            except OSError:
                pass
        del again[:100]
    for key in list(sel.get_map().values()):
        key.fileobj.close()


def activate(port, source="127.0.0.1"):
    """One whole client visit on a new connection: seconds it took."""
    parts = pdus(read_vector("vlmcsd-win10-ent-v6-ndr32.c2s.bin"))
    start = time.monotonic()
    s = bound_socket(source)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    for p in parts[:-1]:
        s.sendall(p)
        assert recv_pdu(s)[2] in (12, 15), "no bind_ack"
    s.sendall(parts[-1])
    answer = recv_pdu(s)
    s.close()
    assert answer and response_status(answer) == 0, answer
    return time.monotonic() - start


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def legitimate_client_under(d, sources, total=FLOOD):
    """Run the flood, activate 50 times from 127.0.0.1 meanwhile; returns
    the latencies and kmsd's open descriptors during the flood."""
    ctx = multiprocessing.get_context("fork")
    ready, stop = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=hold, args=(d.port, sources, total, ready, stop))
    holder.start()
    try:
        # 10,000 paced handshakes: seconds on a quiet machine, more beside
        # the other lanes' tests on 2 cores
        assert ready.wait(90), "the flood did not start"
        time.sleep(0.3)
        held = open_descriptors(d.proc.pid)
        latencies = sorted(activate(d.port) for _ in range(50))
    finally:
        stop.set()
        holder.join(30)
    return latencies, held


def check_latency(latencies):
    p99 = latencies[int(len(latencies) * 0.99)]
    assert p99 < 0.1, f"p99 {p99 * 1000:.1f} ms: {latencies}"


def test_flood_from_one_address_leaves_room_for_others():
    with Kmsd(flood_limits=True) as d:
        latencies, held = legitimate_client_under(d, ["127.0.0.2"])
        check_latency(latencies)
        # the address got at most its 64 (and the first second's burst)
        assert held < 200, held
        d.wait_log("refused connection from 127.0.0.2")


def test_flood_from_250_addresses_of_one_network_leaves_room_for_others():
    sources = [f"127.0.0.{i}" for i in range(2, 252)]
    with Kmsd(flood_limits=True) as d:
        # the legitimate client is in the flooded /24: it gets in by
        # evicting a connection of an address holding more
        latencies, held = legitimate_client_under(d, sources)
        check_latency(latencies)
        assert held < 1024 + 200, held
        d.wait_log("max-connections-per-prefix (1024) reached")


# A worker that cannot place a newcomer hands it to the busiest worker's
# queue (HANDED_MAX in src/server/worker.c), where it is open but not yet
# counted: a slow host (a sanitizer build beside other tests) fills them.
HANDED_MAX = 64


def test_full_host_evicts_the_heaviest_address_for_a_newcomer():
    sources = [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(250)]
    with Kmsd("max-connections=2000", "max-connections-per-prefix=0", "threads=2",
              flood_limits=True) as d:
        idle = open_descriptors(d.proc.pid)
        latencies, held = legitimate_client_under(d, sources)
        check_latency(latencies)
        # the cap, both hand-over queues, and a connection being decided
        # in each worker plus the legitimate client's
        assert held - idle <= 2000 + 2 * HANDED_MAX + 3, (held, idle)
        d.wait_log("max-connections (2000) reached")


def old_slot(address):
    """The slot the old limiter's unkeyed FNV-1a gave an IPv4 address."""
    h = 2166136261
    for b in socket.inet_aton(address):
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h % 8192


def test_colliding_addresses_cannot_pass_the_rate_limit():
    first, want = "127.0.0.1", old_slot("127.0.0.1")
    other = next(a for a in (f"127.0.{n >> 8}.{n & 255}" for n in range(2, 65536))
                 if a != first and old_slot(a) == want)
    bind = pdus(read_vector("vlmcsd-win7-ent-v4.c2s.bin"))[0]
    with Kmsd("rate-limit=10", flood_limits=True) as d:
        start, got = time.monotonic(), 0
        for i in range(100):
            s = bound_socket(first if i % 2 else other)
            s.settimeout(2)
            s.connect(("127.0.0.1", d.port))
            try:
                s.sendall(bind)
                got += recv_pdu(s) != b""
            except OSError:
                pass
            s.close()
        elapsed = time.monotonic() - start
        # two bursts of 10 and what the elapsed time refills, never all 100
        assert got <= 20 + 20 * elapsed + 2, (got, elapsed)
        d.wait_log("rate limit")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_descriptors_pauses_accepting_without_spinning():
    raise_fd_limit(2000)
    with Kmsd("max-connections=100000", wrapper=("prlimit", "--nofile=64:64", "--")) as d:
        socks = []
        for _ in range(300):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", d.port))
            socks.append(s)
        d.wait_log("Too many open files")
        time.sleep(0.5)
        before, t0 = cpu_seconds(d.proc.pid), time.monotonic()
        time.sleep(3)
        used, wall = cpu_seconds(d.proc.pid) - before, time.monotonic() - t0
        # a spinning worker would burn a core (3 s); paused ones sleep
        assert used < 0.3 * wall, f"kmsd used {used:.2f} s of CPU in {wall:.1f} s"
        lines = [l for l in d.log().splitlines() if "cannot accept" in l]
        assert 1 <= len(lines) <= 2 * 10, lines  # throttled: 10 lines per 10 s
        for s in socks:
            s.close()
        # the backlog of closed clients drains once descriptors are free
        deadline = time.monotonic() + 5
        while open_descriptors(d.proc.pid) > 32 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert activate(d.port) < 0.5


def test_a_flood_of_bad_pdus_writes_a_bounded_log():
    with Kmsd() as d:
        for _ in range(500):
            s = socket.create_connection(("127.0.0.1", d.port))
            s.sendall(b"GET / HTTP/1.1\r\n\r\n")
            s.close()
        time.sleep(0.5)
        activate(d.port)
        lines = [l for l in d.log().splitlines() if "rejected PDU" in l]
        assert 1 <= len(lines) <= 10, len(lines)  # 10 per kind per 10 s


def test_clients_that_never_read_write_a_bounded_log():
    parts = pdus(read_vector("vlmcsd-win10-ent-v6-ndr32.c2s.bin"))
    stream = parts[0] + parts[-1] * 20000
    with Kmsd("max-requests-per-connection=0") as d:
        socks = []
        for _ in range(30):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", d.port))
            s.setblocking(False)
            socks.append(s)
        sent = [0] * len(socks)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for i, s in enumerate(socks):
                try:
                    sent[i] += s.send(stream[sent[i]:sent[i] + 65536])
                except OSError:
                    pass
            time.sleep(0.01)
        lines = d.log().splitlines()
        warnings = [l for l in lines if " warning: " in l]
        assert any("does not read its answers" in l for l in warnings), lines[-5:]
        assert len(warnings) <= 20, warnings  # 10 per kind per 10 s
        # each connection is answered until its small kernel buffer is
        # full, not megabytes of answers (and their log lines): ~100 each
        activated = sum(" activated " in l for l in lines)
        assert activated < 30 * 500, activated
        for s in socks:
            s.close()
        activate(d.port)
