"""Print the quickstart's measurements and check them against the plugin's
function, y = x0*x0 + x1. Reads `ado show measurements ... -o csv` on stdin.

Exit status: 0 when every one of the 12 entities was measured with the
expected value, 1 otherwise. POWER (optional argv[1]) and OFFSET describe
an edited function y = x0**POWER + OFFSET*x1 for tests that change it.
"""

import csv
import sys

power = int(sys.argv[1]) if len(sys.argv) > 1 else 2
scale = int(sys.argv[2]) if len(sys.argv) > 2 else 1
rows = list(csv.DictReader(sys.stdin))
seen = {}
bad = 0
print(f"{'x0':>3} {'x1':>3} {'y':>6}  expected")
for r in sorted(rows, key=lambda r: (int(r["x0"]), int(r["x1"]))):
    x0, x1, y = int(r["x0"]), int(r["x1"]), float(r["y"])
    want = x0**power + scale * x1
    ok = y == want
    bad += not ok
    seen[(x0, x1)] = y
    print(f"{x0:>3} {x1:>3} {y:>6g}  {want:>6}{'' if ok else '  MISMATCH'}")
missing = [(a, b) for a in range(4) for b in range(3) if (a, b) not in seen]
if missing:
    print(f"missing entities: {missing}")
print(f"{len(seen)} of 12 entities measured, {bad} mismatches")
sys.exit(1 if bad or missing else 0)
