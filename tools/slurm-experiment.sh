#!/bin/bash
# An `rbpe experiment` grid on a Slurm cluster: N shards as one job array
# (task K runs --shard K/N into OUT/sK, resuming from its journal when the
# task runs again), then a collect job that starts when every task has
# ended (afterany) and writes the report into OUT/report.
#
#   tools/slurm-experiment.sh OUT N [EXPERIMENT OPTIONS...]
#
# Environment:
#   RBPE         the rbpe binary the nodes run (default: this checkout's
#                build/tools/rbpe, which must be on a shared file system)
#   SBATCH_OPTS  options for every job, e.g. "--partition=gpu --gres=gpu:1
#                --cpus-per-task=8 --time=4:00:00" (default: none)
#   PARTIAL=1    collect with --partial: report what finished when tasks
#                failed, instead of failing with the list of missing fits
#
# A task gets OMP_NUM_THREADS from --cpus-per-task. Prints the two job ids;
# follow with squeue, read OUT/slurm-K.log and OUT/collect.log. A failed
# task: resubmit it alone (sbatch --array=K OUT/shards.sbatch), then the
# collect (sbatch OUT/collect.sbatch).
set -eu
if [ $# -lt 2 ]; then
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
out=$1
n=$2
shift 2
case $n in '' | *[!0-9]*) echo "slurm-experiment: N must be a number" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] || { echo "slurm-experiment: N must be at least 1" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
rbpe=${RBPE:-$here/build/tools/rbpe}
[ -x "$rbpe" ] || { echo "slurm-experiment: no rbpe at $rbpe (build it, or set RBPE)" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "slurm-experiment: sbatch not found" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

# the grid's options, quoted once for the batch scripts
opts=""
for a in "$@"; do opts="$opts $(printf '%q' "$a")"; done
dirs=""
for k in $(seq 1 "$n"); do dirs="$dirs${dirs:+,}$out/s$k"; done

cat >"$out/shards.sbatch" <<EOF
#!/bin/bash
#SBATCH --job-name=rbpe-shard
#SBATCH --array=1-$n
#SBATCH --output=$out/slurm-%a.log
export OMP_NUM_THREADS=\${SLURM_CPUS_PER_TASK:-\${OMP_NUM_THREADS:-1}}
cd $(printf '%q' "$here")
exec $(printf '%q' "$rbpe") experiment$opts --shard \$SLURM_ARRAY_TASK_ID/$n --out $(printf '%q' "$out")/s\$SLURM_ARRAY_TASK_ID
EOF
cat >"$out/collect.sbatch" <<EOF
#!/bin/bash
#SBATCH --job-name=rbpe-collect
#SBATCH --output=$out/collect.log
cd $(printf '%q' "$here")
exec $(printf '%q' "$rbpe") experiment$opts --collect $(printf '%q' "$dirs")${PARTIAL:+ --partial} --out $(printf '%q' "$out")/report
EOF
# shellcheck disable=SC2086
array=$(sbatch --parsable ${SBATCH_OPTS:-} "$out/shards.sbatch")
array=${array%%;*}
# shellcheck disable=SC2086
collect=$(sbatch --parsable ${SBATCH_OPTS:-} --dependency=afterany:"$array" "$out/collect.sbatch")
collect=${collect%%;*}
echo "shards: job array $array ($n tasks, logs $out/slurm-K.log)"
echo "collect: job $collect after them all (log $out/collect.log, report $out/report/RESULTS.md)"
