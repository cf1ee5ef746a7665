#!/bin/sh
# A build without OpenCL and/or without the cpu backend (meson options
# opencl, openblas): what it has fits, renders, checks and lists; what it
# lacks is refused by name with exit 3, never silently replaced.
#   usage: test_reduced.sh PATH/TO/rbpe opencl|no-opencl cpu|no-cpu
set -u
RBPE=$1 OPENCL=$2 CPU=$3
DATA=${RBPE_SOURCE_ROOT:?}/tests/data
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
# expect CODE DESCRIPTION -- COMMAND...: the exit status (stderr shown
# when it is not CODE)
expect() {
  code=$1 what=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ "$rc" -eq "$code" ] && ok || { bad "$what: exit $rc (want $code)"; sed 's/^/  stderr: /' "$tmp/err"; }
}
has() { # has FILE TEXT DESCRIPTION
  grep -q "$2" "$1" && ok || { bad "$3: '$2' not in:"; sed 's/^/  /' "$1"; }
}

# the host's device: cpu when built, ref otherwise
host=ref
[ "$CPU" = cpu ] && host=cpu
expect 0 "devices" -- "$RBPE" devices
has "$tmp/out" "^selected (auto): $host" "auto selects the host backend"
if [ "$OPENCL" = no-opencl ]; then
  expect 3 "cl refused" -- "$RBPE" devices --device cl
  has "$tmp/err" "built without OpenCL" "the refusal names what is missing"
  expect 3 "cl:0:0 refused" -- "$RBPE" fit "$DATA/camera64.png" -d cl:0:0 --out "$tmp/no"
  [ ! -e "$tmp/no" ] && ok || bad "a refused fit left $tmp/no"
fi
if [ "$CPU" = no-cpu ]; then
  expect 3 "cpu refused" -- "$RBPE" devices --device cpu
  has "$tmp/err" "built without OpenBLAS" "the refusal names what is missing"
fi

# a learned-sigma fit on the host, its model rendered and described
expect 0 "fit on $host" -- "$RBPE" fit -q "$DATA/camera64.png" --steps 20 \
  --layers 1 --width 32 --centres 32 --batch 512 --out "$tmp/fit"
for f in model.rbpe metrics.json reconstruction.png panel.png sigma.png; do
  [ -s "$tmp/fit/$f" ] && ok || bad "fit wrote no $f"
done
has "$tmp/fit/metrics.json" "\"test_psnr\"" "metrics hold the held-out PSNR"
expect 0 "render on ref" -- "$RBPE" render "$tmp/fit/model.rbpe" -o "$tmp/r.png" -d ref
expect 0 "info" -- "$RBPE" info "$tmp/fit/model.rbpe"
has "$tmp/out" "graph in \[" "the model keeps its sigma range"
# every op of the host device against ref
expect 0 "check on $host" -- "$RBPE" check --small -d "$host"

echo "test_reduced: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
