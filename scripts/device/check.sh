#!/usr/bin/env bash
# One-shot device check for a session that is lent a GPU machine (see ../../README.md):
#   bash scripts/device/check.sh            (writes its evidence under $OUT, or ./device-out)
# It compares what reaper finds with what nvidia-smi says about a real CUDA process:
#   1. raw nvidia-smi answers (the queries reaper makes, one-shot and one loop tick),
#   2. /proc/driver/nvidia/gpus/*/information (minor numbers),
#   3. a CUDA holder (cuda_holder.py, driver API through ctypes) on GPU 0,
#   4. `reaper ls --json --all` and `reaper ls --gpu 0`, checked for the holder's pid, GPU index,
#      memory and /dev/nvidia<minor>,
#   5. `reaper reap --pid <holder> --signal kill --yes`, then nvidia-smi must no longer list it.
# Needs python3 and nvidia-smi there; reaper comes from device-kit/ (scripts/device/kit.sh, run
# here first, then carry=["device-kit"]) or, where Node 20 exists, from the built tree.
# Exit 0 when every check passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-./device-out}
mkdir -p "$out"
log() { echo "device-check: $*" | tee -a "$out/summary.txt"; }
fail=0
ok() { log "ok   $*"; }
bad() { log "FAIL $*"; fail=1; }

if [ -f device-kit/node.xz ]; then
  xz -dc device-kit/node.xz >/tmp/reaper-node && chmod +x /tmp/reaper-node
  NODE=/tmp/reaper-node
  R="$NODE device-kit/reaper.mjs"
elif command -v node >/dev/null && [ -f dist/src/cli/main.js ]; then
  NODE=node
  R="node dist/src/cli/main.js"
else
  echo "device-check: no reaper to run: make device-kit/ with scripts/device/kit.sh and carry it" >&2
  exit 2
fi
$R --version >"$out/reaper-version.txt" 2>&1 || { echo "device-check: reaper does not start: $(cat "$out/reaper-version.txt")" >&2; exit 2; }

nvidia-smi --version >"$out/nvidia-smi-version.txt" 2>&1
F=index,uuid,name,pci.bus_id,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,power.limit,pstate,persistence_mode,mig.mode.current
nvidia-smi --query-gpu=$F --format=csv,noheader,nounits >"$out/query-gpu.txt" 2>&1; echo "exit $?" >>"$out/query-gpu.txt"
cat /proc/driver/nvidia/gpus/*/information >"$out/information.txt" 2>&1

python3 scripts/device/cuda_holder.py 512 0 >"$out/holder.txt" 2>&1 &
holder=$!
for _ in $(seq 100); do grep -q "holder pid" "$out/holder.txt" && break; sleep 0.2; done
if ! grep -q "holder pid" "$out/holder.txt"; then bad "no CUDA holder started: $(cat "$out/holder.txt")"; kill -9 $holder 2>/dev/null; exit 1; fi
ok "CUDA holder pid $holder holds 512 MiB on device 0"
sleep 2
nvidia-smi --query-compute-apps=gpu_uuid,pid,process_name,used_gpu_memory --format=csv,noheader,nounits >"$out/query-compute-apps.txt" 2>&1
timeout 10 nvidia-smi --query-gpu=$F --format=csv,noheader,nounits -lms 1000 >"$out/loop-gpu.txt" 2>&1

$R ls --json --all >"$out/ls.json" 2>"$out/ls.stderr"
$R ls --gpu 0 >"$out/ls-gpu0.txt" 2>&1
$NODE -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const pid = Number(process.argv[2]);
const p = d.processes.find((x) => x.pid === pid);
const say = (ok, what) => console.log((ok ? "ok   " : "FAIL ") + what);
say(d.gpuProbe.ok && d.gpuProbe.source === "nvidia-smi", `probe ${JSON.stringify(d.gpuProbe)}`);
say(d.gpus.length > 0 && d.gpus.every((g) => g.uuid && g.memoryTotalMiB > 0), `${d.gpus.length} GPUs parsed`);
say(!!p, `holder ${pid} listed`);
const g = p && p.gpus.find((x) => x.index === 0);
say(!!g, `holder on GPU 0: ${JSON.stringify(p && p.gpus)}`);
say(!!g && g.usedMemoryMiB !== null && g.usedMemoryMiB >= 512, "nvidia-smi memory attributed (may be null inside containers)");
say(!!p && Array.isArray(p.nvidiaMinors) && p.nvidiaMinors.length > 0, `fd scan found /dev/nvidia minors ${JSON.stringify(p && p.nvidiaMinors)}`);
' "$out/ls.json" "$holder" | tee -a "$out/summary.txt" | grep -q FAIL && fail=1

$R reap --pid "$holder" --signal kill --yes --json >"$out/reap.json" 2>&1
sleep 2
if nvidia-smi --query-compute-apps=pid --format=csv,noheader | grep -qw "$holder"; then bad "holder still listed by nvidia-smi after reap"; else ok "holder gone from nvidia-smi after reap"; fi
kill -9 $holder 2>/dev/null
exit $fail
