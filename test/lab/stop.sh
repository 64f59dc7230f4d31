#!/usr/bin/env bash
# Stop the Slurm lab. Idempotent. Signals only pids from the lab's own pid files (comm checked).
#   stop.sh          cancel jobs, stop slurmd, slurmctld and the lab's munged; keep logs
#   stop.sh --purge  also remove $SLURM_LAB_DIR and the config files start.sh wrote
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
export SLURM_CONF=$SLURM_ETC/slurm.conf
ctld=$(pid_of "$SLURM_LAB_DIR/slurmctld.pid" slurmctld || true)
sd=$(pid_of "$SLURM_LAB_DIR/slurmd.pid" slurmd || true)

if [ -n "$ctld" ] && [ -n "$sd" ]; then
  timeout 5 scancel --partition=lab >/dev/null 2>&1 || true
  # each live step has a stepd socket <node>_<job>.<step> in the spool; wait for them to go
  steps_gone() { ! compgen -G "$SLURM_LAB_DIR/spool/$(hostname -s)_[0-9]*" >/dev/null; }
  poll 15 steps_gone || say "WARNING: steps still running after 15 s"
fi
[ -n "$sd" ] && stop_one slurmd "$sd" 10          # a slurmd still registering may ignore TERM
[ -n "$ctld" ] && stop_one slurmctld "$ctld" 10
m=$(pid_of "$SLURM_LAB_DIR/munged.pid" munged || true)
[ -n "$m" ] && stop_one munged "$m" 5
# Slurm's v1 cgroup dirs are slurm_<node>; rmdir removes only the empty ones
for c in /sys/fs/cgroup/*/slurm /sys/fs/cgroup/*/slurm_*; do
  [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
done
rm -f "$SLURM_LAB_DIR/env"   # tests read it as "the lab is up"
if [ "${1:-}" = --purge ]; then
  rm -rf "$SLURM_LAB_DIR"; rmdir "$LAB_DIR" 2>/dev/null
  for f in slurm.conf gres.conf cgroup.conf; do
    grep -qF "$LAB_MARK" "$SLURM_ETC/$f" 2>/dev/null && rm -f "$SLURM_ETC/$f"
  done
fi
say "slurm lab stopped"
exit 0
