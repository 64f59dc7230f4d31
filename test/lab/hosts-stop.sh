#!/usr/bin/env bash
# Stop the hosts lab. Idempotent. Signals only the pids in $HOSTS_LAB_DIR/hostN/init.pid (comm
# checked), then empties each host's own cgroup (<cgroup2>/reaperlab-hostN) with cgroup.kill: every
# session and leftover of that host ends, and nothing else on the machine.
#   hosts-stop.sh          stop; keep keys and per-host homes
#   hosts-stop.sh --purge  also remove $HOSTS_LAB_DIR, and the lab user if hosts-start.sh created it
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
H=$HOSTS_LAB_DIR
LAB_SSH_USER=${LAB_SSH_USER:-reaperlab}
CG2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
rm -f "$H/env"   # the tests read it as "the lab is up"

for d in "$H"/host*/; do
  [ -d "$d" ] || continue
  d=${d%/} name=${d##*/}
  pid=$(pid_of "$d/init.pid" unshare || true)
  if [ -n "$pid" ]; then
    # unshare ignores TERM while it waits: end its child, the host's PID 1 (sshd), and with it the
    # whole namespace; unshare then exits by itself (and --kill-child covers the other order).
    init=$(cut -d' ' -f1 "/proc/$pid/task/$pid/children" 2>/dev/null)
    if [ -n "$init" ] && [ "$(cat "/proc/$init/comm" 2>/dev/null)" = sshd ]; then stop_one "$name sshd" "$init" 5; fi
    stop_one "$name" "$pid" 5
  fi
  cg=${CG2:+$CG2/reaperlab-$name}
  if [ -n "$cg" ] && [ -d "$cg" ]; then
    if [ -e "$cg/cgroup.kill" ] && [ -s "$cg/cgroup.procs" ]; then echo 1 >"$cg/cgroup.kill"; fi
    empty() { ! find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -q .; }
    poll 5 empty || say "WARNING: processes left in $cg"
    find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
  fi
  rm -f "$d/init.pid"
done
if [ "${1:-}" = --purge ]; then
  if [ -e "$H/.user-created" ] && id "$LAB_SSH_USER" >/dev/null 2>&1; then userdel -r "$LAB_SSH_USER" 2>/dev/null; fi
  rm -rf "$H"; rmdir "$LAB_DIR" 2>/dev/null
fi
say "hosts lab stopped"
exit 0
