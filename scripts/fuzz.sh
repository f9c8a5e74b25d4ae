#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (AddressSanitizer + UBSan) in build-fuzz/ and
# runs each for SECONDS, as many at once as there are cores (default 600: the long run; CI runs
# 20).
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: idx csv model expression gradient onnx
#   FUZZ_FLAGS='-fork=1 -ignore_ooms=1' scripts/fuzz.sh 600 model   (extra libFuzzer flags)
# New inputs that widen coverage go to build-fuzz/corpus/<target>/ (not the repository); a
# finding fails the run, its input in build-fuzz/findings/<target>/. Copy that file into
# tests/fuzz_regressions/<target>/, fix the bug, and the fuzz_replay_<target> ctest keeps it
# fixed. Each target's last status line (executions, coverage, corpus) is printed at the end.
# Before fuzzing, the fuzz_replay_* and clang_asan_buffer_cache ctests of build-fuzz/ run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx csv model expression gradient onnx)

scripts/install-deps.sh clang-14 libclang-rt-14-dev libfuzzer-14-dev
source scripts/blas-env.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Release \
  -DRETROGRAD_FUZZ=ON -DRETROGRAD_BUILD_TESTS=OFF -DRETROGRAD_BUILD_EXAMPLES=OFF \
  -DRETROGRAD_BUILD_TOOLS=OFF -DRETROGRAD_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OPENBLAS_NUM_THREADS=1
# The recorded findings and seeds, once each, and the buffer cache check under clang's ASan.
ctest --test-dir build-fuzz --output-on-failure

# One libFuzzer process per core at a time (each runs on one core), so 6 targets of 20 s take
# three rounds on 2 cores instead of six.
fuzz_target() {
  local target=$1 corpus=build-fuzz/corpus/$1 findings=build-fuzz/findings/$1
  mkdir -p "$corpus" "$findings"
  local corpora=("$corpus" fuzz/corpus/"$target")
  [ -d tests/fuzz_regressions/"$target" ] && corpora+=(tests/fuzz_regressions/"$target")
  # -rss_limit_mb: a few KiB of input asking for a GiB is a finding, not a slow pass.
  build-fuzz/fuzz/fuzz_"$target" -max_total_time="$seconds" -rss_limit_mb=1024 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" ${FUZZ_FLAGS:-} \
    "${corpora[@]}" >build-fuzz/fuzz_"$target".log 2>&1
}
rm -f build-fuzz/fuzz_*.passed
running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$(nproc)" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  echo "fuzz_$target: ${seconds} s"
  (fuzz_target "$target" && touch build-fuzz/fuzz_"$target".passed) &
  running=$((running + 1))
done
wait

summary=()
for target in "${targets[@]}"; do
  log=build-fuzz/fuzz_$target.log
  if [ ! -e build-fuzz/fuzz_"$target".passed ]; then
    tail -n 60 "$log"
    echo "fuzz_$target found a failing input: $(ls build-fuzz/findings/"$target")"
    echo "add it to tests/fuzz_regressions/$target/ and fix it (log: $log)"
    exit 1
  fi
  summary+=("fuzz_$target: $(grep -E '^#[0-9]+' "$log" | tail -n 1)")
  summary+=("  $(grep -E 'stat::number_of_executed_units' "$log")")
done
printf '%s\n' "${summary[@]}"
