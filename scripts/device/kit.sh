#!/usr/bin/env bash
# Prepares device-kit/ (git-ignored) for a lent GPU machine, which has no Node.js and reaches no
# registry: the esbuild bundle (build/reaper.mjs, self-contained) and this machine's node binary,
# xz-compressed to fit the 64 MiB that travels (~24 MB). Then, on the device:
#   run(command="bash scripts/device/check.sh", carry=["device-kit"])
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f build/reaper.mjs ] || node scripts/package.mjs
mkdir -p device-kit
cp build/reaper.mjs device-kit/reaper.mjs
xz -T2 -6 <"$(command -v node)" >device-kit/node.xz
ls -la device-kit
