#!/usr/bin/env bash
# Samples the load bench's CPU with perf during one measured phase, for perf-stages.py (bench/README.md,
# "Where a guarded read spends its CPU").
# usage: bench/profile/perf-phase.sh OUT "PHASE MARKER" [bench options...]
#   e.g. bench/profile/perf-phase.sh /tmp/gview "guarded view:" --only view --duration 10 --components false
# Writes OUT.log (the bench's report) and OUT.data (perf samples, 1,999 Hz with call graphs, 6 s starting 3.5 s
# into the phase's window). Needs perf (Debian: linux-perf) and the bench built: dotnet build -c Release bench/Custodian.Bench
set -euo pipefail
out=$1; marker=$2; shift 2
cd "$(dirname "$0")/../.."
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 # JIT symbols for perf (/tmp/perf-PID.map)
dotnet bench/Custodian.Bench/bin/Release/net10.0/Custodian.Bench.dll "$@" > "$out.log" 2>&1 &
pid=$!
for _ in $(seq 1 2400); do grep -q "$marker" "$out.log" && break; sleep 0.5; done
sleep 3.5
perf record -F 1999 -g -p "$pid" -o "$out.data" -- sleep 6 > /dev/null 2>&1
wait "$pid" || true
