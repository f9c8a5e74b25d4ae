#!/usr/bin/env bash
# The real-browser test of the step-through page: headless Chromium opens the pages that
# `retrograd trace --html` and the dense_neuron example write, clicks through the forward and
# backward passes and checks the gradients shown (tests/browser/). Installs Debian's chromium,
# nodejs and npm when missing, and puppeteer-core from the lock file.
#   scripts/browser-test.sh [--screenshots DIR] [build-dir]     (default build dir: build)
# With --screenshots, also writes DIR/step_through.png and DIR/dense_neuron_page.png.
set -euo pipefail
cd "$(dirname "$0")/.."
shots=
if [ "${1:-}" = "--screenshots" ]; then
  shots=$(realpath -m "$2")
  shift 2
fi
build=${1:-build}

extra=()
command -v chromium >/dev/null || extra+=(chromium)
command -v node >/dev/null || extra+=(nodejs)
command -v npm >/dev/null || extra+=(npm)
scripts/install-deps.sh "${extra[@]}"

source scripts/blas-env.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target retrograd_cli dense_neuron
build=$(realpath "$build")

cd tests/browser
npm ci --no-audit --no-fund --loglevel=error
env=(RETROGRAD="$build/tools/retrograd" DENSE_NEURON="$build/examples/dense_neuron")
if [ -n "$shots" ]; then
  mkdir -p "$shots"
  env+=(SCREENSHOT="$shots/step_through.png" SCREENSHOT_DENSE="$shots/dense_neuron_page.png")
fi
env "${env[@]}" node --test step_through.test.mjs
