#!/usr/bin/env bash
# Test accuracy of one configuration over several seeds, retrograd and PyTorch side by side:
# the two draw different random numbers, so one seed's gap says little on its own.
#   bench/seeds.sh [config=a] [seeds=5] [epochs=5]
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-a}
seeds=${2:-5}
epochs=${3:-5}
scripts/install-deps.sh python3-torch
source scripts/blas-env.sh
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target bench_mlp >/dev/null
python=/usr/bin/python3  # Debian's interpreter, where python3-torch is installed
results=$(mktemp)
for seed in $(seq 1 "$seeds"); do
  ./build/bench/bench_mlp "$config" "$epochs" 1 /usr/share/datasets/fashion-mnist "$seed" | tee -a "$results"
  "$python" bench/mlp_torch.py "$config" "$epochs" 1 /usr/share/datasets/fashion-mnist "$seed" | tee -a "$results"
done
"$python" - "$results" <<'PY'
import statistics, sys
acc = {}
for line in open(sys.argv[1]):
    fields = dict(kv.split("=", 1) for kv in line.split())
    acc.setdefault(fields["impl"], []).append(float(fields["acc_last"]))
for impl, values in acc.items():
    print(f"{impl}: acc_last mean {100 * statistics.mean(values):.2f} %, "
          f"sd {100 * statistics.stdev(values):.2f} points over {len(values)} seeds")
PY
