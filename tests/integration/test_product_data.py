"""product-data = PATH (issue 15): a KmsDataBase.xml read at start and on
SIGHUP with the build's parser replaces the built-in table; a broken one
is refused and the running table kept; kmsc takes the same file."""
import json
import os
import signal
import tempfile

from kmsdtest import BIN, Kmsd, kmsc, run

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
NEW_KMS_ID = "0badc0de-1234-4567-89ab-0123456789ab"
NEW_SKU = "0badc0de-1234-4567-89ab-0123456789ac"
WINDOWS_2025 = '<KmsItem DisplayName="Windows Server 2025"'


def data_with_new_product(path):
    """The data file with one more Windows product group and SKU."""
    xml = open(os.path.join(ROOT, "data", "KmsDataBase.xml"), encoding="utf-8").read()
    item = (f'<KmsItem DisplayName="Windows Server Future" Id="{NEW_KMS_ID}" '
            f'DefaultKmsProtocol="6.0" NCountPolicy="5">'
            f'<SkuItem DisplayName="Windows Server Future Datacenter" Id="{NEW_SKU}" '
            f'Gvlk="AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"/></KmsItem>\n\t\t\t')
    assert WINDOWS_2025 in xml
    with open(path, "w", encoding="utf-8") as f:
        f.write(xml.replace(WINDOWS_2025, item + WINDOWS_2025, 1))


def probe(d):
    rc, out = kmsc("activate", "--json", "--kms-id", NEW_KMS_ID, f"127.0.0.1:{d.port}")
    return rc, json.loads(out.splitlines()[-1])


def test_product_data_is_read_at_start_and_on_sighup_and_a_bad_file_is_refused():
    d_dir = tempfile.mkdtemp()
    data = os.path.join(d_dir, "KmsDataBase.xml")
    data_with_new_product(data)
    with Kmsd("serve=known") as d:
        rc, r = probe(d)
        assert rc == 3, r  # the built-in table does not have it
        with open(d.config, "w") as f:
            f.write(f"serve = known\nproduct-data = {data}\n")
        d.send(signal.SIGHUP)
        d.wait_log("configuration reloaded")
        assert f"product data {data}: 3 applications" in d.log(), d.log()
        rc, r = probe(d)
        assert rc == 0, r  # known now, so served under serve = known
        d.wait_log('group="Windows Server Future"')
        # a broken file: the reload is refused, the table in use stays
        with open(data, "w") as f:
            f.write("<KmsData><AppItems>")
        d.send(signal.SIGHUP)
        d.wait_log("reload failed")
        assert "not well-formed XML" in d.log(), d.log()
        rc, r = probe(d)
        assert rc == 0, r
    # at start: the file's table, and a broken file stops kmsd -t
    data_with_new_product(data)
    with Kmsd("serve=known", f"product-data={data}") as d:
        assert probe(d)[0] == 0
    bad = os.path.join(d_dir, "bad.xml")
    with open(bad, "w") as f:
        f.write("<Other/>")
    rc, out = run(os.path.join(BIN, "kmsd"), "-t", "-c", "/dev/null", "-o", "allow-root=yes",
                  "-o", f"product-data={bad}")
    assert rc != 0 and "KmsData" in out, out


def test_kmsc_takes_the_same_file():
    data = os.path.join(tempfile.mkdtemp(), "KmsDataBase.xml")
    data_with_new_product(data)
    rc, out = kmsc("--product-data", data, "gvlk", "Server Future Datacenter")
    assert rc == 0 and "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE" in out, out
    rc, out = kmsc("gvlk", "Server Future Datacenter")
    assert rc == 2, out  # not in the built-in table
    rc, out = kmsc("--product-data", data, "products", "--json", "Future")
    assert [p["kms_id"] for p in json.loads(out)] == [NEW_KMS_ID], out
    rc, out = kmsc("--product-data", "/nonexistent.xml", "products")
    assert rc == 2 and "cannot read" in out, out
