#!/usr/bin/env bash
# GEMM backends side by side (docs/performance.md, "GEMM backends"): whole training epochs of
# configurations (a), (b) and (c) at 1 and 2 threads, built once with OpenBLAS (build/) and once
# with oneDNN's sgemm (build-onednn/, RETROGRAD_ONEDNN=ON), the two interleaved round after round
# (the machine's speed drifts), then the medians and the oneDNN / OpenBLAS time ratios. Run it on
# an otherwise idle machine.
#   bench/backends.sh [rounds=3] [epochs=3]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
epochs=${2:-3}
scripts/install-deps.sh libdnnl-dev
source scripts/blas-env.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
for backend in openblas onednn; do
  dir=build
  flags=()
  if [ "$backend" = onednn ]; then dir=build-onednn flags=(-DRETROGRAD_ONEDNN=ON); fi
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "${flags[@]}" >/dev/null
  cmake --build "$dir" -j"$(nproc)" --target bench_mlp >/dev/null
done
results=$(mktemp)
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; $(grep -m1 'model name' /proc/cpuinfo)"
for round in $(seq "$rounds"); do
  for run in "a 1" "b 1" "c 1" "b 2" "c 2"; do
    set -- $run
    for dir in build build-onednn; do
      OPENBLAS_NUM_THREADS=$2 OMP_NUM_THREADS=$2 "$dir/bench/bench_mlp" "$1" "$epochs" "$2" |
        tee -a "$results"
    done
  done
done
python3 - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = dict(p.split("=", 1) for p in line.split() if "=" in p)
    runs.setdefault((f["config"], f["threads"], f["gemm"]), []).append(float(f["median_s"]))
print("| config | threads | OpenBLAS s/epoch | oneDNN s/epoch | oneDNN / OpenBLAS |")
print("|---|---|---|---|---|")
for (config, threads, gemm), times in runs.items():
    if gemm != "OpenBLAS":
        continue
    ours = statistics.median(times)
    other = statistics.median(runs[(config, threads, "oneDNN")])
    print(f"| {config} | {threads} | {ours:.4f} | {other:.4f} | {other / ours:.3f} |")
PY
