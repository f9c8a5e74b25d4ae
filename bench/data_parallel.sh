#!/usr/bin/env bash
# Data-parallel throughput of configuration (c) (docs/performance.md, "Data-parallel training"):
# 1 process x 1 BLAS thread, 2 processes x 1 thread, 1 process x 2 threads, and the two
# processes without overlap, without fusion and without either, interleaved round after round
# (the machine's speed drifts), then the medians and ratios. Run it on an otherwise idle machine.
#   bench/data_parallel.sh [rounds=3] [epochs=3]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
epochs=${2:-3}
scripts/install-deps.sh libopenmpi-dev openmpi-bin
source scripts/blas-env.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B build-mpi -DCMAKE_BUILD_TYPE=Release -DRETROGRAD_MPI=ON >/dev/null
cmake --build build-mpi -j"$(nproc)" --target bench_data_parallel >/dev/null
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# Containers often forbid the cross-process reads of Open MPI's single-copy mechanism.
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
bench=build-mpi/bench/bench_data_parallel
results=$(mktemp)
# No binding: mpirun would pin a lone process to one core, and its second thread with it.
run() {
  local name=$1 processes=$2 threads=$3
  shift 3
  printf 'variant=%s load=%s ' "$name" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$results"
  OPENBLAS_NUM_THREADS=$threads mpirun -n "$processes" --bind-to none "$bench" "$epochs" \
    "$threads" "$@" | tee -a "$results"
}
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; $(grep -m1 'model name' /proc/cpuinfo)"
for round in $(seq "$rounds"); do
  echo "round $round of $rounds"
  run 1x1 1 1
  run 2x1 2 1
  run 1x2 1 2
  run 2x1-no-overlap 2 1 0
  run 2x1-no-fusion 2 1 1 0
  run 2x1-neither 2 1 0 0
done
python3 - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
    runs.setdefault(kv["variant"], []).append(kv)
med = lambda v, k: statistics.median(float(r[k]) for r in runs[v])
print(f"{'variant':16} {'samples/s':>10} {'s/epoch':>8} {'step ms':>8} {'after bwd ms':>12} "
      f"{'allreduce ms':>12} {'messages':>8} {'load':>5}")
for v in runs:
    print(f"{v:16} {med(v, 'samples_per_s'):10.0f} {med(v, 'median_s'):8.3f} "
          f"{med(v, 'step_ms'):8.3f} {med(v, 'after_backward_ms'):12.3f} "
          f"{med(v, 'allreduce_ms'):12.3f} {runs[v][0]['messages']:>8} {med(v, 'load'):5.2f}")
base = med("1x1", "samples_per_s")
print(f"2 processes / 1 process (1 thread each): {med('2x1', 'samples_per_s') / base:.2f}x (goal 1.7x)")
print(f"2 processes x 1 thread / 1 process x 2 threads: "
      f"{med('2x1', 'samples_per_s') / med('1x2', 'samples_per_s'):.2f}x (goal >= 1)")
for v in ("2x1-no-overlap", "2x1-no-fusion", "2x1-neither"):
    print(f"2x1 / {v}: {med('2x1', 'samples_per_s') / med(v, 'samples_per_s'):.3f}x")
PY
