#!/usr/bin/env bash
# Installs the Debian packages retrograd needs that are not already installed (run as root).
# Extra package names given as arguments are installed too.
set -euo pipefail

packages=(g++ cmake make ccache pkg-config
  libxtensor-dev libxsimd-dev libopenblas-dev catch2
  zlib1g-dev libpng-dev libcli11-dev libzip-dev python3-numpy
  graphviz gnuplot-nox dataset-fashion-mnist clang-format-14
  # The ONNX tests (tests/onnx.cmake): onnx.checker, OpenCV's dnn, PyTorch's torch.onnx.export.
  python3-onnx python3-opencv python3-torch "$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
