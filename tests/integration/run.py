#!/usr/bin/env python3
"""Integration test runner: imports every tests/integration/test_*.py,
runs each test_* function, and closes with "N passed, N failed".

Tests start the real binaries (KMSD_BIN names their directory) on loopback
with ephemeral ports and temporary directories. Usage:
    run.py [NAME-FILTER]
"""
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    flt = sys.argv[1] if len(sys.argv) > 1 else ""
    passed = failed = 0
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(HERE, name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for attr in sorted(dir(module)):
            fn = getattr(module, attr)
            if not (attr.startswith("test_") and callable(fn)):
                continue
            full = f"{name[:-3]}.{attr}"
            if flt and flt not in full:
                continue
            start = time.monotonic()
            try:
                fn()
            except Exception:  # a failed assert or anything unexpected
                failed += 1
                print(f"FAIL {full}")
                traceback.print_exc(file=sys.stdout)
            else:
                passed += 1
                print(f"ok   {full} ({time.monotonic() - start:.2f}s)")
            sys.stdout.flush()
    print(f"integration: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
