#!/bin/sh
# Chaos task for reaper's tests: every way a batch task can try to outlive its launcher.
# $1 = mode; CHAOS_TOKEN (from the batch env) tags the env -i escapee, which has no REAPER_RUN.
mode="$1"
echo "chaos $mode: pid $$ run ${REAPER_RUN:-?} task ${REAPER_TASK:-?}"
case "$mode" in
  ok)
    sleep "${CHAOS_SECONDS:-0.2}"; exit 0 ;;
  fail)
    sleep 0.2; echo "chaos: failing with exit 3" >&2; exit 3 ;;
  hang)
    sleep 1000 & sleep 1000 & wait ;;
  sigstop)
    # a member stops itself (T), the leader waits for it forever
    sh -c 'kill -STOP $$; sleep 1000' & wait ;;
  ignore-term)
    trap '' TERM
    sh -c 'trap "" TERM; while :; do sleep 1; done' &
    while :; do sleep 1; done ;;
  fork)
    # forks continuously
    while :; do sleep 1000 & sleep 0.05; done ;;
  escape)
    # setsid + double fork: the grandchild leaves the session and is adopted by init
    setsid sh -c 'sh -c "sleep 1000" & exit 0'
    # env -i escapee: no REAPER_RUN in its environment (only cgroup / PID namespace catch it)
    setsid env -i CHAOS_ESCAPEE="${CHAOS_TOKEN:-none}" sh -c 'sleep 1000 & exit 0'
    sleep 1000 ;;
  *)
    echo "chaos: unknown mode $mode" >&2; exit 64 ;;
esac
