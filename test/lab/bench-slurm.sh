#!/usr/bin/env bash
# Bench (issue 10): N short tasks through `reaper run --backend slurm` against a plain
# `sbatch --array` of the same command, on the lab, one after the other in the same run.
# Usage: test/lab/bench-slurm.sh [N]   (needs the lab up and a built dist/)
set -euo pipefail
N=${1:-50}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
set -a; . /var/lib/reaper-lab/slurm/env; set +a
work=$(mktemp -d /tmp/reaper-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
ms() { date +%s%3N; }

{
  echo "name: bench"; echo "backend: slurm"; echo "slurm: { gres: none }"; echo "tasks:"
  for i in $(seq 1 "$N"); do echo "  - {}"; done
  echo "stages:"; echo "  t:"; echo "    cmd: [true]"
} > "$work/bench.yaml"

t0=$(ms)
XDG_STATE_HOME=$work HOME=$work node "$repo/dist/src/cli/main.js" run "$work/bench.yaml" --json > "$work/reaper.jsonl" || true
t1=$(ms)
ok=$(grep -c '"ev":"task-end".*"status":"succeeded"' "$work/reaper.jsonl" || true)

t2=$(ms)
id=$(sbatch --parsable --gres=none -J reaper-bench-array --array=0-$((N - 1)) -o /dev/null -e /dev/null "$here/exec-argv.sh" true)
while squeue -h -j "$id" -t PENDING,RUNNING,COMPLETING -o %i | grep -q .; do sleep 0.2; done
t3=$(ms)

echo "tasks: $N (reaper: $ok succeeded)"
echo "reaper run --backend slurm: $((t1 - t0)) ms, $(((t1 - t0) / N)) ms per task"
echo "sbatch --array (polled 0.2 s): $((t3 - t2)) ms, $(((t3 - t2) / N)) ms per task"
