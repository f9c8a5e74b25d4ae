#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (AddressSanitizer + UBSan) in build-fuzz/ and
# runs each for SECONDS, one after the other (default 600: the long run; CI runs 20).
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: idx csv model expression gradient onnx
#   FUZZ_FLAGS='-fork=1 -ignore_ooms=1' scripts/fuzz.sh 600 model   (extra libFuzzer flags)
# New inputs that widen coverage go to build-fuzz/corpus/<target>/ (not the repository); a
# finding stops the run with its input in build-fuzz/findings/<target>/. Copy that file into
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

summary=()
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target findings=build-fuzz/findings/$target
  mkdir -p "$corpus" "$findings"
  log=build-fuzz/fuzz_$target.log
  corpora=("$corpus" fuzz/corpus/"$target")
  [ -d tests/fuzz_regressions/"$target" ] && corpora+=(tests/fuzz_regressions/"$target")
  echo "fuzz_$target: ${seconds} s"
  # -rss_limit_mb: a few KiB of input asking for a GiB is a finding, not a slow pass.
  if ! build-fuzz/fuzz/fuzz_"$target" -max_total_time="$seconds" -rss_limit_mb=1024 \
      -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" ${FUZZ_FLAGS:-} \
      "${corpora[@]}" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz_$target found a failing input: $(ls "$findings")"
    echo "add it to tests/fuzz_regressions/$target/ and fix it (log: $log)"
    exit 1
  fi
  summary+=("fuzz_$target: $(grep -E '^#[0-9]+' "$log" | tail -n 1)")
  summary+=("  $(grep -E 'stat::number_of_executed_units' "$log")")
done
printf '%s\n' "${summary[@]}"
