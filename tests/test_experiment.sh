#!/bin/sh
# `rbpe experiment --quick` as a smoke test: the grid runs end to end and
# its table, CSV and panels are produced and well-formed. The numbers are
# not checked (docs/RESULTS.md discusses them).
#   usage: test_experiment.sh PATH/TO/rbpe
set -u
RBPE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # before the cd below
cd "${RBPE_SOURCE_ROOT:?}" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a person's RESULTS.md in --out: refused before any fit, left as it was
mkdir "$tmp/mine" && echo "my notes" >"$tmp/mine/RESULTS.md"
"$RBPE" experiment --quick --out "$tmp/mine" >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -ne 6 ] || [ "$(cat "$tmp/mine/RESULTS.md")" != "my notes" ] || [ -e "$tmp/mine/results.csv" ]; then
  echo "FAIL: experiment over a person's RESULTS.md: exit $rc"; cat "$tmp/err"; exit 1
fi
"$RBPE" experiment --quick --out "$tmp/ex" >"$tmp/out" 2>"$tmp/err" ||
  { tail -5 "$tmp/err"; echo "FAIL: rbpe experiment --quick"; exit 1; }
fail=0
for p in "$tmp"/ex/panel_camera256_1L.png "$tmp"/ex/panel_camera256_3L.png \
         "$tmp"/ex/panel_chirp_1L.png "$tmp"/ex/panel_chirp_3L.png; do
  "$RBPE" info "$p" >/dev/null || { echo "FAIL: $p unreadable"; fail=1; }
done
python3 - "$tmp/ex" <<'PY' || fail=1
import csv, math, os, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "results.csv"))))
methods = {"rbf_graph", "rbf_poly", "rbf_uniform", "rff", "nerf"}
want = 2 * 2 * 4 * 12  # signals x depths x splits x methods, one seed
assert len(rows) == want, f"{len(rows)} CSV rows, want {want}"
for r in rows:
    assert r["method"] in methods, r
    for k in ("test_psnr", "train_psnr", "seconds"):
        assert math.isfinite(float(r[k])), r
md = open(os.path.join(d, "RESULTS.md")).read()
head = "| signal | split | MLP | graph | poly | best uniform |"
assert head in md, "no headline table"
table = md.split(head)[1].split("\n\n")[0].strip().splitlines()[2:]
assert len(table) == 16, f"{len(table)} headline rows, want 16"
for line in table:
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert len(cells) == 12, line
    float(cells[3]); float(cells[5]); float(cells[10]); float(cells[11])
assert "**Tally.**" in md and "panel_chirp_3L.png" in md
# the baselines chosen on a validation part of the training samples
vhead = "| signal | split | MLP | graph | val. uniform | picks | graph - uniform |"
assert vhead in md and "**Tally (validation-selected).**" in md, "no validation section"
vrows = md.split(vhead)[1].split("\n\n")[0].strip().splitlines()[2:]
assert len(vrows) == 16, f"{len(vrows)} validation rows, want 16"
for r in rows:
    if r["method"] in ("rbf_uniform", "rff"):
        assert math.isfinite(float(r["val_psnr"])), r
    else:
        assert r["val_psnr"] == "", r
assert os.path.exists(os.path.join(d, ".rbpe-outputs")), "no manifest"
print("experiment: table, CSV and panels well-formed")
PY
[ "$fail" -eq 0 ]
