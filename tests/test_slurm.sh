#!/bin/bash
# tools/slurm-experiment.sh against a real single-node Slurm: the test
# starts munged, slurmctld and slurmd as root on this machine with a
# private configuration (its own ports, state and socket under a temporary
# folder), submits a small grid as a 2-task job array and its collect job,
# waits for them, and compares the report with one process's. Needs root
# and Debian's slurm-wlm and munge; without them it is skipped (77), in CI
# it fails.
#   usage: test_slurm.sh PATH/TO/rbpe
set -u
RBPE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "${RBPE_SOURCE_ROOT:?}" || exit 1
missing=""
for c in munged slurmctld slurmd sbatch squeue; do
  command -v "$c" >/dev/null || missing="$missing $c"
done
[ "$(id -u)" -eq 0 ] || missing="$missing (root)"
if [ -n "$missing" ]; then
  if [ "${CI:-}" = true ]; then
    echo "FAIL: Slurm test needs:$missing (apt-get install slurm-wlm munge, as root)"
    exit 1
  fi
  echo "skip: Slurm test needs:$missing"
  exit 77
fi
D=$(mktemp -d /tmp/rbpe-slurm.XXXXXX)
stop() {
  for p in "$D/slurmd.pid" "$D/slurmctld.pid" "$D/munged.pid"; do
    [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null
  done
  sleep 1
  rm -rf "$D"
}
trap stop EXIT
chmod 700 "$D"
mkdir "$D/state" "$D/spool" "$D/out"
head -c 1024 /dev/urandom >"$D/munge.key"
chmod 600 "$D/munge.key"
munged --force --key-file="$D/munge.key" --socket="$D/munge.sock" \
  --pid-file="$D/munged.pid" --log-file="$D/munged.log" --seed-file="$D/munge.seed" ||
  { echo "FAIL: munged did not start"; exit 1; }
# ports of this test's own (two adjacent ones picked from the PID)
port=$((20000 + ($$ % 20000)))
cat >"$D/slurm.conf" <<EOF
ClusterName=rbpetest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$D/munge.sock
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=rbpe Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$D/slurm.conf"
slurmctld -f "$SLURM_CONF" -i || { echo "FAIL: slurmctld did not start"; exit 1; }
slurmd -f "$SLURM_CONF" -N localhost || { echo "FAIL: slurmd did not start"; cat "$D/slurmd.log"; exit 1; }
for _ in $(seq 1 30); do
  sinfo -h -o %T 2>/dev/null | grep -q idle && break
  sleep 1
done
sinfo -h -o %T | grep -q idle || { echo "FAIL: the Slurm node never came up"; tail "$D/slurmctld.log"; exit 1; }

small="--quick --layers 1 --learned graph --uniform 0.04,0.1 --rff 10 --no-nerf -d cpu"
# shellcheck disable=SC2086
RBPE="$RBPE" tools/slurm-experiment.sh "$D/out" 2 $small >"$D/submit.log" 2>&1 ||
  { echo "FAIL: slurm-experiment.sh"; cat "$D/submit.log"; exit 1; }
for _ in $(seq 1 600); do
  [ -z "$(squeue -h 2>/dev/null)" ] && break
  sleep 1
done
[ -z "$(squeue -h)" ] || { echo "FAIL: Slurm jobs still queued after 600 s"; squeue; exit 1; }
[ -s "$D/out/report/RESULTS.md" ] ||
  { echo "FAIL: no report from the collect job"; cat "$D/out/collect.log" "$D/out"/slurm-*.log; exit 1; }
# shellcheck disable=SC2086
"$RBPE" experiment $small --out "$D/one" >/dev/null 2>&1 || { echo "FAIL: one process"; exit 1; }
# the report but its command line and its device line (one OpenMP thread
# per task against the machine's)
body() { grep -v -e '^rbpe experiment' -e '^Device:' "$1/RESULTS.md"; }
if ! cmp -s <(body "$D/out/report") <(body "$D/one"); then
  echo "FAIL: the Slurm report differs from one process's"
  diff <(body "$D/out/report") <(body "$D/one") | head
  exit 1
fi
for k in 1 2; do
  [ -s "$D/out/s$k/fits.bin" ] || { echo "FAIL: task $k left no fits.bin"; exit 1; }
done
cat "$D/submit.log"
echo "slurm: a 2-task job array and its collect job give one process's report"
