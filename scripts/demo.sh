#!/usr/bin/env bash
# The main demo: installs what is missing (including Debian's Fashion-MNIST), builds the
# `retrograd` command line in Release, trains the default MLP (784-256-10, relu, Adam) on
# Fashion-MNIST for 5 epochs, then evaluates the saved model on the 10,000 test images.
# Writes out/model.rg, out/history.csv and out/history.png.
#   scripts/demo.sh --cnn   trains `--model cnn` (two convolutions) for 15 epochs instead, the
#                           network of the 92 % goal (longer: docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
source scripts/blas-env.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
# Only the command line: the demo needs neither the tests nor the examples.
cmake --build build -j"$(nproc)" --target retrograd_cli
data=/usr/share/datasets/fashion-mnist
# train creates out/; --overwrite: a second run of the demo replaces the first one's files.
network=(--epochs 5)
if [ "${1:-}" = "--cnn" ]; then network=(--model cnn --epochs 15); fi
./build/tools/retrograd train --data "$data" "${network[@]}" --overwrite \
  --save out/model.rg --history out/history.csv --plot out/history.png
./build/tools/retrograd evaluate --model out/model.rg --data "$data"
