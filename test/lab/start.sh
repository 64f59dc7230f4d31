#!/usr/bin/env bash
# Start the Slurm lab: a real single-node cluster (munged, slurmctld, slurmd from Debian) with
# proctrack/cgroup and LAB_GPUS fake GPUs. Installs the packages if missing. Idempotent: a lab that
# is up is left alone. Needs root. Writes $SLURM_LAB_DIR/env (KEY=VALUE lines) for the tests.
#
#   LAB_GPUS=4          fake GPUs: char devices major 195 under $SLURM_LAB_DIR/dev, never /dev
#                       (reaper reads a /dev/nvidiaN node as "an NVIDIA driver is present")
#   LAB_PROCTRACK=auto  auto | cgroup | linuxproc | pgid
#   LAB_FORCE=1         overwrite a slurm.conf this lab did not write
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root (daemons, cgroups, mknod)"
T0=$(ms)
LAB_GPUS=${LAB_GPUS:-4}
LAB_PROCTRACK=${LAB_PROCTRACK:-auto}
GPU_DIR=$SLURM_LAB_DIR/dev
CONF=$SLURM_ETC/slurm.conf
export SLURM_CONF=$CONF
unset SQUEUE_FORMAT SQUEUE_FORMAT2 SINFO_FORMAT SACCT_FORMAT

install_missing munge slurm-client slurmctld slurmd
T_PKG=$(ms)

ctld=$(pid_of "$SLURM_LAB_DIR/slurmctld.pid" slurmctld || true)
sd=$(pid_of "$SLURM_LAB_DIR/slurmd.pid" slurmd || true)
if [ -n "$ctld" ] && [ -n "$sd" ] && [ -s "$SLURM_LAB_DIR/env" ] && timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; then
  say "already up (slurmctld $ctld, slurmd $sd)"; exit 0
fi
if [ -e "$CONF" ] && ! grep -qF "$LAB_MARK" "$CONF" && [ "${LAB_FORCE:-0}" != 1 ]; then
  die "$CONF was not written by this lab (LAB_FORCE=1 overwrites it, SLURM_ETC=DIR puts the lab elsewhere)"
fi
"$HERE/stop.sh" >/dev/null 2>&1 || true     # half up or stale: start from a clean slate

