#!/bin/sh
# `rbpe experiment --quick` as a smoke test: the grid runs end to end and
# its table, CSV and panels are produced and well-formed. The numbers are
# not checked (docs/RESULTS.md discusses them).
# With cairo the figures are checked too: PNG and SVG panels and summaries.
#   usage: test_experiment.sh PATH/TO/rbpe [cairo|plain]
set -u
RBPE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # before the cd below
FIGS=${2:-plain}
both=""
[ "$FIGS" = cairo ] && both="--figures both"
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
# a bad recipe, split or held-out name: a usage error before any fit
for bad in "--learned graph+smax=x" "--learned graph+what" "--splits regular7" \
           "--splits random10,random10" "--heldout nosuchimage"; do
  # shellcheck disable=SC2086
  "$RBPE" experiment --quick $bad --out "$tmp/bad" >/dev/null 2>"$tmp/err"
  rc=$?
  if [ $rc -ne 2 ] || [ -e "$tmp/bad/results.csv" ]; then
    echo "FAIL: experiment $bad: exit $rc"; cat "$tmp/err"; exit 1
  fi
done
# shellcheck disable=SC2086
"$RBPE" experiment --quick $both --out "$tmp/ex" >"$tmp/out" 2>"$tmp/err" ||
  { tail -5 "$tmp/err"; echo "FAIL: rbpe experiment --quick"; exit 1; }
fail=0
for p in "$tmp"/ex/panel_camera256_1L.png "$tmp"/ex/panel_camera256_3L.png \
         "$tmp"/ex/panel_chirp_1L.png "$tmp"/ex/panel_chirp_3L.png; do
  "$RBPE" info "$p" >/dev/null || { echo "FAIL: $p unreadable"; fail=1; }
done
if [ "$FIGS" = cairo ]; then
  python3 - "$tmp/ex" <<'PY' || fail=1
import os, struct, sys
import xml.etree.ElementTree as ET
d = sys.argv[1]
md = open(os.path.join(d, "RESULTS.md")).read()
for sig in ("camera256", "chirp"):
    for stem in [f"summary_{sig}"] + [f"panel_{sig}_{l}L" for l in (1, 3)]:
        b = open(os.path.join(d, stem + ".png"), "rb").read(24)
        assert b[:8] == b"\x89PNG\r\n\x1a\n", stem
        w, h = struct.unpack(">II", b[16:24])
        root = ET.parse(os.path.join(d, stem + ".svg")).getroot()
        sw = float(root.get("width").rstrip("pt"))
        sh = float(root.get("height").rstrip("pt"))
        assert (round(sw), round(sh)) == (w, h), (stem, w, h, sw, sh)
        assert w >= 500 and h >= 300, (stem, w, h)
    assert f"](summary_{sig}.png)" in md, sig
# a panel holds a row per method kind: truth, learned, its sigma, uniform,
# RFF, NeRF (camera's tiles 160 high)
b = open(os.path.join(d, "panel_camera256_1L.png"), "rb").read(24)
assert struct.unpack(">II", b[16:24])[1] > 6 * 160, "panel rows"
print("experiment: PNG and SVG panels and summaries of matching sizes")
PY
fi
python3 - "$tmp/ex" <<'PY' || fail=1
import csv, math, os, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "results.csv"))))
learned = {"rbf:default", "rbf:graph", "rbf:poly"}
methods = learned | {"rbf_uniform", "rff", "nerf"}
# signals x depths x splits (regular 25 %, random 10 %) x methods (3 learned,
# 6 uniform, 4 RFF, NeRF), one seed
want = 2 * 2 * 2 * 14
assert len(rows) == want, f"{len(rows)} CSV rows, want {want}"
for r in rows:
    assert r["method"] in methods, r
    for k in ("test_psnr", "train_psnr", "seconds"):
        assert math.isfinite(float(r[k])), r
    # every method with a knob also has its validation score; NeRF has none
    if r["method"] == "nerf":
        assert r["val_psnr"] == "", r
    else:
        assert math.isfinite(float(r["val_psnr"])), r
