#!/usr/bin/env bash
# Runs nodevisor's benchmarks and prints their numbers with the machine they ran on:
# the supervisor micro benchmarks, the sim tree at 1 000 / 10 000 / 100 000 containers, and
# (with a process runtime) real-process supervision against the floor.
#   bench/run.sh [BUILD_DIR]     (default: build; run scripts/setup.sh first)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build="${1:-build}"

echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, kernel $(uname -r)," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# command: bench/run.sh $build"

echo "## supervisor decisions (Google Benchmark)"
"$build/bench/supervisor_bench" --benchmark_min_time=1 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true

echo "## sim tree: deployment -> services of 1 000 replicas -> container actors"
for n in 1000 10000 100000; do
  for rep in 1 2 3; do
    "$build/bench/tree_macro" "$n"
  done
done

if [[ -x "$build/bench/process_bench" ]]; then
  echo "## real processes against the floor"
  "$build/bench/process_bench"
fi
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