NODE=$(hostname -s)
# slurmd -C prints this node as slurm.conf wants it; keep the hardware figures, add the rest.
HW=$(slurmd -C | sed -n 's/^NodeName=[^ ]* //p' | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=' | tr '\n' ' ')
[ -n "$HW" ] || die "slurmd -C printed no node line"

if [ "$LAB_PROCTRACK" = auto ]; then
  # Hybrid v1 + controller-less cgroup2 here: Slurm's autodetect picks cgroup/v1 and needs freezer.
  if [ -d /sys/fs/cgroup/freezer ] || [ -e /sys/fs/cgroup/cgroup.controllers ]; then LAB_PROCTRACK=cgroup
  else LAB_PROCTRACK=linuxproc; say "WARNING: no freezer cgroup: proctrack/linuxproc (double forks escape)"; fi
fi
if [ "$LAB_PROCTRACK" = cgroup ]; then TASK=task/cgroup,task/affinity; GATHER=jobacct_gather/cgroup
else TASK=task/affinity; GATHER=jobacct_gather/linux; fi

rm -rf "$SLURM_LAB_DIR"
mkdir -p "$SLURM_ETC" "$SLURM_LAB_DIR/ctld" "$SLURM_LAB_DIR/spool" "$GPU_DIR"
for ((i = 0; i < LAB_GPUS; i++)); do mknod -m 666 "$GPU_DIR/nvidia$i" c 195 "$i"; done
GRES=""; [ "$LAB_GPUS" -gt 0 ] && GRES="Gres=gpu:$LAB_GPUS"

cat >"$CONF" <<CONF
$LAB_MARK; rewritten on every start
ClusterName=reaperlab
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
StateSaveLocation=$SLURM_LAB_DIR/ctld
SlurmdSpoolDir=$SLURM_LAB_DIR/spool
SlurmctldPidFile=$SLURM_LAB_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_LAB_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_LAB_DIR/slurmctld.log
SlurmdLogFile=$SLURM_LAB_DIR/slurmd.log
MpiDefault=none
ProctrackType=proctrack/$LAB_PROCTRACK
TaskPlugin=$TASK
JobAcctGatherType=$GATHER
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
SchedulerType=sched/backfill
# start a submitted job at once (Slurm's defaults add 2-3 s per job)
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
GresTypes=gpu
# finished jobs stay in squeue -t all / scontrol show job for 10 min
MinJobAge=600
# TERM, then KILL after 5 s (default 30)
KillWait=5
ReturnToService=2
# no slurmdbd: plain sacct is disabled, sacct -c reads this file
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$SLURM_LAB_DIR/jobcomp.txt
NodeName=$NODE NodeAddr=127.0.0.1 $HW$GRES State=UNKNOWN
PartitionName=lab Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
{
  echo "$LAB_MARK"
  echo "AutoDetect=off"
  # char devices, not files: with regular files Slurm never sets CUDA_VISIBLE_DEVICES
  [ "$LAB_GPUS" -gt 0 ] && echo "NodeName=$NODE Name=gpu File=$GPU_DIR/nvidia[0-$((LAB_GPUS - 1))]"
} >"$SLURM_ETC/gres.conf"
cat >"$SLURM_ETC/cgroup.conf" <<CONF
$LAB_MARK
CgroupPlugin=autodetect
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=yes
ConstrainRAMSpace=yes
ConstrainDevices=yes
CONF

if timeout 3 munge -n 2>/dev/null | timeout 3 unmunge >/dev/null 2>&1; then
  say "munged is already running (not the lab's: stop.sh leaves it)"
else
  [ -s /etc/munge/munge.key ] || { mkdir -p /etc/munge; head -c 128 /dev/urandom >/etc/munge/munge.key; }
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
  mkdir -p "$MUNGE_RUN" /var/log/munge /var/lib/munge
  chown munge:munge "$MUNGE_RUN" /var/log/munge /var/lib/munge
  chmod 755 "$MUNGE_RUN"                     # clients must reach the socket
  runuser -u munge -- munged --pid-file="$MUNGE_RUN/munged.pid"
  cp "$MUNGE_RUN/munged.pid" "$SLURM_LAB_DIR/munged.pid"
  poll 5 bash -c 'munge -n | unmunge' || die "munged does not answer"
fi
T_MUNGE=$(ms)

slurmctld -f "$CONF" || die "slurmctld did not start: $(tail -5 "$SLURM_LAB_DIR/slurmctld.log" 2>/dev/null)"
slurmd -f "$CONF" || die "slurmd did not start: $(tail -5 "$SLURM_LAB_DIR/slurmd.log" 2>/dev/null)"
# every client call retries ~10 s while the controller is not listening yet: bound each one
idle() { [ "$(timeout 3 sinfo -h -n "$NODE" -o %T 2>/dev/null)" = idle ]; }
poll 30 idle || { tail -20 "$SLURM_LAB_DIR"/slurm*.log >&2; die "node $NODE never became idle"; }
T_UP=$(ms)

cat >"$SLURM_LAB_DIR/env" <<ENV
SLURM_CONF=$CONF
REAPER_LAB_SLURM_NODE=$NODE
REAPER_LAB_SLURM_PARTITION=lab
REAPER_LAB_GPUS=$LAB_GPUS
REAPER_LAB_FAKEGPU_DIR=$GPU_DIR
REAPER_LAB_PROCTRACK=proctrack/$LAB_PROCTRACK
REAPER_LAB_KILLWAIT_S=5
REAPER_LAB_JOBCOMP=$SLURM_LAB_DIR/jobcomp.txt
REAPER_LAB_SLURM_VERSION=$(sinfo -V | awk '{print $2}')
ENV
say "up: node $NODE, gpu:$LAB_GPUS, proctrack/$LAB_PROCTRACK; packages $((T_PKG - T0)) ms, munge $((T_MUNGE - T_PKG)) ms, daemons to idle $((T_UP - T_MUNGE)) ms, total $((T_UP - T0)) ms"
say "clients: export SLURM_CONF=$CONF (or: set -a; . $SLURM_LAB_DIR/env; set +a)"
