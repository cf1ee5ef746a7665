#!/usr/bin/env python3
"""Sums meson's testlog.json files (and plain 'NAME OK|FAIL' result
files, such as tools/fuzz.sh writes) into one closing line,
'N passed, N failed, N skipped', and exits non-zero on any failure."""
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            if not path.endswith(".json"):
                passed += line.split()[-1] == "OK"
                failed += line.split()[-1] != "OK"
                continue
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
