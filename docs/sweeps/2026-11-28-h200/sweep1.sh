#!/bin/bash
# multi-seed sweep of sigma settings on the GPU (issue 14 hints)
here=$(cd "$(dirname "$0")" && pwd)
R=$here/tools/rbpe
mkdir -p $OUT/sw
echo "image,config,seed,test_psnr,seconds" > $OUT/sweep.csv
for img in camera128 astronaut128; do
 for seed in 0 1 2; do
  for cfg in "u0.02:--sigma uniform:0.02" "u0.03:--sigma uniform:0.03" "u0.04:--sigma uniform:0.04" "u0.06:--sigma uniform:0.06" \
             "graph:--sigma graph" "graph_norm:--sigma graph --rbf-norm" "graph_smax2:--sigma graph --smax 2" "graph_norm_smax2:--sigma graph --rbf-norm --smax 2"; do
    name=${cfg%%:*}; flags=${cfg#*:}
    line=$($R fit $here/data/$img.png --steps 1000 --seed $seed -d cl -q --json -o $OUT/sw/o $flags 2>$OUT/sw/err | python3 -c "import json,sys; d=json.load(sys.stdin); print('%.3f,%.1f' % (d['test_psnr'], d['seconds']))")
    echo "$img,$name,$seed,$line" | tee -a $OUT/sweep.csv
  done
 done
done
