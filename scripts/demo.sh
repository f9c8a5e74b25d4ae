#!/usr/bin/env bash
# Installs what is missing, builds in Release and runs the main demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
source scripts/blas-env.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
mkdir -p out
./build/examples/gates out
