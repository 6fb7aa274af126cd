"""kmsc against the real kmsd, against hosts that get one field wrong, and
DNS SRV discovery with a real DNS server on loopback (issue 4)."""
import json
import os
import shutil
import subprocess
import time

from kmsdtest import BIN, Kmsd, free_port, kmsc, run


def test_every_version_syntax_and_btfn_combination_is_valid():
    with Kmsd() as d:
        for version in ("-4", "-5", "-6"):
            for syntax in ("--ndr32", "--ndr64"):
                for btfn in ([], ["--no-btfn"]):
                    rc, out = kmsc("activate", version, syntax, *btfn, "--json",
                                   f"127.0.0.1:{d.port}")
                    assert rc == 0, (version, syntax, btfn, out)
                    result = json.loads(out)
                    assert result["valid"] and result["activated"], out
                    assert result["protocol"] == version[1] + ".0"
                    assert result["transfer_syntax"] == syntax[2:].upper(), out
                    assert all(result["checks"].values()), out


def test_text_output_lists_fields_and_checks():
    with Kmsd() as d:
        rc, out = kmsc("activate", "-p", "Office Professional Plus 2019", "--workstation",
                       "ws-17", "--cmid", "11111111-2222-4333-8444-555555555555", "-n", "3",
                       f"127.0.0.1:{d.port}")
        assert rc == 0, out
        for text in ("Office Professional Plus 2019", "ws-17", "ePID", "HwId",
                     "11111111-2222-4333-8444-555555555555", "  check hmac ........... pass",
                     "Verdict: valid, activated (count 10 >= 5)", "Request 3"):
            assert text in out, (text, out)


def test_count_below_policy_is_reported():
    with Kmsd("count=real") as d:
        rc, out = kmsc("activate", f"127.0.0.1:{d.port}")
        assert rc == 5, out  # the answer is valid, with its own exit status...
        assert "count 1 is below the N policy 25" in out, out  # ...but would not activate
        assert "answered 127.0.0.1:" in d.log() and "below threshold count=1/25" in d.log()
        assert "activated 127.0.0.1:" not in d.log()


def test_refusal_and_usage_exit_codes():
    with Kmsd("serve=Office 2019") as d:
        rc, out = kmsc("activate", f"127.0.0.1:{d.port}")
        assert rc == 3 and "0xC004F042" in out, out
    rc, out = kmsc("activate", "--bogus")
    assert rc == 2
    rc, out = kmsc("activate", "-p", "Windows", "127.0.0.1:1")
    assert rc == 2 and "matches" in out, out
    rc, out = kmsc("activate", f"127.0.0.1:{free_port()}", "--timeout", "2")
    assert rc == 4 and "cannot connect" in out, out
    rc, out = kmsc("activate", "--json", f"127.0.0.1:{free_port()}", "--timeout", "2")
    result = json.loads(out.splitlines()[-1])
    assert rc == 4 and result["outcome"] == "network-error" and not result["valid"], out
    rc, out = kmsc("frobnicate")
    assert rc == 2
    for bad in (["-n", "0"], ["-n", "3x"], ["--timeout", "soon"], ["--cmid", "not-a-guid"],
                ["--time", "yesterday"], ["--n-policy", "-1"], ["--workstation", "w" * 64],
                ["-p", "no such product"], ["host:port"], ["a", "b"]):
        rc, out = kmsc("activate", *bad)
        assert rc == 2, (bad, out)
    for bad in (["-c", "many", "127.0.0.1:1"], ["-d", "0", "127.0.0.1:1"], ["-N", "10"],
                ["-N", "-5", "127.0.0.1:1"]):
        rc, out = kmsc("bench", *bad)
        assert rc == 2, (bad, out)