md = open(os.path.join(d, "RESULTS.md")).read()
def table(head):
    assert head in md, "no table: " + head
    return md.split(head)[1].split("\n\n")[0].strip().splitlines()[2:]
# the summary: one table per group, the validation-picked row and a row per
# recipe, with numbers in every cell
for group in ("photos used to choose the default: camera256", "1-D signals: chirp"):
    assert "### " + group in md, "no summary for " + group
summ = table("| learned | vs val. uniform: mean (W/L, sign p) |")
assert len(summ) == 4 and "validation-picked" in summ[0], summ
for line in summ:
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert len(cells) == 5, line
    float(cells[1].split()[0]); float(cells[2]); float(cells[4].split()[0])
# setting by setting against the validation-selected baselines
vrows = table("| signal | split | MLP | default | val.-picked learned | val. uniform |")
assert len(vrows) == 8, f"{len(vrows)} validation rows, want 8"
for line in vrows:
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert len(cells) == 11, line
    float(cells[3]); float(cells[4]); float(cells[5]); float(cells[7])
# against the oracle choices
orows = table("| signal | split | MLP | learned | best uniform | sigma |")
assert len(orows) == 8, f"{len(orows)} oracle rows, want 8"
# the tally's numbers agree with the CSV: recompute 'graph' against the
# validation-selected uniform sigma for the photo
import collections
by = collections.defaultdict(dict)
for r in rows:
    key = (r["signal"], r["split"], r["hidden_layers"], r["seed"])
    name = r["method"] + ("" if r["method"].startswith("rbf:") or r["method"] == "nerf" else " " + r["param"])
    by[key][name] = r
diffs = []
for key, ms in by.items():
    if key[0] != "camera256":
        continue
    uni = [m for m in ms if m.startswith("rbf_uniform")]
    pick = max(uni, key=lambda m: float(ms[m]["val_psnr"]))
    diffs.append(float(ms["rbf:graph"]["test_psnr"]) - float(ms[pick]["test_psnr"]))
graph_row = [l for l in summ if l.startswith("| graph |")][0]
shown = float(graph_row.split("|")[2].split()[0])
mean = sum(diffs) / len(diffs)
assert abs(shown - mean) < 0.006, f"summary says {shown}, CSV gives {mean:.3f}"
assert "panel_chirp_3L.png" in md
assert os.path.exists(os.path.join(d, ".rbpe-outputs")), "no manifest"
print("experiment: tables, CSV and panels well-formed; the summary agrees with the CSV")
PY
# two shards and a collect write what one process writes (the time column
# aside); a collect that lacks a shard names what is missing and writes no
# report
small="--quick --layers 1 --learned graph --uniform 0.04,0.1 --rff 10 --no-nerf"
# shellcheck disable=SC2086
{ "$RBPE" experiment $small --shard 1/2 --out "$tmp/s1" >/dev/null 2>&1 &&
  "$RBPE" experiment $small --shard 2/2 --out "$tmp/s2" >/dev/null 2>&1 &&
  "$RBPE" experiment $small --out "$tmp/one" >/dev/null 2>&1 &&
  "$RBPE" experiment $small --collect "$tmp/s2,$tmp/s1" --out "$tmp/col" >/dev/null 2>&1; } ||
  { echo "FAIL: shards and collect"; fail=1; }
if [ -e "$tmp/s1/RESULTS.md" ] || [ ! -s "$tmp/s1/fits.bin" ]; then
  echo "FAIL: a shard writes results.csv and fits.bin, no report"; fail=1
