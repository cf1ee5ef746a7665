#!/bin/bash
here=$(cd "$(dirname "$0")" && pwd)
R=$here/tools/rbpe
mkdir -p $OUT/sw
echo "image,split,config,seed,test_psnr" > $OUT/sweep2.csv
run() { # img split name seed flags...
  img=$1 split=$2 name=$3 seed=$4; shift 4
  p=$($R fit $here/data/$img.png --split $split --steps 1000 --seed $seed -d cl -q --json -o $OUT/sw/o "$@" 2>$OUT/sw/err | python3 -c "import json,sys; print('%.3f' % json.load(sys.stdin)['test_psnr'])")
  echo "$img,$split,$name,$seed,$p" | tee -a $OUT/sweep2.csv
}
for img in camera128 astronaut128; do
 for seed in 0 1 2; do
  for s in 0.02 0.03 0.04 0.06; do run $img regular:2 diag_u$s $seed --diagonals --sigma uniform:$s; done
  run $img regular:2 diag_graph $seed --diagonals --sigma graph
  run $img regular:2 diag_graph_norm $seed --diagonals --sigma graph --rbf-norm
  run $img regular:2 diag_graph_smax2 $seed --diagonals --sigma graph --smax 2
  for s in 0.03 0.05 0.08; do run $img random:0.1 u$s $seed --sigma uniform:$s; done
  run $img random:0.1 graph $seed --sigma graph
  run $img random:0.1 graph_norm $seed --sigma graph --rbf-norm
  run $img random:0.1 graph_smax2 $seed --sigma graph --smax 2
 done
done
