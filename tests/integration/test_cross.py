"""Cross builds (issue 21): the kmsd built for another architecture by
`make cross ARCH=...`, run under qemu-user, answers the native kmsc.
make cross sets KMSD_CROSS_BIN (the cross build's folder) and
KMSD_CROSS_QEMU (the emulator command); without them there is nothing to run."""
import json
import os
import shlex

from kmsdtest import Kmsd, Skip, kmsc, run

CROSS_BIN = os.environ.get("KMSD_CROSS_BIN")
QEMU = shlex.split(os.environ.get("KMSD_CROSS_QEMU", ""))


def test_cross_built_kmsd_answers_native_kmsc():
    if not CROSS_BIN:
        raise Skip("no KMSD_CROSS_BIN (make cross ARCH=arm64 runs this)")
    kmsd = os.path.join(CROSS_BIN, "kmsd")
    rc, out = run("file", "-L", kmsd)
    assert rc == 0 and "x86-64" not in out, out
    rc, out = run(*QEMU, kmsd, "-V")
    assert rc == 0 and out.startswith("kmsd "), out
    # the native tests' command line, with the cross kmsd under the
    # emulator in place of the native one (the wrapper drops that word)
    swap = "shift; exec " + " ".join(map(shlex.quote, [*QEMU, kmsd])) + ' "$@"'
    with Kmsd(wrapper=["sh", "-c", swap, "sh"]) as d:
        rc, out = kmsc("activate", "--json", f"127.0.0.1:{d.port}")
        assert rc == 0, out + d.log()
        assert json.loads(out)["valid"], out