class BadHost:
    def __init__(self, fault):
        self.port = free_port()
        self.proc = subprocess.Popen([os.path.join(BIN, "kms-badhost"), str(self.port), fault],
                                     stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == b"ready"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def failed_checks(version, fault):
    with BadHost(fault) as h:
        rc, out = kmsc("activate", version, "--json", f"127.0.0.1:{h.port}")
    result = json.loads(out.splitlines()[-1])
    return rc, {k for k, ok in result.get("checks", {}).items() if not ok}, out


def test_a_correct_fixture_host_passes():
    for version in ("-4", "-5", "-6"):
        rc, failed, out = failed_checks(version, "none")
        assert rc == 0 and not failed, out


def test_each_broken_field_fails_its_check():
    cases = {
        "-4": ["version", "epid", "cmid", "time", "mac", "size"],
        "-5": ["version", "epid", "cmid", "time", "padding", "iv", "hash", "size"],
        "-6": ["version", "epid", "cmid", "time", "padding", "iv", "hash", "xored-ivs", "hmac",
               "size"],
    }
    for version, faults in cases.items():
        for fault in faults:
            rc, failed, out = failed_checks(version, fault)
            assert rc == 1, (version, fault, out)
            assert fault in failed, (version, fault, failed, out)


def test_refusing_and_faulting_hosts():
    rc, failed, out = failed_checks("-6", "refuse")
    assert rc == 3 and "0xC004F042" in out, out
    rc, failed, out = failed_checks("-6", "fault")
    assert rc == 3 and "0x1C010003" in out, out


def test_gvlk_for_windows_server_and_office():
    rc, out = kmsc("gvlk", "Windows 10/11 Enterprise", "--host", "kms.corp.example:1688")
    assert rc == 0, out
    assert "slmgr /ipk NPPR9-FWDCX-D2C8J-H872K-2YT43" in out
    assert "slmgr /skms kms.corp.example:1688" in out and "slmgr /ato" in out
    rc, out = kmsc("gvlk", "Windows Server 2019 Datacenter")
    assert rc == 0 and "slmgr /ipk WMDGN-G9PQG-XVVXX-R3X43-63DFG" in out, out
    rc, out = kmsc("gvlk", "Office Professional Plus 2016", "--host", "kms.corp.example:1700")
    assert rc == 0, out
    base = 'cscript "C:\\Program Files\\Microsoft Office\\Office16\\ospp.vbs"'
    for line in ("/inpkey:XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99", "/sethst:kms.corp.example",
                 "/setprt:1700", "/act"):
        assert f"{base} {line}" in out, (line, out)
    rc, out = kmsc("gvlk", "Office Professional Plus 2010")
    assert rc == 0 and "Office14\\ospp.vbs\" /inpkey:VYBBJ-TRJPB-QFQRF-QFT4D-H3GVB" in out, out
    rc, out = kmsc("gvlk", "Office Professional Plus 2013")
    assert rc == 0 and "Office15" in out, out


def test_products_listing():
    rc, out = kmsc("products", "--json", "Server 2022")
    assert rc == 0, out
    rows = json.loads(out)
    assert rows and all("2022" in r["name"] or "2022" in r["kms_group"] for r in rows)
    assert {r["n_policy"] for r in rows} == {5}
    rc, out = kmsc("products")
    assert rc == 0 and "Windows 7 Enterprise" in out
    number = [l for l in out.splitlines() if "Windows 7 Enterprise " in l][0].split()[0]
    with Kmsd() as d:
        rc, out = kmsc("activate", "-p", number, f"127.0.0.1:{d.port}")
        assert rc == 0 and "KMS V4.0" in out, out  # Windows 7 speaks V4 by default


def test_srv_record_line():
    rc, out = kmsc("srv-record", "--domain", "corp.example", "--ttl", "600", "--priority", "10",
                   "--weight", "20", "kms1.corp.example", "1688")
    assert rc == 0
    assert out.strip() == "_vlmcs._tcp.corp.example. 600 IN SRV 10 20 1688 kms1.corp.example."
    rc, out = kmsc("srv-record", "host")
    assert rc == 2


def test_help_for_every_command():
    for cmd in ("activate", "bench", "products", "gvlk", "srv-record"):
        rc, out = kmsc(cmd, "--help")
        assert rc == 0 and "usage: kmsc " + cmd in out, (cmd, out)
    rc, out = kmsc("--version")
    assert rc == 0 and "0.1.0" in out


def test_bench_reports_rates_and_latency():
    with Kmsd() as d:
        rc, out = kmsc("bench", "-c", "4", "-N", "300", "--json", f"127.0.0.1:{d.port}")
        assert rc == 0, out
        r = json.loads(out)
        assert r["activations"] == 300 and r["per_second"] > 0, r
        assert r["latency_ms"]["p50"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"]
        assert sum(r["errors"].values()) == 0
        rc, out = kmsc("bench", "-c", "2", "-N", "3000", "-4", "--keepalive", f"127.0.0.1:{d.port}")
        assert rc == 0 and "activations   3000" in out, out


def test_bench_keepalive_stops_when_the_duration_ends():
    # no per-connection limit: only the clock may end keep-alive connections
    with Kmsd("max-requests-per-connection=0") as d:
        start = time.monotonic()
        rc, out = kmsc("bench", "-c", "2", "-d", "1", "--keepalive", "--json",
                       f"127.0.0.1:{d.port}", timeout=20)
        assert rc == 0 and time.monotonic() - start < 5, out
        assert json.loads(out)["activations"] > 0, out


def test_bench_exit_codes_when_nothing_gets_through():
    rc, out = kmsc("bench", "-c", "2", "-d", "0.3", f"127.0.0.1:{free_port()}")
    assert rc == 4 and "connect" in out, out
    with Kmsd("serve=Office 2019") as d:
        rc, out = kmsc("bench", "-c", "2", "-N", "20", "--json", f"127.0.0.1:{d.port}")
        assert rc == 3 and json.loads(out)["errors"]["refused"] == 20, out


def start_dnsmasq(records, port=None):
    """A real DNS server on a loopback port serving SRV and A records."""
    binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    assert os.path.exists(binary), "dnsmasq not installed (make deps)"
    port = port or free_port()
    args = [binary, "--keep-in-foreground", "--no-daemon", f"--port={port}",
            "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
            "--conf-file=/dev/null", "--pid-file=", "--user=root" if os.geteuid() == 0 else "--user=nobody"]
    args += records
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)
    assert proc.poll() is None, proc.stderr.read()
    return proc, port


def test_dns_discovery_priority_order_and_fallback():
    with Kmsd() as up1, Kmsd() as up2:
        down = free_port()
        records = [
            # priority 0: a host that is down; priority 10: two live hosts by weight
            f"--srv-host=_vlmcs._tcp.test.lan,down.test.lan,{down},0,100",
            f"--srv-host=_vlmcs._tcp.test.lan,kms1.test.lan,{up1.port},10,100",
            f"--srv-host=_vlmcs._tcp.test.lan,kms2.test.lan,{up2.port},20,100",
            "--host-record=down.test.lan,127.0.0.1",
            "--host-record=kms1.test.lan,127.0.0.1",
            "--host-record=kms2.test.lan,127.0.0.1",
        ]
        proc, port = start_dnsmasq(records)
        try:
            rc, out = kmsc("activate", "--domain", "test.lan", "--dns-server", f"127.0.0.1:{port}",
                           "--timeout", "3")
            assert rc == 0, out
            # the priority-0 host was tried first, failed, then the next priority
            assert out.index(f"port {down}") < out.index(f"using kms1.test.lan port {up1.port}"), out
            assert "kms2" not in out, out
            rc, out = kmsc("activate", "--domain", "nothing.lan", "--dns-server", f"127.0.0.1:{port}")
            assert rc == 4 and "no KMS host found" in out, out
        finally:
            proc.kill()
            proc.wait()


def test_dns_weight_shares_load_within_a_priority():
    with Kmsd() as a, Kmsd() as b:
        records = [
            f"--srv-host=_vlmcs._tcp.w.lan,a.w.lan,{a.port},5,90",
            f"--srv-host=_vlmcs._tcp.w.lan,b.w.lan,{b.port},5,10",
            "--host-record=a.w.lan,127.0.0.1", "--host-record=b.w.lan,127.0.0.1",
        ]
        proc, port = start_dnsmasq(records)
        try:
            picks = {"a": 0, "b": 0}
            for _ in range(40):
                rc, out = kmsc("activate", "--domain", "w.lan", "--dns-server", f"127.0.0.1:{port}")
                assert rc == 0, out
                picks["a" if "using a.w.lan" in out else "b"] += 1
            assert picks["a"] > picks["b"] > 0 or picks["a"] >= 30, picks
        finally:
            proc.kill()
            proc.wait()


def test_dns_zero_weight_hosts_share_the_load():
    """RFC 2782 lets weight-0 targets come in any order; kmsc shuffles them
    so one host does not take every client."""
    with Kmsd() as a, Kmsd() as b:
        records = [
            f"--srv-host=_vlmcs._tcp.z.lan,a.z.lan,{a.port},0,0",
            f"--srv-host=_vlmcs._tcp.z.lan,b.z.lan,{b.port},0,0",
            "--host-record=a.z.lan,127.0.0.1", "--host-record=b.z.lan,127.0.0.1",
        ]
        proc, port = start_dnsmasq(records)
        try:
            picks = {"a": 0, "b": 0}
            for _ in range(30):
                rc, out = kmsc("activate", "--domain", "z.lan", "--dns-server", f"127.0.0.1:{port}")
                assert rc == 0, out
                picks["a" if "using a.z.lan" in out else "b"] += 1
            assert picks["a"] >= 3 and picks["b"] >= 3, picks
        finally:
            proc.kill()
            proc.wait()
