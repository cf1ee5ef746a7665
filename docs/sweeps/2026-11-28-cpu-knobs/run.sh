#!/bin/sh
# The two runs behind README.md, from the repository root with a built
# rbpe (build/tools/rbpe). One OpenMP thread each, on a 2-core EPYC.
set -e
common="--images tests/data/camera128.png,tests/data/astronaut256.png,tests/data/chelsea128.png \
  --heldout chelsea128 --size 128 --signals none --splits regular25 --no-nerf \
  --layers 1 --seeds 2 -d cpu"
# the learned sigma's knobs, one at a time from the default
OMP_NUM_THREADS=1 build/tools/rbpe experiment $common \
  --learned default,default+k=16,default+k=4,default+eps=0.25,default+eps=1,default+lambda=0.5,default+gamma=0.03,default+sw=2 \
  --uniform 0.06,0.04,0.03,0.02 --rff 5,10 --out "${OUT:-/tmp}/knobs"
# the baselines' grids extended below the first run's smallest candidates
OMP_NUM_THREADS=1 build/tools/rbpe experiment $common \
  --learned default --uniform 0.02,0.015,0.01 --rff 2.5,5 --out "${OUT:-/tmp}/baselines"
# the range's top and bottom (no validation fits: the oracle view only)
OMP_NUM_THREADS=2 build/tools/rbpe experiment $common --no-validation \
  --learned default,default+smax=3,default+smax=4,default+smin=1+smax=4,default+nonorm+smax=4 \
  --uniform 0.02 --rff 2.5 --out "${OUT:-/tmp}/range"
# centres per axis, one seed (rbpe fit's defaults but one hidden layer)
for img in camera128 chelsea128; do for D in 64 128 256; do
  build/tools/rbpe fit tests/data/$img.png --layers 1 --steps 1000 --centres $D \
    --device cpu --out "${OUT:-/tmp}/centres_${img}_$D" --quiet
done; done
