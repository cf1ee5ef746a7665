#!/bin/sh
# Injected OpenCL faults (src/backend/fault.h; needs -Dfault_injection=true):
# the N-th buffer allocation, program build, enqueue or CLBlast call fails.
# Each must give exit status 1-5 with one clear line on stderr, no crash, no
# sanitizer report (the test build runs with LeakSanitizer), and leave the
# previous outputs in --out exactly as they were.
#   usage: test_faults.sh PATH/TO/rbpe
set -u
RBPE=$1
DATA=${RBPE_SOURCE_ROOT:?}/tests/data
DEVICE=${RBPE_FAULT_DEVICE:-cl}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
fail=0
runs=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

fit() {
  "$RBPE" fit "$DATA/camera64.png" --device "$DEVICE" --sigma graph \
    --sigma-iters 20 --steps 12 --log-every 4 --batch 512 \
    --layers 2 --width 32 --centres 32 --out "$@" --quiet
}

# a clean run: the previous outputs, and how many events of each kind a run has
fit "$out" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; echo "FAIL: clean run"; exit 1; }
(cd "$out" && cksum $(ls | sort)) >"$tmp/old.sum"
RBPE_FAULT_COUNTS=$tmp/counts fit "$tmp/scratch" >/dev/null 2>&1 ||
  { echo "FAIL: counting run"; exit 1; }
RBPE_FAULT_COUNTS=$tmp/rcounts "$RBPE" render "$out/model.rbpe" --device "$DEVICE" \
  --size 96x96 -o "$tmp/render.png" --quiet >/dev/null 2>&1 ||
  { echo "FAIL: clean render"; exit 1; }
cp "$tmp/render.png" "$tmp/render.old"
# CLBlast's calls: counted (and failed below) with CLBlast as the GEMM,
# which rbpe's own kernels replace by default
RBPE_GEMM=clblast RBPE_FAULT_COUNTS=$tmp/ccounts fit "$tmp/scratch" >/dev/null 2>&1 ||
  { echo "FAIL: counting run with CLBlast"; exit 1; }
RBPE_GEMM=clblast RBPE_FAULT_COUNTS=$tmp/crcounts "$RBPE" render "$out/model.rbpe" \
  --device "$DEVICE" --size 96x96 -o "$tmp/render.png" --quiet >/dev/null 2>&1 ||
  { echo "FAIL: clean render with CLBlast"; exit 1; }

# check LABEL RC: what a failed run must look like
check() {
  label=$1 rc=$2
  runs=$((runs + 1))
  if [ "$rc" -lt 1 ] || [ "$rc" -gt 5 ]; then
    bad "$label: exit $rc (want 1-5)"
    sed 's/^/  stderr: /' "$tmp/err" | head -20
    return
  fi
  if grep -q "Sanitizer\|runtime error" "$tmp/err"; then
    bad "$label: sanitizer report"
    head -30 "$tmp/err"
    return
  fi
  n=$(wc -l <"$tmp/err")
  [ "$n" -eq 1 ] || { bad "$label: $n stderr lines (want 1)"; sed 's/^/  stderr: /' "$tmp/err" | head; }
}

for kind in alloc build enqueue clblast; do
  counts=$tmp/counts rcounts=$tmp/rcounts
  if [ "$kind" = clblast ]; then
    export RBPE_GEMM=clblast
    counts=$tmp/ccounts rcounts=$tmp/crcounts
  fi
  total=$(awk -v k=$kind '$1 == k {print $2}' "$counts")
  [ "${total:-0}" -gt 0 ] || { bad "fit makes no $kind events"; continue; }
  # the first few, then spread over the whole run, then the last
  picks=$(awk -v t="$total" 'BEGIN {
    for (i = 1; i <= 4 && i <= t; i++) print i
    for (q = 1; q <= 6; q++) print int(t * q / 7) + 1
    print t }' | sort -n | uniq | awk -v t="$total" '$1 >= 1 && $1 <= t')
  for n in $picks; do
    RBPE_FAULT=$kind:$n fit "$out" >/dev/null 2>"$tmp/err"
    check "fit, $kind #$n of $total" $?
    (cd "$out" && cksum $(ls | sort)) | cmp -s - "$tmp/old.sum" ||
      bad "fit, $kind #$n: the previous outputs changed"
    ls -a "$out" | grep -q 'staged-\|\.tmp\.' && bad "fit, $kind #$n: temporary files left"
  done
  rtotal=$(awk -v k=$kind '$1 == k {print $2}' "$rcounts")
  for n in $(printf '%s\n' 1 $(( ${rtotal:-0} / 2 + 1 )) "${rtotal:-0}" | sort -nu); do
    [ "$n" -ge 1 ] && [ "$n" -le "${rtotal:-0}" ] || continue
    RBPE_FAULT=$kind:$n "$RBPE" render "$out/model.rbpe" --device "$DEVICE" \
      --size 96x96 -o "$tmp/render.png" --quiet >/dev/null 2>"$tmp/err"
    check "render, $kind #$n of $rtotal" $?
    cmp -s "$tmp/render.png" "$tmp/render.old" || bad "render, $kind #$n: render.png changed"
  done
  unset RBPE_GEMM
done
echo "faults: $runs injected runs ($(tr '\n' ' ' <"$tmp/counts")per fit; with CLBlast: $(tr '\n' ' ' <"$tmp/ccounts")), $fail failure(s)"
[ "$fail" -eq 0 ]
