#!/bin/sh
# The runs behind README.md, from the repository root with a built rbpe
# (build/tools/rbpe, or RBPE): each as two shards on a 2-core EPYC and a
# collect run. OUT: where the folders go (/tmp); a run's report and
# results.csv are in OUT/NAME/report.
# The CSVs here are the runs' results.csv. The baselines (uniform sigma,
# RFF) and the previous default's fits for seeds 0 and 1 are in
# ../2026-11-29-cpu-directions (same grid options, same seeds).
set -e
out=${OUT:-/tmp}
photos="--images tests/data/camera128.png,tests/data/astronaut256.png,tests/data/chelsea128.png \
  --heldout chelsea128 --size 128 --signals none --no-nerf -d cpu --directions 8"
# two shards, both at once, one OpenMP thread each, then the collect run
# (tools/experiment-shards.sh; a day's deadline, which these runs never
# reach: a report that lists settings with missing seeds means a shard
# failed, and OUT/NAME/shards/times.txt says which)
run() { # NAME OPTIONS...
  name=$1; shift
  tools/experiment-shards.sh "$out/$name" 2 2 86400 $photos "$@"
}
# random 10 %: the relative range (the previous default), the local range,
# and the local range with a top of 3 spacings, four seeds, test fits only
for layers in 1 3; do
  run seeds4-r10-${layers}L --splits random10 --layers $layers --seeds 4 \
    --learned default+rel,default+local,default+local+smax=3 --uniform none --rff none --no-validation
done
# regular 25 %, one hidden layer: the local range, the two seeds of the
# baselines in ../2026-11-29-cpu-directions
run local-r25-1L --splits regular25 --layers 1 --seeds 2 \
  --learned default+local --uniform none --rff none --no-validation
# regular 25 %, three hidden layers, four seeds
run seeds4-r25-3L --splits regular25 --layers 3 --seeds 4 \
  --learned default+rel,default+local,default+local+smax=3 --uniform none --rff none --no-validation
# after the change: the default (local) and the uniform baselines at three
# layers and random 10 %, four seeds, with the validation fits
run base4-r10-3L --splits random10 --layers 3 --seeds 4 --learned default \
  --uniform 0.1,0.06,0.04 --rff none