fi
# a report's text but its command line (which names the run) and, with a
# second argument, its device line (a shard runs one OpenMP thread)
report_body() {
  if [ $# -gt 1 ]; then
    grep -v -e '^rbpe experiment' -e '^Device:' "$1/RESULTS.md"
  else
    grep -v '^rbpe experiment' "$1/RESULTS.md"
  fi
}
report_body "$tmp/one" >"$tmp/one.md"
report_body "$tmp/col" >"$tmp/col.md"
cmp -s "$tmp/one.md" "$tmp/col.md" || { echo "FAIL: collected RESULTS.md differs"; diff "$tmp/one.md" "$tmp/col.md" | head; fail=1; }
cut -d, -f1-8,10 "$tmp/one/results.csv" >"$tmp/one.csv"
cut -d, -f1-8,10 "$tmp/col/results.csv" >"$tmp/col.csv"
cmp -s "$tmp/one.csv" "$tmp/col.csv" || { echo "FAIL: collected results.csv differs"; fail=1; }
for p in "$tmp"/one/panel_*.png "$tmp"/one/summary_*.png; do
  [ -e "$p" ] || continue # no summaries without cairo
  cmp -s "$p" "$tmp/col/$(basename "$p")" || { echo "FAIL: collected $(basename "$p") differs"; fail=1; }
done
# shellcheck disable=SC2086
"$RBPE" experiment $small --collect "$tmp/s1" --out "$tmp/part" >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -ne 4 ] || ! grep -q "fits missing" "$tmp/err" || [ -e "$tmp/part/RESULTS.md" ]; then
  echo "FAIL: a collect without shard 2: exit $rc"; cat "$tmp/err"; fail=1
fi
# tools/experiment-shards.sh: the same grid as 3 shards, 2 at a time, to a
# deadline it does not reach, gives the same report
# shellcheck disable=SC2086
RBPE="$RBPE" "$RBPE_SOURCE_ROOT/tools/experiment-shards.sh" "$tmp/esh" 3 2 600 $small \
  >/dev/null 2>"$tmp/err" || { echo "FAIL: experiment-shards.sh"; cat "$tmp/err"; fail=1; }
report_body "$tmp/esh/report" no-device >"$tmp/esh.md"
report_body "$tmp/one" no-device >"$tmp/one2.md"
cmp -s "$tmp/one2.md" "$tmp/esh.md" || { echo "FAIL: experiment-shards.sh report differs"; diff "$tmp/one2.md" "$tmp/esh.md" | head; fail=1; }
# resuming: a run stopped part-way (here: its journal cut to fewer rows)
# fits only the rest when run again, and writes the same report
head -n -5 "$tmp/one/journal.csv" >"$tmp/cutj.csv" && cp "$tmp/cutj.csv" "$tmp/one/journal.csv"
# shellcheck disable=SC2086
"$RBPE" experiment $small --out "$tmp/one" >/dev/null 2>"$tmp/err" ||
  { echo "FAIL: resume"; cat "$tmp/err"; fail=1; }
grep -q "unit(s) read back" "$tmp/err" || { echo "FAIL: resume says nothing"; cat "$tmp/err"; fail=1; }
refits=$(grep -c '^\[' "$tmp/err")
[ "$refits" -ge 1 ] && [ "$refits" -le 10 ] || { echo "FAIL: resume refitted $refits units"; fail=1; }
report_body "$tmp/one" | cmp -s - "$tmp/one.md" ||
  { echo "FAIL: a resumed run's RESULTS.md differs"; fail=1; }
[ ! -e "$tmp/one/journal.csv.old" ] || { echo "FAIL: the set-aside journal stayed"; fail=1; }
# --plan: the units and their fit options, what a journal holds, nothing
# written
# shellcheck disable=SC2086
"$RBPE" experiment $small --plan --out "$tmp/one" >"$tmp/plan" 2>/dev/null &&
  grep -q "^# 16 units, 32 fits; 0 units to do" "$tmp/plan" &&
  grep -q "^# estimated device time of the fits to do: 0.00 hours" "$tmp/plan" &&
  [ "$(grep -c "	done	" "$tmp/plan")" = 16 ] &&
  grep -q "	done	chirp	signal: --embed rff --scale 10 --split random:0.1 --layers 1 " "$tmp/plan" ||
  { echo "FAIL: --plan of a finished grid"; tail -3 "$tmp/plan"; fail=1; }
