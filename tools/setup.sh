#!/bin/sh
# One entry point for a fresh Debian 12 machine: installs what rbpe needs
# (when run as root and something is missing), configures, builds, then
#   tools/setup.sh run    the main job on the bundled sample
#   tools/setup.sh test   every test: the normal build (with oclgrind and
#                         Mesa rusticl as a second OpenCL implementation), an
#                         AddressSanitizer + UBSan build (with the injected
#                         OpenCL faults), and 60 s of each libFuzzer harness
#   tools/setup.sh deps | build   only those steps
set -eu
cd "$(dirname "$0")/.."

PACKAGES="gcc pkg-config meson ninja-build python3 ocl-icd-opencl-dev \
opencl-headers libclblast-dev libopenblas-dev libopenblas0-openmp libpng-dev zlib1g-dev \
libjpeg62-turbo-dev libsndfile1-dev parallel libcairo2-dev fonts-dejavu-core \
slurm-wlm munge \
pocl-opencl-icd mesa-opencl-icd oclgrind clinfo clang libclang-rt-14-dev"

deps() {
  missing=""
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages:$missing" >&2
    echo "setup: run as root, or: sudo apt-get install$missing" >&2
    exit 1
  fi
  echo "setup: installing$missing" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

build() {
  if [ ! -f build/build.ninja ]; then
    meson setup build -Dwerror=true -Doclgrind_tests=enabled -Drusticl_tests=enabled \
      -Dfigures=enabled
  fi
  meson compile -C build
}

build_sanitized() {
  if [ ! -f build-san/build.ninja ]; then
    meson setup build-san -Dwerror=true -Db_sanitize=address,undefined \
      -Db_lundef=false -Doclgrind_tests=disabled -Dfault_injection=true \
      -Dfigures=disabled
  fi
  meson compile -C build-san
}

# The smallest build: no OpenCL, no OpenBLAS, no cairo (the ref backend
# alone), proving the meson options build and run.
build_reduced() {
  if [ ! -f build-ref/build.ninja ]; then
    meson setup build-ref -Dwerror=true -Dopencl=disabled -Dopenblas=disabled \
      -Dfigures=disabled -Doclgrind_tests=disabled -Drusticl_tests=disabled
  fi
  meson compile -C build-ref
}

case "${1:-run}" in
deps) deps ;;
build) deps && build ;;
run)
  # The main job: fit the bundled 128x128 photo from 25 % of its pixels on
  # the default device with the learned sigma (rbpe fit's default) and
  # report held-out PSNR; the panel shows the sigma map beside the rest.
  deps
  build
  build/tools/rbpe fit tests/data/camera128.png --layers 2 --width 128 \
    --centres 64 --steps 400 --lr 3e-3 --out rbpe-out
  ;;
test)
  deps
  build
  rc=0
  # every test's timeout has room for a host several times slower than
  # the 2-core machine the suite was written on; a slower one still can
  # scale them all: RBPE_TEST_TIMEOUT_MULTIPLIER=3 tools/setup.sh test
  tm=${RBPE_TEST_TIMEOUT_MULTIPLIER:-1}
  meson test -C build --print-errorlogs --timeout-multiplier "$tm" || rc=1
  build_sanitized
  meson test -C build-san --print-errorlogs --timeout-multiplier "$tm" || rc=1
  build_reduced
  meson test -C build-ref --print-errorlogs --timeout-multiplier "$tm" || rc=1
  tools/fuzz.sh 60 || rc=1
  python3 tools/test_summary.py build/meson-logs/testlog.json \
    build-san/meson-logs/testlog.json build-ref/meson-logs/testlog.json \
    build-fuzz/fuzz-results.txt || rc=1
  exit $rc
  ;;
*)
  echo "usage: tools/setup.sh [run|test|deps|build]" >&2
  exit 2
  ;;
esac
