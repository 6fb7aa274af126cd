"""docs/administration.md (issue 9): its Linux commands run as written
against a real kmsd (and a real DNS server for discovery); its Windows
commands are checked against the options slmgr and ospp.vbs accept, and
every key in them against what kmsc gvlk prints."""
import os
import re
import time

from kmsdtest import BIN, Kmsd, kmsc, run
from test_docs import doc_blocks, run_lines
from test_kmsc import start_dnsmasq

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
# its commands use the documented port 1688 and build/run: one such file at a time
SERIAL = True
DOC = "administration.md"

KEY = r"[0-9A-Z]{5}(-[0-9A-Z]{5}){4}"
HOST = r"([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?"
SLMGR = {
    "ipk": KEY, "skms": HOST, "skms-domain": r"[a-z0-9.-]+", "ckms": None, "skhc": None,
    "ckhc": None, "sai": "minutes", "sri": "minutes", "act-type": r"[0-3]", "ato": None,
    "dlv": None, "xpr": None,
}
OSPP = {
    "inpkey": KEY, "sethst": r"[A-Za-z0-9.-]+", "setprt": r"\d{1,5}", "remhst": None,
    "cachst": r"TRUE|FALSE", "actype": r"[0-3]", "skms-domain": r"[a-z0-9.-]+",
    "ckms-domain": None, "act": None, "dstatus": None, "dhistorykms": None, "dcmid": None,
}
OSPP_PATH = r'cscript "C:\\Program Files\\Microsoft Office\\Office1[456]\\ospp\.vbs" '


def check_slmgr(line):
    parts = line.split()
    assert parts[0] == "slmgr" and parts[1].startswith("/"), line
    option, args = parts[1][1:], parts[2:]
    assert option in SLMGR, line
    form = SLMGR[option]
    if form is None:
        assert not args, line
    elif form == "minutes":
        assert len(args) == 1 and 15 <= int(args[0]) <= 43200, line
    else:
        assert len(args) == 1 and re.fullmatch(form, args[0]), line
    return option


def check_ospp(line):
    m = re.fullmatch(OSPP_PATH + r"/([a-z-]+)(?::(\S+))?", line)
    assert m, line
    option, value = m.group(1), m.group(2)
    assert option in OSPP, line
    form = OSPP[option]
    assert (form is None) == (value is None), line
    if form:
        assert re.fullmatch(form, value), line
    return option


def test_windows_commands_use_real_options_and_real_keys():
    used_slmgr, used_ospp, keys = set(), set(), set()
    for block in doc_blocks(DOC, "bat"):
        for line in block.strip().splitlines():
            if line.startswith("slmgr"):
                used_slmgr.add(check_slmgr(line))
            else:
                used_ospp.add(check_ospp(line))
            keys.update(m.group(0) for m in re.finditer(KEY, line))
    # every KMS-client option the guide explains is also shown in use
    assert used_slmgr >= {"skms", "skms-domain", "ckms", "skhc", "ckhc", "sai", "sri",
                          "act-type", "ipk", "ato"}, used_slmgr
    assert used_ospp >= {"sethst", "setprt", "remhst", "cachst", "actype", "skms-domain",
                         "ckms-domain", "dhistorykms", "dcmid", "inpkey", "act"}, used_ospp
    # the keys are the GVLKs kmsc prints for the products the guide names
    printed = ""
    for block in doc_blocks(DOC):
        for line in block.strip().splitlines():
            if line.startswith("build/kmsc gvlk"):
                printed += run_lines([line])[0]
    assert keys and all(k in printed for k in keys), (keys, printed)
    # and the command lines kmsc prints are the guide's
    for block in doc_blocks(DOC, "bat"):
        for line in block.strip().splitlines():
            if "/ipk" in line or "/inpkey" in line:
                assert line in printed, line


def test_linux_commands_run_as_written():
    lines = [l for b in doc_blocks(DOC) for l in b.strip().splitlines()]
    assert all(l.startswith("build/kmsc ") for l in lines), lines
    # the store `make run` uses: as root, let kmsd create its folder for
    # the user it drops to, as `make run` does, so a later `make run` can
    # still write there
    db = os.path.join(ROOT, "build", "run", "clients.db")
    options = [f"store=sqlite:{db}"]
    if os.geteuid() == 0:
        options.append("user=nobody")
    else:
        os.makedirs(os.path.dirname(db), exist_ok=True)
    with Kmsd(*options) as d:
        rc, out = kmsc("activate", f"127.0.0.1:{d.port}")
        assert rc == 0, out
        time.sleep(0.6)
        # the discovery example asks a DNS server on 127.0.0.1:5353
        proc, _ = start_dnsmasq([
            f"--srv-host=_vlmcs._tcp.example.com,kms1.example.com,{d.port},0,0",
            "--host-record=kms1.example.com,127.0.0.1"], port=5353)
        try:
            outputs = run_lines(lines)
        finally:
            proc.kill()
            proc.wait()
    text = "\n".join(outputs)
    assert "_vlmcs._tcp.example.com. 3600 IN SRV 0 50 1688 kms2.example.com." in text
    assert "using kms1.example.com" in text, text
