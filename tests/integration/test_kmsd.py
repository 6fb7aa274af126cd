"""The daemon on loopback: recorded conversations, stream handling,
malformed input, signals and privilege drop (issue 3)."""
import os
import signal
import socket
import struct
import time

from kmsdtest import (skip, Kmsd, VECTORS, connect, fault_status, free_port, is_closed, pdus, read_vector,
                      recv_pdu, replay, response_status, run, vector_names, BIN)


def request_pdu(vector):
    """The client's PDUs of a vector: (the ones before the request, the request)."""
    parts = pdus(read_vector(vector + ".c2s.bin"))
    return parts[:-1], bytearray(parts[-1])


def exchange(port, setup, request):
    """Send the setup PDUs, read their answers, send request, return the answer."""
    s = connect(port)
    for p in setup:
        s.sendall(p)
        assert recv_pdu(s)[2] in (12, 15)
    s.sendall(bytes(request))
    return s, recv_pdu(s)


def test_replay_every_vector():
    with Kmsd() as d:
        for name in vector_names():
            rc, out = replay(d.port, name)
            assert rc == 0, f"{name}: {out}"
            assert "answer 1: ok" in out, out


def test_replay_with_ndr64_and_btfn_off():
    with Kmsd("ndr64=no", "btfn=no") as d:
        for name in vector_names():
            rc, out = replay(d.port, name, "--no-ndr64", "--no-btfn")
            assert rc == 0, f"{name}: {out}"


def test_ipv6_and_ipv4_listeners():
    port6 = free_port(socket.AF_INET6)
    port4 = free_port()
    with Kmsd(listen=[f"[::1]:{port6}", f"127.0.0.1:{port4}"]) as d:
        rc, out = replay(port6, "vlmcsd-win10-ent-v6-ndr64", host="::1")
        assert rc == 0, out
        rc, out = replay(port4, "vlmcsd-win7-ent-v4")
        assert rc == 0, out


def test_hundred_requests_on_one_connection():
    with Kmsd() as d:
        rc, out = replay(d.port, "vlmcsd-win10-ent-v6-ndr32", "--repeat", "100")
        assert rc == 0, out
        assert "answer 100: ok" in out


def test_split_byte_by_byte_and_pipelined():
    with Kmsd() as d:
        rc, out = replay(d.port, "vlmcsd-office2016-pp-v6-ndr64", "--chunk", "1")
        assert rc == 0, out
        # the whole stream, bind and several requests, in one write
        rc, out = replay(d.port, "vlmcsd-win8-pro-v5", "--repeat", "5")
        assert rc == 0, out
        rc, out = replay(d.port, "pykms-win7-ent-v4", "--chunk", "7", "--repeat", "3")
        assert rc == 0, out


def test_activation_log_line():
    with Kmsd() as d:
        rc, out = replay(d.port, "vlmcsd-win10-ent-v6-ndr32")
        assert rc == 0, out
        d.wait_log('activated 127.0.0.1:')
        line = [l for l in d.log().splitlines() if "activated" in l][0]
        assert 'workstation="mail.amazon.info"' in line, line
        assert 'product="Windows 10/11 Enterprise"' in line, line
        assert "v6.0" in line and "count=50/25" in line, line


def still_serves(d):
    rc, out = replay(d.port, "vlmcsd-win81-pro-v6")
    assert rc == 0, "daemon stopped serving after bad input: " + out


def test_garbage_closes_connection_with_log():
    with Kmsd() as d:
        s = connect(d.port)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert is_closed(s)
        d.wait_log("rejected PDU from 127.0.0.1")
        still_serves(d)


def test_wrong_rpc_version_and_huge_frag_length():
    with Kmsd() as d:
        bind = bytearray(pdus(read_vector("vlmcsd-win7-ent-v4.c2s.bin"))[0])
        bind[0] = 4
        s = connect(d.port)
        s.sendall(bind)
        nak = recv_pdu(s)  # bind_nak, protocol version not supported
        assert nak[2] == 13 and struct.unpack_from("<H", nak, 16)[0] == 4
        assert is_closed(s)
        d.wait_log("rpc_vers")

        bind[0] = 5
        struct.pack_into("<H", bind, 8, 60000)
        s = connect(d.port)
        s.sendall(bind)
        assert is_closed(s)
        d.wait_log("frag_length")
        still_serves(d)


def test_unknown_context_and_opnum_get_faults():
    with Kmsd() as d:
        # (vlmcs's bind offers NDR64 too, which our host takes: its request
        # on the rejected NDR32 context would be faulted; py-kms offers NDR32)
        setup, req = request_pdu("pykms-win7-ent-v4")
        bad = bytearray(req)
        struct.pack_into("<H", bad, 20, 7)
        s, answer = exchange(d.port, setup, bad)
        assert fault_status(answer) == 0x1C010003
        d.wait_log("unknown context")
        # the connection stays usable after a fault
        s.sendall(bytes(req))
        assert response_status(recv_pdu(s)) == 0

        bad = bytearray(req)
        struct.pack_into("<H", bad, 22, 5)
        s, answer = exchange(d.port, setup, bad)
        assert fault_status(answer) == 0x1C010002
        d.wait_log("unknown operation")
        still_serves(d)


def test_truncated_request_gets_fault():
    with Kmsd() as d:
        setup, req = request_pdu("vlmcsd-win10-ent-v6-ndr32")
        cut = bytearray(req[:-40])
        struct.pack_into("<H", cut, 8, len(cut))
        s, answer = exchange(d.port, setup, cut)
        assert fault_status(answer) == 0x000006F7
        d.wait_log("bad stub data")
        still_serves(d)


