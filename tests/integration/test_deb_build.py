"""The Debian package built with the README's `make deb` and judged by
lintian (issue 21). Building changes nothing on the machine, so it runs in a
lane beside the other tests; the package is then handed to test_deb, which
installs it with nothing else running."""
import time

from test_deb import build, hand_over, lint, skip_unless_packaging_runs_here

# a package build from scratch: minutes on 2 cores
LONG = True


def test_make_deb_builds_a_lintian_clean_package():
    skip_unless_packaging_runs_here()
    t = time.monotonic()
    deb = build()
    built = time.monotonic() - t
    t = time.monotonic()
    lint(deb)
    print(f"test_deb_build times: build {built:.1f}s, lintian {time.monotonic() - t:.1f}s")
    hand_over(deb)
