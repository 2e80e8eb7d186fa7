#!/usr/bin/env bash
# The benchmark suite in one command: installs what it needs (the build's dependencies, the peer
# supervisors and matplotlib, from Debian), builds Release, runs every benchmark, and writes
# docs/benchmarks.md with its plots in docs/images/. About 13 minutes on 2 cores after the build.
#
#   bench/run.sh [--build DIR] [--quick]
#
# --quick: small sizes and one repetition (a couple of minutes), to check the suite works; its
# numbers are not worth publishing. The raw JSON lines stay in DIR/bench-results/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=build
quick=0
while [[ $# -gt 0 ]]; do
  case "$1" in
  --build) build="$2"; shift 2 ;;
  --quick) quick=1; shift ;;
  *) echo "usage: bench/run.sh [--build DIR] [--quick]" >&2; exit 2 ;;
  esac
done

scripts/setup.sh --no-build
scripts/setup-bench.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target nodevisor supervisor_bench tree_scale \
  trace_emit escalation_latency probe_throughput peer_bench daemon_bench oci_bench nodevisor-keeper

results="$build/bench-results"
rm -rf "$results"
mkdir -p "$results"
began=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
command="bench/run.sh${*:+ $*}"
[[ $quick == 1 ]] && command="bench/run.sh --quick"

# Every line a benchmark prints that is a JSON object is a measurement; all of it is shown as it
# comes and kept in FILE.raw.
measure() { # measure FILE COMMAND...
  local file="$1"
  shift
  echo "## $*"
  "$@" | tee "$results/$file.raw"
  grep '^{' "$results/$file.raw" >"$results/$file" || true
}

if [[ $quick == 1 ]]; then
  "$build/bench/supervisor_bench" --benchmark_min_time=0.1 --benchmark_repetitions=1 \
    --benchmark_out="$results/supervisor_bench.json" --benchmark_out_format=json >/dev/null
  measure tree_scale.jsonl "$build/bench/tree_scale" --n 1000,3000 --reps 1
  measure tracing.jsonl "$build/bench/tree_scale" --n 3000 --reps 2 --storms 50 \
    --trace off,on,messages
  "$build/bench/trace_emit" --benchmark_min_time=0.1 \
    --benchmark_out="$results/trace_emit.json" --benchmark_out_format=json >/dev/null
  measure escalation.jsonl "$build/bench/escalation_latency" --reps 1 --samples 200
  measure probe.jsonl "$build/bench/probe_throughput" --reps 1 --seconds 0.5 \
    --concurrency 10,100
  measure peers.jsonl "$build/bench/peers/peer_bench" --n 100 --small 20 --reps 1 --kills 10 \
    --crash-seconds 5 --nodevisor "$build/app/nodevisor"
  measure daemon.jsonl "$build/bench/daemon_bench" --nodevisor "$build/app/nodevisor" --n 200 \
    --reps 1 --samples 50 --ps-samples 5 --window 2 --windows 1
  measure oci.jsonl env NODEVISOR_KEEPER="$build/app/nodevisor-keeper" "$build/bench/oci_bench" \
    --n 1,10 --reps 1
else
  "$build/bench/supervisor_bench" --benchmark_min_time=0.5 --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$results/supervisor_bench.json" --benchmark_out_format=json
  measure tree_scale.jsonl "$build/bench/tree_scale" --n 1000,3000,10000,30000,100000 --reps 3
  # Tracing's cost is a ratio of two noisy times: more repetitions, paired in the report.
  measure tracing.jsonl "$build/bench/tree_scale" --n 10000,30000 --reps 7 --storms 50 \
    --trace off,on,messages
  "$build/bench/trace_emit" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$results/trace_emit.json" --benchmark_out_format=json
  measure escalation.jsonl "$build/bench/escalation_latency" --reps 3
  measure probe.jsonl "$build/bench/probe_throughput" --reps 3 --seconds 1
  measure peers.jsonl "$build/bench/peers/peer_bench" --n 1000 --small 100 --reps 3 \
    --kills 50 --crash-seconds 30 --nodevisor "$build/app/nodevisor"
  measure daemon.jsonl "$build/bench/daemon_bench" --nodevisor "$build/app/nodevisor" --n 1000 \
    --reps 3
  measure oci.jsonl env NODEVISOR_KEEPER="$build/app/nodevisor-keeper" "$build/bench/oci_bench" \
    --n 1,100 --reps 3
fi

elapsed=$(($(date +%s) - began))
/usr/bin/python3 - "$results/machine.json" <<EOF
import json, sys
json.dump({
    "command": "$command",
    "cores": "$(nproc)",
    "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')",
    "memory": "$(free -g | awk '/Mem:/{print $2}') GiB",
    "kernel": "$(uname -r)",
    "os": "$(. /etc/os-release && echo "$PRETTY_NAME")",
    "compiler": "$(c++ --version | head -1)",
    "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "elapsed": "$((elapsed / 60)) min $((elapsed % 60)) s",
    "load_start": "$load_start",
    "load_end": "$(cut -d' ' -f1-3 /proc/loadavg)",
}, open(sys.argv[1], "w"), indent=1)
EOF
/usr/bin/python3 bench/report.py "$results" docs/benchmarks.md docs/images
echo "# wrote docs/benchmarks.md and docs/images/bench-*.png in $((elapsed / 60)) min $((elapsed % 60)) s" \
  "on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, kernel $(uname -r)"
