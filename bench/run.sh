#!/usr/bin/env bash
# Builds in Release and runs the benchmarks side by side with PyTorch (Debian python3-torch) on
# the same data, thread count and OPENBLAS_CORETYPE, and the scalar chain beside ADOL-C (Debian
# libadolc-dev) and Trilinos Sacado's Sacado::Rad (libtrilinos-sacado-dev), then prints one
# table (docs/performance.md).
#   bench/run.sh [epochs=5]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-5}
scripts/install-deps.sh python3-torch libadolc-dev libtrilinos-sacado-dev
source scripts/blas-env.sh
export OMP_WAIT_POLICY=PASSIVE  # torch's OpenMP workers would otherwise spin and starve OpenBLAS
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target bench_mlp bench_gemm_floor bench_chain bench_chain_adolc \
  bench_chain_sacado bench_inference bench_cnn >/dev/null
python=/usr/bin/python3  # Debian's interpreter, where python3-torch is installed
results=$(mktemp)
# OPENBLAS_NUM_THREADS pins both sides: torch.set_num_threads does not reach OpenBLAS's own
# thread pool, and without it "1 thread" PyTorch runs its GEMMs on both cores.
run() { local threads=$1; shift; OPENBLAS_NUM_THREADS=$threads "$@" | tee -a "$results"; }
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; $(grep -m1 'model name' /proc/cpuinfo)"
run 1 ./build/bench/bench_chain 100000 7
run 1 ./build/bench/bench_chain_adolc 100000 7
run 1 ./build/bench/bench_chain_sacado 100000 7
run 1 "$python" bench/chain_torch.py 100000 5
for config in a b c; do
  run 1 ./build/bench/bench_gemm_floor "$config" 1
  run 1 ./build/bench/bench_mlp "$config" "$epochs" 1
  run 1 "$python" bench/mlp_torch.py "$config" "$epochs" 1
done
run 2 ./build/bench/bench_gemm_floor c 2
run 2 ./build/bench/bench_mlp c "$epochs" 2
run 2 "$python" bench/mlp_torch.py c "$epochs" 2
# The convolutional network of `retrograd train --model cnn` (2 epochs each: ~1 min per epoch).
for threads in 1 2; do
  run "$threads" ./build/bench/bench_gemm_floor cnn "$threads"
  run "$threads" ./build/bench/bench_cnn 2 "$threads"
  run "$threads" "$python" bench/cnn_torch.py 2 "$threads"
done
run 1 ./build/bench/bench_inference 20000 1
run 1 "$python" bench/inference_torch.py 20000 1
# `retrograd train` beside bench_mlp: the same layer widths, hidden activation, loss, batch,
# optimizer and data, 1 BLAS thread each, interleaved config by config for three rounds. The
# CLI's seconds per epoch are ((N epochs) - (1 epoch)) / (N - 1) of the "trained in" time it
# prints, so that start-up and the first epoch's warm-up cancel; bench_mlp's are its median
# epoch. The CLI's network ends linear (--layers' networks do), so (a) takes lr 0.1: at
# bench_mlp's 3.0 a linear output diverges.
cli_results=$(mktemp)
fashion=/usr/share/datasets/fashion-mnist
cli_flags() {
  case $1 in
    a) echo --layers 784-15-10 --activation sigmoid --loss quadratic --optimizer sgd --lr 0.1 \
      --batch-size 20 ;;
    b) echo --layers 784-128-10 --activation relu --optimizer sgd --lr 0.1 --batch-size 64 ;;
    c) echo --layers 784-512-512-10 --activation relu --optimizer momentum --momentum 0.9 \
      --lr 0.05 --batch-size 128 ;;
  esac
}
cli_trained_seconds() {  # CONFIG EPOCHS [--threads N]
  # shellcheck disable=SC2046  # the flags are words
  ./build/tools/retrograd train --data "$fashion" $(cli_flags "$1") --epochs "$2" "${@:3}" \
    --lr-decay 1 --validation-split 0 --seed 1 --verbose 1 | sed -n 's/^trained in \(.*\) s$/\1/p'
}
cli_epoch() {  # CONFIG IMPL [--threads N]: one line of seconds per epoch
  local many one
  many=$(cli_trained_seconds "$1" "$epochs" "${@:3}")
  one=$(cli_trained_seconds "$1" 1 "${@:3}")
  echo "impl=$2 config=$1 epochs=$epochs round=$round trained_s=$many trained_1_s=$one" \
    "median_s=$("$python" -c "print(($many - $one) / ($epochs - 1))")" | tee -a "$cli_results"
}
if [ -d "$fashion" ] && [ "$epochs" -gt 1 ]; then
  cmake --build build -j"$(nproc)" --target retrograd_cli >/dev/null
  for round in 1 2 3; do
    for config in a b c; do
      OPENBLAS_NUM_THREADS=1 ./build/bench/bench_mlp "$config" "$epochs" 1 "$fashion" |
        tee -a "$cli_results"
      OPENBLAS_NUM_THREADS=1 cli_epoch "$config" retrograd_cli --threads 1
      # The CLI's own default: every core (the bench's figure stays at 1 thread).
      (unset OPENBLAS_NUM_THREADS; cli_epoch "$config" retrograd_cli_default_threads)
    done
  done
fi
"$python" bench/table.py "$results" "$cli_results"
# Weights exported as .npz load into a PyTorch nn.Sequential and predict what retrograd predicts
# (docs/io.md).
if "$python" -c 'import torch' 2>/dev/null; then
  cmake --build build -j"$(nproc)" --target retrograd_cli >/dev/null
  fashion=/usr/share/datasets/fashion-mnist
  OPENBLAS_NUM_THREADS=1 "$python" bench/npz_to_torch.py --retrograd ./build/tools/retrograd \
    --workdir build/npz_to_torch \
    $([ -d "$fashion" ] && echo --data "$fashion")
fi
# A `--model cnn` network trained for one epoch, exported as .npz and loaded into PyTorch's same
# network: the class of every test image, against `retrograd predict` (the suite's
# cli_export_cnn_torch trains on 2 % of the rows).
fashion=/usr/share/datasets/fashion-mnist
if "$python" -c 'import torch' 2>/dev/null && [ -d "$fashion" ]; then
  cmake --build build -j"$(nproc)" --target retrograd_cli >/dev/null
  tests/tools/check_cnn_npz_torch.sh ./build/tools/retrograd "$python" "$fashion" build/cnn_npz 0.1
fi
