#!/usr/bin/env bash
# Cross-vendor check on a machine with an NVIDIA GPU whose driver ships
# libnvidia-opencl but no ICD loader or vendor file (a CUDA container):
# registers the driver with the ICD loader in a private vendors folder, then
# runs the OpenCL unit tests, `rbpe check`, the benchmarks and timed fits on
# every usable device, and (when python3 has torch with CUDA) the PyTorch
# peer on the GPU. Output: one log per step in OUTDIR.
#   usage: tools/gpu-check.sh BUILDDIR LIBDIR OUTDIR [STEP...]
# LIBDIR holds the shared libraries the build links, copied from the build
# machine (libOpenCL.so.1 libclblast.so.1 libopenblas.so.0 libgomp.so.1
# libgfortran.so.5 libquadmath.so.0 libpng16.so.16): tools/gpu-libs.sh
# fills it. STEP: tests check bench peer fit sigma tune (default: all).
# Environment: BENCH_LAYERS / PEER_LAYERS (hidden layer counts), TUNE_GEMM
# (own, clblast; empty: both), TUNE_CANDIDATES, TUNE_SECONDS, TESTS (the
# unit tests to run, default "ops embed graph fit"), STEP_TIMEOUT (seconds
# any one step may take; default none).
# With BUILDDIR/rbpe-before (an older build's rbpe), bench also times it in
# the same run, before the current one, for a before/after ratio.
set -u
build=$(cd "$1" && pwd) libdir=$(cd "$2" && pwd); mkdir -p "$3"
out=$(cd "$3" && pwd); shift 3
steps=${*:-tests check bench peer fit sigma tune}

vendors=$(mktemp -d)
icd=""
for f in /usr/local/nvidia/lib64/libnvidia-opencl.so.1 \
         /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1; do
  [ -e "$f" ] && { icd=$f; break; }
done
[ -n "$icd" ] || icd=$(find / -xdev -name 'libnvidia-opencl.so*' 2>/dev/null | head -n 1)
[ -n "$icd" ] && echo "$icd" > "$vendors/nvidia.icd"
for f in /etc/OpenCL/vendors/*.icd; do [ -e "$f" ] && cp "$f" "$vendors/"; done
export OCL_ICD_VENDORS=$vendors
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export RBPE_TEST_DATA=$PWD/tests/data RBPE_SOURCE_ROOT=$PWD
export RBPE_CACHE_DIR=$out/cache RBPE_REQUIRE_OPENCL=1
rbpe=$build/tools/rbpe
echo "NVIDIA OpenCL library: ${icd:-none}" | tee "$out/summary.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
  2>&1 | tee -a "$out/summary.txt"

# run NAME CMD...: log to OUTDIR/NAME.log, one summary line with rc and time
run() {
  local name=$1; shift
  local t0=$(date +%s%N)
  ${STEP_TIMEOUT:+timeout $STEP_TIMEOUT} "$@" > "$out/$name.log" 2>&1
  local rc=$? t1=$(date +%s%N)
  printf '%-28s rc=%-3d %7.1f s\n' "$name" "$rc" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print (b-a)/1e9}')" | tee -a "$out/summary.txt"
}
has() { case " $steps " in *" $1 "*) return 0;; esac; return 1; }

run devices "$rbpe" devices
cat "$out/devices.log"
gpu=cl   # the first usable OpenCL device: the GPU here
if has tests; then
  for t in ${TESTS:-ops embed graph fit}; do run "test_$t" "$build/tests/test_$t"; done
fi
has check && run check "$rbpe" check --device all
if has bench; then
  [ -x "$build/rbpe-before" ] &&
    run bench_cl_before "$build/rbpe-before" bench --device $gpu --batches 12:18 --seconds 0.5
  run bench_cl "$rbpe" bench --device $gpu --batches ${BENCH_BATCHES:-12:18} \
      --layers ${BENCH_LAYERS:-1,3} --seconds 0.5 --gemm both
  # the float32 own kernels where the GPU's default is 3xTF32 on tensor
  # cores (rbpe devices says which)
  RBPE_MMA=off run bench_cl_f32 "$rbpe" bench --device $gpu --batches 14:18 \
      --layers 3 --seconds 0.5 --gemm own
  run bench_cpu "$rbpe" bench --device cpu --batches 14:14 --seconds 0.5
  # the banded first layer against the dense one (fits stay dense on GPUs
  # until this says the band pays there)
  run bench_band "$rbpe" bench --device $gpu --batches 14:18 --layers 3 \
      --seconds 0.5 --first-layer both
fi
if has peer && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  run peer_cuda python3 tools/peer_bench_torch.py --device cuda \
      --batches 4096,16384,65536,262144 --seconds 0.5 --layers ${PEER_LAYERS:-1,3}
fi
if has fit; then
  for s in ${FIT_SIGMAS:-uniform:0.04 graph poly}; do
    run "fit_${s//:/_}_$gpu" "$rbpe" fit tests/data/camera256.png --split regular:2 \
        --sigma "$s" --steps 2000 --device $gpu --out "$out/fit_${s//:/_}"
  done
fi
if has sigma; then
  run bench_sigma_cl "$rbpe" bench --sigma --device $gpu
  run bench_sigma_cpu "$rbpe" bench --sigma --device cpu --sides 256,512
fi
if has tune; then
  # rbpe's own kernels' tiles (TUNE_GEMM=clblast: CLBlast's sets; both:
  # either), then the same benchmark on the tuned device, both GEMMs
  run tune "$rbpe" tune --device $gpu --candidates ${TUNE_CANDIDATES:-24} \
      --seconds ${TUNE_SECONDS:-0.2} ${TUNE_GEMM:+--gemm $TUNE_GEMM}
  run bench_cl_tuned "$rbpe" bench --device $gpu --batches 14:18 --layers 3 \
      --seconds 0.5 --gemm both
fi
echo "logs: $out"