def refused_with(d, vector, mutate):
    setup, req = request_pdu(vector)
    mutate(req)
    s, answer = exchange(d.port, setup, req)
    return response_status(answer)


def test_bad_kms_messages_get_invalid_data():
    with Kmsd() as d:
        # the KMS message starts after the header, request fields and NDR32 stub
        def wrong_version(r):
            struct.pack_into("<H", r, 32 + 2, 7)

        def bad_mac(r):
            r[-1] ^= 0x55

        def bad_padding(r):
            r[-20] ^= 0x55   # garbles the last cipher block, which holds the padding

        assert refused_with(d, "vlmcsd-win10-ent-v6-ndr32", wrong_version) == 0x8007000D
        d.wait_log("unsupported protocol version")
        assert refused_with(d, "pykms-win7-ent-v4", bad_mac) == 0x8007000D
        d.wait_log("V4 MAC does not match")
        assert refused_with(d, "vlmcsd-win10-ent-v6-ndr32", bad_padding) == 0x8007000D
        d.wait_log("bad padding")
        still_serves(d)


def test_product_policy_refuses_unlisted_group():
    with Kmsd("serve=Office 2019") as d:
        setup, req = request_pdu("vlmcsd-win10-ent-v6-ndr32")
        s, answer = exchange(d.port, setup, req)
        assert response_status(answer) == 0xC004F042
        d.wait_log("not in the served products")
        rc, out = replay(d.port, "vlmcsd-office2019-pp-v6-ndr32")
        assert rc == 0, out


def test_sigterm_and_sigint_stop_cleanly():
    for sig in (signal.SIGTERM, signal.SIGINT):
        d = Kmsd()
        s = connect(d.port)
        d.send(sig)
        d.proc.wait(10)
        assert d.proc.returncode == 0, d.log()
        assert "stopped" in d.log()
        d.stop()


def test_sighup_reloads_listen_and_settings_without_dropping_clients():
    port = free_port()
    d = Kmsd(listen=(), port=port, config_text=f"listen = 127.0.0.1:{port}\n")
    try:
        new_port = free_port()
        with open(d.config, "w") as f:
            f.write(f"listen = 127.0.0.1:{d.port}\nlisten = 127.0.0.1:{new_port}\ncount = real\n")
        # a client mid-conversation before the reload
        setup, req = request_pdu("pykms-win7-ent-v4")
        s, answer = exchange(d.port, setup, req)
        assert response_status(answer) == 0
        d.send(signal.SIGHUP)
        d.wait_log("configuration reloaded")
        s.sendall(bytes(req))
        assert response_status(recv_pdu(s)) == 0, "client dropped by reload"
        rc, out = replay(new_port, "vlmcsd-win10-ent-v6-ndr32")
        assert rc == 0, out
        # count = real now: since the reload the Windows pool has seen the
        # Windows 7 client above, the Windows 10 one and now a Windows 8.1 one
        rc, out = replay(new_port, "vlmcsd-win81-pro-v6")
        assert "count=3" in out, out
    finally:
        d.stop()


def test_sighup_with_bad_config_keeps_running():
    with Kmsd() as d:
        with open(d.config, "w") as f:
            f.write("idle-timeout = soon\n")
        d.send(signal.SIGHUP)
        d.wait_log("reload failed")
        still_serves(d)


def test_check_config_reports_file_and_line():
    with Kmsd() as d:
        bad = os.path.join(d.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write("# comment\ncount = sometimes\n")
        rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", bad)
        assert rc != 0
        assert "bad.conf:2" in out, out
        rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", d.config, "-o", "allow-root=yes")
        assert rc == 0, out


def test_idle_connections_are_closed():
    with Kmsd("idle-timeout=1") as d:
        s = connect(d.port)
        time.sleep(2.5)
        assert is_closed(s, timeout=3)


def test_max_connections_refused_cleanly():
    with Kmsd("max-connections=3") as d:
        held = [connect(d.port) for _ in range(3)]
        time.sleep(0.2)
        extra = connect(d.port)
        assert is_closed(extra)
        d.wait_log("max-connections")
        for s in held:
            s.close()
        time.sleep(0.2)
        still_serves(d)


def test_refuses_to_run_as_root_without_user():
    if os.geteuid() != 0:
        skip("needs root")
    port = free_port()
    rc, out = run(os.path.join(BIN, "kmsd"), "-f", "-c", "/dev/null", "-l", f"127.0.0.1:{port}",
                  "-o", "store=none", timeout=10)
    assert rc != 0 and "root" in out, out


def test_privilege_drop_to_configured_user():
    if os.geteuid() != 0:
        skip("needs root")
    with Kmsd("user=nobody") as d:
        with open(f"/proc/{d.proc.pid}/status") as f:
            uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
        nobody = int(run("id", "-u", "nobody")[1])
        assert all(int(u) == nobody for u in uids), uids
        still_serves(d)


def test_a_failed_start_releases_what_it_opened():
    """A start that fails after the listeners, the store and the log are
    open (here: the pidfile's directory is missing) exits 1 naming the
    reason, and releases everything: under ASan (make SAN=1) LeakSanitizer
    would report the listeners and the store's allocations otherwise."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([os.path.join(BIN, "kmsd"), "-f", "-c", "/dev/null", "-o",
                            f"store=sqlite:{tmp}/clients.db", "-o", "allow-root=yes", "-l",
                            f"127.0.0.1:{free_port()}", "-o", f"pidfile={tmp}/no/kmsd.pid"],
                           capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    assert "cannot write pidfile" in p.stderr, p.stderr
    assert "LeakSanitizer" not in p.stderr and "leaked" not in p.stderr, p.stderr
