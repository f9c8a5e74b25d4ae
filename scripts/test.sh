#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite.
#   scripts/test.sh             Release build in build/
#   scripts/test.sh --sanitize  Debug build with AddressSanitizer + UBSan in build-sanitize/ (clang)
#   scripts/test.sh --tsan      ThreadSanitizer build in build-tsan/: the threaded tests only
#   scripts/test.sh --mpi       the distributed component (RETROGRAD_MPI) in build-mpi/: only
#                               what its tests (label "mpi") need is built
#   scripts/test.sh --onednn    the graph and nn tests with oneDNN's sgemm (RETROGRAD_ONEDNN) in
#                               build-onednn/
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--mpi" ]; then
  scripts/install-deps.sh libopenmpi-dev openmpi-bin
elif [ "${1:-}" = "--onednn" ]; then
  scripts/install-deps.sh libdnnl-dev
elif [ "${1:-}" = "--sanitize" ]; then
  scripts/install-deps.sh clang-14 libclang-rt-14-dev
else
  scripts/install-deps.sh
fi
source scripts/blas-env.sh
# Let ccache reuse objects across checkouts at other paths (CI clones afresh each time).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

if [ "${1:-}" = "--mpi" ]; then
  dir=build-mpi
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DRETROGRAD_MPI=ON -DRETROGRAD_BUILD_BENCH=OFF \
    -DRETROGRAD_BUILD_EXAMPLES=OFF
  cmake --build "$dir" -j"$(nproc)" --target test_distributed dp_check retrograd_cli \
    make_cli_fixtures
  # Each test starts its own processes (PROCESSORS tells ctest how many).
  ctest --test-dir "$dir" -L mpi -j"$(nproc)" --output-on-failure --timeout 600
  exit 0
fi

if [ "${1:-}" = "--onednn" ]; then
  dir=build-onednn
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DRETROGRAD_ONEDNN=ON \
    -DRETROGRAD_BUILD_BENCH=OFF -DRETROGRAD_BUILD_EXAMPLES=OFF -DRETROGRAD_BUILD_TOOLS=OFF
  cmake --build "$dir" -j"$(nproc)" --target test_core test_nn
  # Their test cases as ctest runs them in the Release build: one per process, one per core.
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 ctest --test-dir "$dir" -R '^test_(core|nn):' \
    --no-tests=error -j"$(nproc)" --output-on-failure --timeout 600
  exit 0
fi

if [ "${1:-}" = "--tsan" ]; then
  # Inference from many threads on one model (docs/design.md, "Threads"): TSan must stay silent.
  dir=build-tsan
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRETROGRAD_TSAN=ON \
    -DRETROGRAD_BUILD_BENCH=OFF -DRETROGRAD_BUILD_EXAMPLES=OFF -DRETROGRAD_BUILD_TOOLS=OFF
  cmake --build "$dir" -j"$(nproc)" --target test_nn
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  # One BLAS thread per call: OpenBLAS's own workers are not instrumented.
  OPENBLAS_NUM_THREADS=1 "$dir"/tests/test_nn "[threads]"
  exit 0
elif [ "${1:-}" = "--sanitize" ]; then
  dir=build-sanitize
  # Clang: it compiles each file of this tree at -O0 in about half GCC's time
  # (src/ops/elementwise.cpp 39 s against 76 s, tests/nn/test_trainer.cpp 6.0 s against 9.6 s),
  # and the Release run is GCC's.
  # x86-64-v3 (AVX2): at -O0, xsimd 8.1's AVX-512BW select does not compile (GCC 12, seen on
  # Zen 4); the Release run covers the native build.
  flags=(-DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug -DRETROGRAD_SANITIZE=ON
    -DRETROGRAD_BUILD_BENCH=OFF -DRETROGRAD_MARCH=x86-64-v3)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # The million-node chain proves depth in the Release run; under ASan it only costs minutes.
  # The trace's memory budget is measured in the Release run: ASan's shadow memory and the
  # bypassed buffer cache (docs/design.md, Memory) multiply what a node costs. Three runs that
  # train convolutional networks on thousands of images took 12 of the run's 15 test-minutes at
  # -O0 (CNN export to PyTorch 397 s, the residual CNN example 236 s, a functional CNN's
  # predictions 86 s); their layers, files and commands run under ASan in smaller tests.
  skip=(-E "a chain of a million nodes|trace_budget|cli_export_cnn_torch|example_residual_cnn|cli_predict_functional_cnn")
else
  dir=build
  flags=(-DCMAKE_BUILD_TYPE=Release)
  skip=()
fi

cmake -S . -B "$dir" "${flags[@]}"
cmake --build "$dir" -j"$(nproc)"
# Two test processes at once: one BLAS thread each, or they fight over the two cores.
OPENBLAS_NUM_THREADS=1 ctest --test-dir "$dir" -j"$(nproc)" --output-on-failure --timeout 600 "${skip[@]}"
