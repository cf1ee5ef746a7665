#!/bin/sh
# The runs behind README.md, from the repository root with a built rbpe
# (build/tools/rbpe, or RBPE): each as two shards on a 2-core EPYC and a
# collect run. OUT: where the folders go (/tmp); a run's report and
# results.csv are in OUT/NAME/report.
# The CSVs here are the runs' results.csv (the journals of the shards).
set -e
out=${OUT:-/tmp}
photos="--images tests/data/camera128.png,tests/data/astronaut256.png,tests/data/chelsea128.png \
  --heldout chelsea128 --size 128 --signals none --no-nerf --seeds 2 -d cpu --directions 8"
# two shards, both at once, one OpenMP thread each, then the collect run
# (tools/experiment-shards.sh; a day's deadline, which these runs never
# reach: a report that lists settings with missing seeds means a shard
# failed, and OUT/NAME/shards/times.txt says which)
run() { # NAME OPTIONS...
  name=$1; shift
  tools/experiment-shards.sh "$out/$name" 2 2 86400 $photos "$@"
}
# regular 25 %, one hidden layer: angles8-1L.csv
run angles8-1L --splits regular25 --layers 1 --learned default \
  --uniform 0.03,0.02,0.015,0.01 --rff 1.5,2.5,5
# random 10 %, one hidden layer: random10-angles8-1L.csv
run random10-angles8-1L --splits random10 --layers 1 --learned default \
  --uniform 0.1,0.06,0.04,0.03,0.02 --rff 1.5,2.5,5
# regular 25 %, three hidden layers (RFF from ../2026-11-28-cpu-diagonals-3L/axes-3L.csv,
# whose RFF fits do not depend on the rbf directions): angles8-3L.csv
run angles8-3L --splits regular25 --layers 3 --learned default \
  --uniform 0.04,0.03,0.02,0.015 --rff none
# RFF with 512 features (1024 inputs, as 8 directions x 128 centres): rff512-1L.csv
run rff512-1L --splits regular25 --layers 1 --learned default --uniform none \
  --rff 1.5,2.5 --rff-features 512
# the learned range's top at 3 spacings: smax3-*.csv
run smax3-3L --splits regular25 --layers 3 --learned default+smax=3 --uniform none --rff none
# (run and stopped unfinished to make room for the next:)
# run smax3-1L --splits regular25 --layers 1 --learned default+smax=3 --uniform none --rff none
# three layers at random 10 % (run last, uniform 0.1-0.04, no RFF):
# random10-angles8-3L.csv
run random10-angles8-3L --splits random10 --layers 3 --learned default \
  --uniform 0.1,0.06,0.04 --rff none
# the top at 3 and 4 spacings there: smax34-r10-3L.csv
run smax34-r10-3L --splits random10 --layers 3 --learned default+smax=3,default+smax=4 \
  --uniform none --rff none