# shellcheck disable=SC2086
"$RBPE" experiment $small --plan --shard 2/4 --out "$tmp/noplan" >"$tmp/plan" 2>/dev/null &&
  grep -q "^# 16 units, 32 fits; 16 units to do" "$tmp/plan" &&
  [ "$(grep -c "	shard 2/4	" "$tmp/plan")" = 4 ] && [ ! -e "$tmp/noplan" ] ||
  { echo "FAIL: --plan of a new grid"; tail -3 "$tmp/plan"; fail=1; }
# the grid's directions and RFF width reach the fits' options (images
# only: the 1-D signal keeps its axis); 'none' leaves a baseline out
"$RBPE" experiment --quick --layers 1 --learned default --uniform none --rff 2.5 \
  --rff-features 64 --directions 6 --no-nerf --plan --out "$tmp/dirplan" >"$tmp/plan" 2>/dev/null &&
  grep -q "^# 8 units, 16 fits; 8 units to do" "$tmp/plan" &&
  grep -q "	chirp	signal: --split regular:4 " "$tmp/plan" &&
  grep -q "	image: --directions 6 --split regular:2 " "$tmp/plan" &&
  grep -q "	image: --embed rff --scale 2.5 --features 64 --split" "$tmp/plan" &&
  ! grep -q "rbf_uniform\|uniform:" "$tmp/plan" ||
  { echo "FAIL: --plan with --directions / --rff-features / --uniform none"; cat "$tmp/plan"; fail=1; }
# GNU parallel (the README's recipe): 3 shards, 2 at a time, then a
# collect, give the same report; required in CI
if command -v parallel >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  parallel --will-cite -j 2 --halt now,fail=1 \
    "$RBPE experiment $small --shard {}/3 --out $tmp/gp/s{} >/dev/null 2>&1" ::: 1 2 3 &&
    "$RBPE" experiment $small --collect "$tmp/gp/s1,$tmp/gp/s2,$tmp/gp/s3" \
      --out "$tmp/gp/report" >/dev/null 2>&1 ||
    { echo "FAIL: GNU parallel shards"; fail=1; }
  report_body "$tmp/gp/report" | cmp -s - "$tmp/one.md" ||
    { echo "FAIL: the GNU parallel report differs"; fail=1; }
elif [ "${CI:-}" = true ]; then
  echo "FAIL: GNU parallel missing (apt-get install parallel)"; fail=1
else
  echo "note: GNU parallel not installed, its recipe not tested"
fi
# a shard stopped early: its journal gives the units it finished; a collect
# needs --partial then, and the report says what is left out
mkdir "$tmp/cut" && cp "$tmp/s2/journal.bin" "$tmp/cut/" &&
  head -n -3 "$tmp/s2/journal.csv" >"$tmp/cut/journal.csv"
# shellcheck disable=SC2086
"$RBPE" experiment $small --collect "$tmp/s1,$tmp/cut" --out "$tmp/nopart" >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -ne 4 ] || ! grep -q "3 of 16 fits missing" "$tmp/err"; then
  echo "FAIL: a collect with a cut journal: exit $rc"; cat "$tmp/err"; fail=1
fi
# shellcheck disable=SC2086
"$RBPE" experiment $small --collect "$tmp/s1,$tmp/cut" --partial --out "$tmp/part2" >/dev/null 2>"$tmp/err" &&
  grep -q "A partial grid.\*\* 3 of 16 fits are missing" "$tmp/part2/RESULTS.md" ||
  { echo "FAIL: collect --partial"; cat "$tmp/err"; fail=1; }
# shellcheck disable=SC2086
"$RBPE" experiment $small --uniform 0.04 --collect "$tmp/s1,$tmp/s2" --out "$tmp/other" >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -ne 4 ] || ! grep -q "a different grid" "$tmp/err"; then
  echo "FAIL: a collect with other grid options: exit $rc"; cat "$tmp/err"; fail=1
