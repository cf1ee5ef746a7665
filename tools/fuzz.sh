#!/bin/sh
# Builds the libFuzzer harnesses (clang, ASan + UBSan) in build-fuzz and
# runs each for SECONDS (default 60) from the seed corpus in
# tests/fuzz/corpus, failing if any finds a crash, leak or sanitizer report.
#   usage: tools/fuzz.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Doclgrind_tests=disabled >/dev/null
fi
meson compile -C build-fuzz >/dev/null
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
rc=0
: >build-fuzz/fuzz-results.txt
for t in png text model jpeg audio; do
  work=$(mktemp -d)
  cp tests/fuzz/corpus/$t/* "$work/"
  echo "fuzz_$t: ${secs} s"
  if ! build-fuzz/tests/fuzz/fuzz_$t -max_total_time="$secs" -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/crash-$t-" "$work" \
      2>"build-fuzz/fuzz_$t.log"; then
    echo "fuzz_$t FAILED: see build-fuzz/fuzz_$t.log and build-fuzz/crash-$t-*"
    tail -30 "build-fuzz/fuzz_$t.log"
    echo "fuzz_$t FAIL" >>build-fuzz/fuzz-results.txt
    rc=1
  else
    echo "fuzz_$t OK" >>build-fuzz/fuzz-results.txt
  fi
  grep -E "stat::number_of_executed_units|cov:" "build-fuzz/fuzz_$t.log" | tail -2
  rm -rf "$work"
done
exit $rc
