#!/usr/bin/env bash
# Re-capture test/fixtures/slurm/ from the running lab (start.sh first). Submits a handful of jobs
# in known states, saves what the clients print, then stops slurmctld for a while to capture the
# "controller unreachable" texts (and starts it again). Each file's first use is in
# test/unit/slurm-*.test.ts; errors.json says which command printed which error text.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
OUT=${1:-$HERE/../fixtures/slurm}
mkdir -p "$OUT"
set -a; . "$SLURM_LAB_DIR/env"; set +a
unset SQUEUE_FORMAT SQUEUE_FORMAT2 SACCT_FORMAT SINFO_FORMAT
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT; cd "$W"
X=$HERE/exec-argv.sh
sub() { sbatch --parsable -o /dev/null "$@"; }
state() { squeue -h -t all -j "$1" -o %T 2>/dev/null; }
is() { [ "$(state "$1")" = "$2" ]; }

ok=$(sub -J cap-ok "$X" true)
seven=$(sub -J cap-exit7 "$X" sh -c 'exit 7')
sig=$(sub -J cap-sigkill "$X" sh -c 'kill -9 $$')
run=$(sub -J cap-running --gres=gpu:1 "$X" sleep 300)
poll 20 is "$run" RUNNING
dep=$(sub -J cap-dependent --dependency=afterok:"$run" "$X" true)
held=$(sub -J cap-held --hold "$X" true)
bad=$(sub -J cap-badparent "$X" false)
poll 20 is "$bad" FAILED
kid=$(sub -J cap-killdep --kill-on-invalid-dep=yes --dependency=afterok:"$bad" "$X" true)
can=$(sub -J cap-cancelled "$X" sleep 300); poll 20 is "$can" RUNNING; scancel "$can"
odd=$(sub -J $'odd|name with\nnewline' --comment 'c|x' --hold "$X" true)
for j in "$ok" "$seven" "$sig" "$kid"; do poll 20 bash -c "s=\$(squeue -h -t all -j $j -o %T); [ \"\$s\" != PENDING ] && [ \"\$s\" != RUNNING ] && [ \"\$s\" != COMPLETING ]"; done
poll 20 is "$can" CANCELLED
sleep 1   # let the jobcomp file catch up

F='%i|%T|%r|%u|%P|%N|%M'
squeue -h -t all -o "$F" >"$OUT/squeue-o-22.05.txt"
squeue -h -t all -o "$F|%j" -j "$odd,$run" >"$OUT/squeue-o-name-newline-22.05.txt"
squeue --json >"$OUT/squeue-json-22.05.json"
scontrol show job -o >"$OUT/scontrol-show-job-o-22.05.txt"
sacct -c -P -n -o JobID,State,ExitCode,Elapsed,NodeList >"$OUT/sacct-c-22.05.txt" 2>&1 || true
printf '%s\n' "ok=$ok exit7=$seven sigkill=$sig running=$run dependent=$dep held=$held badparent=$bad killdep=$kid cancelled=$can odd=$odd" \
  "$(sinfo -V)" "captured $(date -u +%FT%TZ) by test/lab/capture-fixtures.sh" >"$OUT/JOBS-22.05.txt"

# error texts: file <- command, exit code and stream recorded in errors.json. kind "none": the
# command succeeded (the classifier must not invent an error). errors/handwritten.json is not ours.
ERR=$OUT/errors; mkdir -p "$ERR"; idx=()
cap() { # cap NAME KIND CMD...: run CMD, keep stderr (and stdout when stderr is empty)
  local name=$1 kind=$2 rc; shift 2
  rc=0; "$@" >"$W/o" 2>"$W/e" || rc=$?
  if [ -s "$W/e" ]; then cp "$W/e" "$ERR/$name.txt"; s=stderr; else cp "$W/o" "$ERR/$name.txt"; s=stdout; fi
  idx+=("  \"$name.txt\": { \"exitCode\": $rc, \"stream\": \"$s\", \"kind\": \"$kind\", \"argv\": \"${*//\"/\\\"}\" }")
}
cap sbatch-invalid-partition invalid-partition sbatch --parsable -p nosuch "$X" true
cap squeue-unknown-partition-quiet none squeue -h -p nosuch        # no error: an empty list
cap sbatch-account-unchecked none sbatch --parsable -A nosuch "$X" true  # accepted: no accounting here
cap scontrol-invalid-job invalid-job scontrol show job -o 999999
cap squeue-invalid-job invalid-job squeue -h -j 999999
cap scancel-unknown-job-quiet none scancel 999999                 # silent, exit 0 in 22.05
cap sacct-disabled accounting-disabled sacct -X -P -n -o JobID,State,ExitCode
cap scancel-other-user permission runuser -u nobody -- scancel "$held"
cap scontrol-hold-other-user permission runuser -u nobody -- scontrol hold "$held"
cap sbatch-gres-too-many invalid-request sbatch --parsable --gres=gpu:99 "$X" true
cap sbatch-bad-option usage sbatch --parsable --no-such-option "$X" true

ctld=$(pid_of "$SLURM_LAB_DIR/slurmctld.pid" slurmctld)
stop_one slurmctld "$ctld" 10
t=$(ms); cap squeue-unreachable controller-unreachable squeue -h -o %i; say "squeue with no controller took $(( $(ms) - t )) ms"
t=$(ms); cap sbatch-unreachable controller-unreachable sbatch --parsable "$X" true; say "sbatch with no controller took $(( $(ms) - t )) ms"
cap scancel-unreachable controller-unreachable scancel 999999
cap scontrol-ping-down controller-unreachable scontrol ping
slurmctld -f "$SLURM_CONF"
poll 30 bash -c 'timeout 3 scontrol ping | grep -q "is UP"'
# munged down: every client fails before it talks to the controller
m=$(pid_of "$SLURM_LAB_DIR/munged.pid" munged || true)
if [ -n "$m" ]; then
  stop_one munged "$m" 5
  cap squeue-munge-down auth squeue -h -o %i
  runuser -u munge -- munged --pid-file="$MUNGE_RUN/munged.pid"; cp "$MUNGE_RUN/munged.pid" "$SLURM_LAB_DIR/munged.pid"
  poll 5 bash -c 'munge -n | unmunge'
fi
{ echo "{"; (IFS=$'\n'; echo "${idx[*]}" | sed '$!s/$/,/'); echo "}"; } >"$ERR/errors.json"
scancel "$run" "$dep" "$held" "$odd" 2>/dev/null || true
say "fixtures in $OUT"
