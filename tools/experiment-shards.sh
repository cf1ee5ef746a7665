#!/usr/bin/env bash
# Runs one `rbpe experiment` grid as N shards, P at a time, on one machine
# (for a GPU, whose single process leaves it mostly idle), all stopped at a
# common deadline, then collects them into one report; shards stopped by
# the deadline give the fits their journals hold (--partial).
#   usage: tools/experiment-shards.sh OUT N P SECONDS [EXPERIMENT OPTIONS...]
# RBPE names the rbpe binary (build/tools/rbpe). The shards' folders are
# OUT/shards/sK; the report is OUT/report.
set -u
[ $# -ge 4 ] || { sed -n '2,9p' "$0"; exit 2; }
out=$1 n=$2 p=$3 secs=$4
shift 4
rbpe=${RBPE:-build/tools/rbpe}
mkdir -p "$out/shards" || exit 1
end=$(( $(date +%s) + secs ))
export RBPE_SHARD_END=$end RBPE_SHARD_BIN=$rbpe RBPE_SHARD_OUT=$out RBPE_SHARD_N=$n
# one OpenMP thread per shard: the shards are the parallelism
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
seq 1 "$n" | xargs -P "$p" -I{} bash -c '
  rem=$(( RBPE_SHARD_END - $(date +%s) ))
  [ "$rem" -gt 10 ] || exit 0
  start=$(date +%s)
  timeout "$rem" "$RBPE_SHARD_BIN" experiment "$@" --shard {}/"$RBPE_SHARD_N" \
    --out "$RBPE_SHARD_OUT/shards/s{}" >"$RBPE_SHARD_OUT/shards/s{}.log" 2>&1
  echo "shard {}: exit $?, $(( $(date +%s) - start )) s" >>"$RBPE_SHARD_OUT/shards/times.txt"
' _ "$@"
dirs=$(find "$out/shards" -mindepth 1 -maxdepth 1 -type d | sort -V | paste -sd, -)
[ -n "$dirs" ] || { echo "experiment-shards: no shard started" >&2; exit 1; }
"$rbpe" experiment "$@" --collect "$dirs" --partial --out "$out/report"
