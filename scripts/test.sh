#!/usr/bin/env bash
# The project's test command. On a fresh Debian bookworm machine it installs
# its own dependencies (scripts/setup.sh), then:
#   1. builds Release in build/ and runs its tests;
#   2. builds Debug with ASan+UBSan in build-asan/ (a unity build) and runs its tests;
#   3. builds the libFuzzer target with clang and fuzzes the spec loader for 60 s.
# Prints the time each phase took at the end, also on failure.
#
# Environment:
#   NODEVISOR_JOBS          parallel build jobs (default: nproc)
#   NODEVISOR_TEST_TIMEOUT  per-test timeout in seconds for tests that set none (default: 300)
#   NODEVISOR_FUZZ_SECONDS  seconds to fuzz the spec loader (default 60; 0 skips it)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

jobs="${NODEVISOR_JOBS:-$(nproc)}"
test_timeout="${NODEVISOR_TEST_TIMEOUT:-300}"
fuzz_seconds="${NODEVISOR_FUZZ_SECONDS:-60}"
if [[ ! "$fuzz_seconds" =~ ^[0-9]+$ ]]; then
  echo "test.sh: NODEVISOR_FUZZ_SECONDS must be a whole number of seconds, got '$fuzz_seconds'" >&2
  exit 2
fi

# --- phase timing -----------------------------------------------------------
phase_names=()
phase_secs=()
current_phase=""
total_start=$SECONDS

phase() { # phase NAME COMMAND...
  current_phase="$1"
  shift
  echo
  echo "==> [test.sh] $current_phase"
  local start=$SECONDS
  "$@"
  phase_names+=("$current_phase")
  phase_secs+=($((SECONDS - start)))
  current_phase=""
}

summary() {
  local rc=$?
  echo
  echo "==> [test.sh] timing summary"
  local i
  for i in "${!phase_names[@]}"; do
    printf '  %-28s %4ds\n' "${phase_names[$i]}" "${phase_secs[$i]}"
  done
  if [[ -n "$current_phase" ]]; then
    printf '  %-28s FAILED (exit %d)\n' "$current_phase" "$rc"
  fi
  printf '  %-28s %4ds\n' "total" $((SECONDS - total_start))
  if ((rc == 0)); then echo "==> [test.sh] PASSED"; else echo "==> [test.sh] FAILED"; fi
}
trap summary EXIT

# --- helpers ----------------------------------------------------------------
configure_and_build() { # configure_and_build DIR CMAKE_ARGS...
  local dir="$1"
  shift
  local generator=()
  # Only choose the generator for a fresh tree; CMake refuses to switch it.
  [[ -f "$dir/CMakeCache.txt" ]] || generator=(-G Ninja)
  cmake -S . -B "$dir" "${generator[@]}" "$@"
  cmake --build "$dir" -j"$jobs"
}

run_tests() { # run_tests DIR
  ctest --test-dir "$1" --output-on-failure -j2 --timeout "$test_timeout" --no-tests=error
}

# --- 0. dependencies ----------------------------------------------------------
phase "dependencies (setup.sh)" scripts/setup.sh --no-build

# --- 1. Release ---------------------------------------------------------------
phase "release: configure+build" configure_and_build build \
  -DCMAKE_BUILD_TYPE=Release -DNODEVISOR_SANITIZE=OFF -DNODEVISOR_BUILD_TESTS=ON
phase "release: tests" run_tests build

# --- 2. Debug + ASan/UBSan ------------------------------------------------------
# Exported before the build too: gtest_discover_tests runs the test binaries
# at build time. Suppression files, when present, hold only reports whose code
# lies entirely in CAF or system libraries (scripts/ubsan.supp, scripts/lsan.supp).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
if [[ -f scripts/ubsan.supp ]]; then
  UBSAN_OPTIONS+=":suppressions=$root/scripts/ubsan.supp"
fi
if [[ -f scripts/lsan.supp ]]; then
  export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0"
fi

# -g1 (functions and lines) is all a sanitizer's report needs, at a fraction of -g's build time.
# A unity build parses CAF's headers once per batch of files rather than once per file, which
# halves this build (10 to 5 minutes on 2 cores); the Release build above stays file by file, so
# an include that a file lacks still fails there.
phase "asan: configure+build" configure_and_build build-asan \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DNODEVISOR_SANITIZE=ON -DNODEVISOR_BUILD_BENCH=OFF -DNODEVISOR_BUILD_TESTS=ON \
  -DCMAKE_UNITY_BUILD=ON
phase "asan: tests" run_tests build-asan

# --- 3. fuzzing ------------------------------------------------------------------
# The spec loader must never crash or hang on any input: a clang build instrumented for
# libFuzzer (build-fuzz/) runs each target for NODEVISOR_FUZZ_SECONDS (0 skips it).
fuzz_build() {
  local generator=()
  [[ -f build-fuzz/CMakeCache.txt ]] || generator=(-G Ninja)
  CXX=clang++ cmake -S . -B build-fuzz "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DNODEVISOR_FUZZ=ON -DNODEVISOR_BUILD_BENCH=OFF -DNODEVISOR_BUILD_TESTS=ON
  cmake --build build-fuzz -j"$jobs" --target spec_loader_fuzz
}
run_fuzzers() {
  local corpus
  corpus=$(mktemp -d)
  cp tests/fuzz/corpus/* "$corpus"/
  build-fuzz/tests/fuzz/spec_loader_fuzz -max_total_time="$fuzz_seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 "$corpus"
  rm -rf "$corpus"
}
if ((fuzz_seconds > 0)); then
  phase "fuzz: build (clang)" fuzz_build
  phase "fuzz: spec loader (${fuzz_seconds}s)" run_fuzzers
fi
