#!/bin/sh
# Runs a program under oclgrind's API, data-race and uninitialised-memory
# checks and fails when oclgrind reports anything: oclgrind itself exits 0
# after reporting errors, so its log is the verdict.
#   usage: tools/oclgrind-check.sh PROGRAM [ARGS...]
# Kernels are built with -cl-opt-disable under oclgrind: oclgrind 21.10's
# uninitialised-value plugin aborts on LLVM's `freeze` instruction, which
# the optimiser emits; the unoptimised kernels compute the same values.
# OCLGRIND_UNINITIALIZED=0 leaves the uninitialised-value check out: on
# CLBlast's indirect GEMM it reports Xgemm loading parts of CLBlast's own
# temporaries that its copy kernels leave unwritten (with CLBlast's own
# allocations as with rbpe's), while the results match ref; out-of-bounds
# accesses are still reported.
set -u
if ! command -v oclgrind >/dev/null 2>&1; then
  echo "oclgrind-check: oclgrind is not installed" >&2
  exit 1
fi
log=$(mktemp "${TMPDIR:-/tmp}/oclgrind.XXXXXX")
OCLGRIND_BUILD_OPTIONS="${OCLGRIND_BUILD_OPTIONS:--cl-opt-disable}" \
  oclgrind --check-api --data-races \
  $([ "${OCLGRIND_UNINITIALIZED:-1}" = 0 ] || echo --uninitialized) \
  --log "$log" "$@"
rc=$?
if [ -s "$log" ]; then
  echo "oclgrind-check: oclgrind reported errors:" >&2
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
exit $rc