fi
# --devices: the cpu backend and PoCL take units from one queue; stopped
# with Ctrl-C and run again, the grid resumes without fitting a finished
# unit twice, and every fit says which device ran it
dv="--quick --learned graph --uniform 0.04,0.1,0.02 --rff 10,20 --no-nerf"
# shellcheck disable=SC2086
"$RBPE" experiment $dv --devices cpu,cl --out "$tmp/dv" >"$tmp/dv1.log" 2>&1 &
pid=$!
sleep 4
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
[ $rc -eq 130 ] || [ $rc -eq 0 ] || { echo "FAIL: --devices stopped: exit $rc"; fail=1; }
# shellcheck disable=SC2086
"$RBPE" experiment $dv --devices cpu,cl --out "$tmp/dv" >"$tmp/dv2.log" 2>&1 ||
  { echo "FAIL: --devices resumed"; tail -5 "$tmp/dv2.log"; fail=1; }
python3 - "$tmp" <<'PY' || fail=1
import csv, re, sys
t = sys.argv[1]
first = open(t + "/dv1.log").read()
second = open(t + "/dv2.log").read()
done1 = len(re.findall(r"held-out \(", first))
back = sum(int(n) for n in re.findall(r"(\d+) unit\(s\) read back", second))
done2 = len(re.findall(r"held-out \(", second))
rows = list(csv.DictReader(open(t + "/dv/results.csv")))
units = len(rows)
assert units == 2 * 2 * 2 * 6, units
# every unit printed was journaled first; at most one more per worker
assert done1 <= back <= done1 + 2, (done1, back)
assert back + done2 == units, (back, done2, units)
devs = {r["device"] for r in rows}
assert devs <= {"cpu", "cl:0:0"} and devs, devs
md = open(t + "/dv/RESULTS.md").read()
assert "cpu (" in md and "cl:0:0" in md, "the report's device line"
print(f"devices: {done1} units, stopped, {back} read back, {done2} more: {units}; on {sorted(devs)}")
PY
"$RBPE" experiment --quick --devices all --shard 1/2 --out "$tmp/x" >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: --devices with --shard accepted"; fail=1; }
# the full-protocol preset: refuses to enlarge the bundled 256 px photos;
# its plan counts the units and estimates the device time
"$RBPE" experiment --preset tancik --plan --out "$tmp/tk" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 4 ] && grep -q "smaller than --size 512" "$tmp/err" ||
  { echo "FAIL: the preset enlarged 256 px photos: exit $rc"; cat "$tmp/err"; fail=1; }
"$RBPE" experiment --preset tancik --images tests/data/camera256.png --size 48 \
  --seeds 1 -d cpu --plan --out "$tmp/tk" >"$tmp/plan" 2>"$tmp/err" ||
  { echo "FAIL: preset --plan"; cat "$tmp/err"; fail=1; }
# 1 photo x 2 depths x 4 splits x 14 methods x 1 seed
grep -q "^# 112 units, 216 fits; 112 units to do" "$tmp/plan" &&
  grep -q "^# estimated device time of the fits to do: [0-9.]* hours on cpu" "$tmp/plan" &&
  grep -q -- "--steps 2000" "$tmp/plan" ||
  { echo "FAIL: the preset's plan"; tail -3 "$tmp/plan"; fail=1; }
# a report from results.csv alone: the same tables, no panels
# shellcheck disable=SC2086
"$RBPE" experiment $small --collect "$tmp/one" --no-pictures --out "$tmp/np" >/dev/null 2>"$tmp/err" ||
  { echo "FAIL: --no-pictures"; cat "$tmp/err"; fail=1; }
grep '^|' "$tmp/np/RESULTS.md" >"$tmp/np.tables"
grep '^|' "$tmp/one/RESULTS.md" >"$tmp/one.tables"
cmp -s "$tmp/np.tables" "$tmp/one.tables" &&
  grep -q "No panels" "$tmp/np/RESULTS.md" && ! ls "$tmp"/np/panel_* >/dev/null 2>&1 ||
  { echo "FAIL: --no-pictures report"; fail=1; }
[ "$fail" -eq 0 ]
