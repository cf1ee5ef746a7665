#!/bin/bash
# validation fits: each uniform sigma on regular:2+val:0.1 (the training
# samples less a seeded 10 %), scored on that 10 % only
here=$(cd "$(dirname "$0")" && pwd)
R=$here/tools/rbpe
mkdir -p $OUT/sw
echo "image,diag,config,seed,val_psnr" > $OUT/sweep3.csv
for img in camera128 astronaut128; do
 for seed in 0 1 2; do
  for diag in 0 1; do
   for s in 0.02 0.03 0.04 0.06; do
    flags="--sigma uniform:$s"; [ $diag = 1 ] && flags="$flags --diagonals"
    p=$($R fit $here/data/$img.png --split regular:2+val:0.1 --steps 1000 --seed $seed -d cl -q --json -o $OUT/sw/o $flags 2>$OUT/sw/err | python3 -c "import json,sys; print('%.3f' % json.load(sys.stdin)['test_psnr'])")
    echo "$img,$diag,u$s,$seed,$p" | tee -a $OUT/sweep3.csv
   done
  done
 done
done
