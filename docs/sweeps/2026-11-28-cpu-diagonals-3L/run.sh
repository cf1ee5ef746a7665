#!/bin/sh
# The runs behind README.md, from the repository root with a built rbpe
# (build/tools/rbpe, or RBPE): each as two shards on a 2-core EPYC and a
# collect run. OUT: where the folders go (/tmp); a run's report and
# results.csv are in OUT/NAME/report.
set -e
out=${OUT:-/tmp}
photos="--images tests/data/camera128.png,tests/data/astronaut256.png,tests/data/chelsea128.png \
  --heldout chelsea128 --size 128 --signals none --splits regular25 --no-nerf --seeds 2 -d cpu \
  --learned default --uniform 0.03,0.02,0.015,0.01 --rff 1.5,2.5,5"
# two shards, both at once, one OpenMP thread each, then the collect run
# (tools/experiment-shards.sh; a day's deadline, which these runs never
# reach: a report that lists settings with missing seeds means a shard
# failed, and OUT/NAME/shards/times.txt says which)
run() { # NAME OPTIONS...
  name=$1; shift
  tools/experiment-shards.sh "$out/$name" 2 2 86400 $photos "$@"
}
run diagonals-1L --layers 1 --diagonals   # diagonals-1L.csv
run axes-3L --layers 3                    # axes-3L.csv
run diagonals-3L --layers 3 --diagonals   # diagonals-3L.csv
# random 10 %, one hidden layer, a uniform grid up to 0.1 (the best sigma
# is larger at that density): random10-1L.csv
photos=$(echo "$photos" | sed 's/regular25/random10/; s/--uniform [^ ]*/--uniform 0.1,0.06,0.04,0.03,0.02/')
run random10-1L --layers 1
