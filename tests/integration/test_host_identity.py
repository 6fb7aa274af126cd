"""One host, one OS, and its own HwId (issue 15)."""
import json
import os
import tempfile

from kmsdtest import BIN, Kmsd, kmsc, run

PRODUCTS = ("Windows 10/11 Enterprise", "Windows Server 2022 Standard", "Windows 7 Enterprise",
            "Office Professional Plus 2019", "Office Professional Plus 2010")


def answer(d, product):
    rc, out = kmsc("activate", "--json", "-p", product, f"127.0.0.1:{d.port}")
    assert rc in (0, 5), out
    return json.loads(out)["response"]


def test_hwid_is_generated_per_host_and_kept():
    dbs = [os.path.join(tempfile.mkdtemp(), "clients.db") for _ in range(2)]
    seen = []
    for db in dbs:
        with Kmsd(f"store=sqlite:{db}") as d:
            seen.append(answer(d, PRODUCTS[0])["hwid"])
    assert seen[0] != seen[1], seen
    assert "3A1C049600B60076" not in seen  # not vlmcsd's published one
    with Kmsd(f"store=sqlite:{dbs[0]}") as d:
        assert answer(d, PRODUCTS[0])["hwid"] == seen[0]
    with Kmsd("hwid=0011223344556677") as d:
        assert answer(d, PRODUCTS[0])["hwid"] == "0011223344556677"


def test_every_epid_of_a_host_carries_one_build():
    for options in ((), ("host-build=26100",)):
        with Kmsd(*options) as d:
            builds = {answer(d, p)["epid"].split("-")[6].split(".")[0] for p in PRODUCTS}
            assert len(builds) == 1, builds
            if options:
                assert builds == {"26100"}, builds
            # NDR64 on: the build is one whose RPC accepts it (9200 and later)
            assert int(builds.pop()) >= 9200
    rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", "/dev/null", "-o", "allow-root=yes",
                  "-o", "host-build=7601")
    assert rc != 0 and "host-build 7601" in out, out
