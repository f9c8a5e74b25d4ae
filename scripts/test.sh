#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite.
#   scripts/test.sh             Release build in build/
#   scripts/test.sh --sanitize  Debug build with AddressSanitizer + UBSan in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
source scripts/blas-env.sh
# Let ccache reuse objects across checkouts at other paths (CI clones afresh each time).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

if [ "${1:-}" = "--sanitize" ]; then
  dir=build-sanitize
  # -O1: at -O0 GCC 12 cannot compile xsimd's AVX-512BW select (an invalid cast to __v64qi in
  # _mm512_mask_blend_epi8) on a CPU with avx512bw under -march=native.
  flags=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" -DRETROGRAD_SANITIZE=ON
    -DRETROGRAD_BUILD_BENCH=OFF)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # The million-node chain proves depth in the Release run; under ASan it only costs minutes.
  skip=(-E "a chain of a million nodes")
else
  dir=build
  flags=(-DCMAKE_BUILD_TYPE=Release)
  skip=()
fi

cmake -S . -B "$dir" "${flags[@]}"
cmake --build "$dir" -j"$(nproc)"
# Two test processes at once: one BLAS thread each, or they fight over the two cores.
OPENBLAS_NUM_THREADS=1 ctest --test-dir "$dir" -j"$(nproc)" --output-on-failure --timeout 600 "${skip[@]}"
