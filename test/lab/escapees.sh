#!/bin/bash
# Job payload for containment tests: forks processes that try to outlive the job in the usual ways,
# prints their pids, then waits. Each one's argv[0] is lab-esc-<TAG>-<kind>, so a test finds exactly
# these in /proc/*/cmdline.   escapees.sh TAG
T=${1:?usage: escapees.sh TAG}
n() { printf 'lab-esc-%s-%s' "$T" "$1"; }
bash -c "exec -a $(n child) sleep 3600" &
setsid bash -c "exec -a $(n setsid) sleep 3600" </dev/null >/dev/null 2>&1 &      # own session
( bash -c "exec -a $(n doublefork) sleep 3600" & ) &                               # reparented to PID 1
bash -c "trap '' TERM HUP INT; exec -a $(n ignoreterm) sleep 3600" &               # SIG_IGN survives exec
python3 -c '
import os, sys
if os.fork(): os._exit(0)
os.setsid()
if os.fork(): os._exit(0)
os.execvp("sleep", [sys.argv[1], "3600"])' "$(n daemon)" &                       # daemon(3): fork, setsid, fork
echo "escapees of $T started by job ${SLURM_JOB_ID:-?}"
wait
