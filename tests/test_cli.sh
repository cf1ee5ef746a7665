#!/bin/sh
# The rbpe command line: documented exit codes, one-line errors, --help on
# every subcommand, device specs through --device and RBPE_DEVICE.
#   usage: test_cli.sh PATH/TO/rbpe
set -u
RBPE=$1
DATA=${RBPE_SOURCE_ROOT:?}/tests/data
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect CODE LINES DESCRIPTION -- COMMAND...: exit status CODE and, when
# LINES is not '-', exactly that many lines on stderr.
expect() {
  code=$1 lines=$2 what=$3
  shift 4
  "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  n=$(wc -l <"$tmp/err")
  if [ "$rc" -ne "$code" ] || { [ "$lines" != - ] && [ "$n" -ne "$lines" ]; }; then
    echo "FAIL: $what: exit $rc (want $code), $n stderr line(s) (want $lines)"
    sed 's/^/  stderr: /' "$tmp/err"
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
}

expect 0 0 "devices" -- "$RBPE" devices
grep -q "^selected" "$tmp/out" || { echo "FAIL: devices prints no selection"; fail=$((fail + 1)); }
expect 0 0 "devices --device ref" -- "$RBPE" devices --device ref
grep -q "selected (ref): ref" "$tmp/out" || { echo "FAIL: ref not selected"; fail=$((fail + 1)); }
expect 0 0 "RBPE_DEVICE=ref" -- env RBPE_DEVICE=ref "$RBPE" devices
grep -q "selected (ref): ref" "$tmp/out" || { echo "FAIL: RBPE_DEVICE ignored"; fail=$((fail + 1)); }
expect 3 1 "unknown OpenCL name" -- "$RBPE" devices --device cl:nosuch
expect 3 1 "unknown OpenCL index" -- "$RBPE" devices --device cl:7:7
expect 2 1 "malformed device spec" -- "$RBPE" devices --device gpu
expect 3 1 "unknown name via RBPE_DEVICE" -- env RBPE_DEVICE=cl:nosuch "$RBPE" devices
expect 2 1 "unknown flag" -- "$RBPE" devices --frobnicate
expect 2 1 "unknown command" -- "$RBPE" frobnicate
expect 2 - "no command" -- "$RBPE"
expect 0 0 "--help" -- "$RBPE" --help
expect 0 0 "--version" -- "$RBPE" --version
for cmd in devices info; do
  expect 0 0 "$cmd --help" -- "$RBPE" $cmd --help
done
if [ "${CI:-}" = true ] || [ "${RBPE_REQUIRE_OPENCL:-}" = 1 ]; then
  expect 0 0 "an OpenCL device (required in CI)" -- "$RBPE" devices --device cl
  expect 0 0 "cl:pocl" -- env RBPE_DEVICE=cl:pocl "$RBPE" devices
fi

expect 0 0 "info on the sample" -- "$RBPE" info "$DATA/camera64.png"
grep -q "64 x 64, 1 channel" "$tmp/out" || { echo "FAIL: info shape"; fail=$((fail + 1)); }
expect 4 1 "info on a missing file" -- "$RBPE" info "$tmp/missing.png"
printf 'not a png' >"$tmp/bad.png"
expect 4 1 "info on a text file with bad values" -- "$RBPE" info "$tmp/bad.png"
printf '0.5\nnan\n' >"$tmp/nan.txt"
expect 1 1 "info on a 1-D file with NaN" -- "$RBPE" info "$tmp/nan.txt"
head -c 100 "$DATA/camera64.png" >"$tmp/trunc.png"
expect 4 1 "info on a truncated PNG" -- "$RBPE" info "$tmp/trunc.png"

echo "test_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
