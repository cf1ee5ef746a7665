#!/bin/sh
# SIGINT / SIGTERM during `rbpe fit` (issue: reliability): the output folder
# must afterwards hold either the complete previous outputs or a complete new
# set, never a mix, a truncated file or a leftover staging file.
#   usage: test_interrupt.sh PATH/TO/rbpe [DEVICE]
# One signal: fit stops training, writes the outputs of the model as it
# stands (a complete new set, metrics say "interrupted") and exits 130.
# Two signals: the second ends the process: at once, or while the new set
# is written at the end of the file in hand (the staged files removed, the
# old set intact), or after the renames if they had begun (the new set).
set -u
RBPE=$1
DEVICE=${2:-cpu}
DATA=${RBPE_SOURCE_ROOT:?}/tests/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
fail=0
n_old=0
n_new=0

# old_run: a run whose outputs must never be mixed with a later run's
old_run() {
  "$RBPE" fit "$DATA/camera64.png" --device "$DEVICE" --sigma graph --steps 20 \
    --seed 1 --out "$out" --quiet >/dev/null 2>"$tmp/err" ||
    { cat "$tmp/err"; echo "FAIL: the old run failed"; exit 1; }
  (cd "$out" && ls | sort >"$tmp/old.list" && cksum $(cat "$tmp/old.list") >"$tmp/old.sum")
}
old_run

bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# check_folder LABEL: old set intact, or a complete valid new set
check_folder() {
  label=$1
  if ls -a "$out" | grep -q '\.staged-'; then
    bad "$label: staging files left behind: $(ls -a "$out" | grep staged- | tr '\n' ' ')"
    rm -f "$out"/.*.staged-*
  fi
  (cd "$out" && ls | sort >"$tmp/now.list")
  if (cd "$out" && cksum $(cat "$tmp/now.list")) 2>/dev/null | cmp -s - "$tmp/old.sum"; then
    n_old=$((n_old + 1))
    return
  fi
  # a new set: uniform mode writes no sigma maps; every file must be new
  for f in $(cat "$tmp/now.list"); do
    grep -q " $f\$" "$tmp/old.sum" && [ "$(cd "$out" && cksum "$f")" = "$(grep " $f\$" "$tmp/old.sum")" ] &&
      bad "$label: $f is from the old run beside new files"
  done
  for f in metrics.json model.rbpe reconstruction.png panel.png; do
    [ -f "$out/$f" ] || bad "$label: $f missing from the new set"
  done
  for f in sigma.png sigma_train.png; do
    [ -f "$out/$f" ] && bad "$label: stale $f (the new run has no sigma map)"
  done
  "$RBPE" info "$out/model.rbpe" >/dev/null 2>&1 || bad "$label: model.rbpe unreadable"
  "$RBPE" info "$out/panel.png" >/dev/null 2>&1 || bad "$label: panel.png unreadable"
  "$RBPE" info "$out/reconstruction.png" >/dev/null 2>&1 || bad "$label: reconstruction.png unreadable"
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["config"]["seed"] == 2' \
    "$out/metrics.json" 2>/dev/null || bad "$label: metrics.json incomplete or not the new run's"
  n_new=$((n_new + 1))
}

# start a long run with another seed and sigma mode, signal it after DELAY
# seconds (and again SECOND seconds later unless SECOND is -)
trial() {
  sig=$1 delay=$2 second=$3
  "$RBPE" fit "$DATA/camera64.png" --device "$DEVICE" --sigma uniform:0.03 \
    --steps 100000 --seed 2 --out "$out" --quiet >/dev/null 2>"$tmp/err" &
  pid=$!
  sleep "$delay"
  kill -s "$sig" "$pid" 2>/dev/null
  if [ "$second" != - ]; then
    sleep "$second"
    kill -s "$sig" "$pid" 2>/dev/null
  fi
  wait "$pid"
  rc=$?
  [ "$rc" -eq 130 ] || [ "$rc" -eq 143 ] ||
    { bad "$sig after ${delay}s (then $second): exit $rc"; cat "$tmp/err"; }
  check_folder "$sig after ${delay}s (then $second)"
}

for d in 0.3 1 2; do
  trial INT $d -
  trial TERM $d -
done
# the second signal lands at various points of writing the outputs
for s in 0 0.002 0.005 0.01 0.02 0.04 0.08 0.15 0.3; do
  old_run # every trial starts from an old set
  trial INT 1 $s
done
echo "interrupt: $n_old trial(s) kept the old set, $n_new wrote a complete new set, $fail failure(s)"
[ "$fail" -eq 0 ]
