#!/usr/bin/env bash
# Data-parallel throughput of configuration (c) (docs/performance.md, "Data-parallel training"):
# 1 process x 1 BLAS thread, 2 processes x 1 thread (sharded update), 1 process x 2 threads,
# the two processes with every gradient allreduced and the whole update on each, without
# overlap, without fusion and without either, and the ceiling: two independent 1-process runs
# of batch 64 side by side (each process's share, computed with nothing sent). All interleaved
# round after round in the same run (the machine's speed drifts), then the medians and ratios;
# the goal is 2x1 at 0.9x the ceiling or more. Run it on an otherwise idle machine.
#   bench/data_parallel.sh [rounds=3] [epochs=3]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
epochs=${2:-3}
scripts/install-deps.sh libopenmpi-dev openmpi-bin
source scripts/blas-env.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
# BENCH=ON: scripts/test.sh --mpi configures the same directory without the benchmarks.
cmake -S . -B build-mpi -DCMAKE_BUILD_TYPE=Release -DRETROGRAD_MPI=ON -DRETROGRAD_BUILD_BENCH=ON \
  >/dev/null
cmake --build build-mpi -j"$(nproc)" --target bench_data_parallel >/dev/null
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# Open MPI copies large shared-memory messages once (cma: the receiver reads the sender's
# memory) where the system allows it; containers often do not: run with
# OMPI_MCA_btl_vader_single_copy_mechanism=none there (two copies, slower).
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
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; $(grep -m1 'model name' /proc/cpuinfo);" \
  "single copy: ${OMPI_MCA_btl_vader_single_copy_mechanism:-default}"
# Two 1-process runs side by side, each on batch 64: what two processes compute when nothing is
# sent. Each writes its own line.
run_pair() {
  local out=() i
  for i in 1 2; do
    out+=("$(mktemp)")
    OPENBLAS_NUM_THREADS=1 mpirun -n 1 --bind-to none "$bench" "$epochs" 1 1 1048576 64 \
      >"${out[-1]}" &
  done
  wait
  for i in "${out[@]}"; do
    printf 'variant=pair-64 load=%s %s\n' "$(cut -d' ' -f1 /proc/loadavg)" "$(cat "$i")" |
      tee -a "$results"
    rm -f "$i"
  done
}
for round in $(seq "$rounds"); do
  echo "round $round of $rounds"
  run 1x1 1 1
  run 2x1 2 1
  run 1x2 1 2
  run 2x1-allreduce 2 1 1 1048576 128 0
  run 2x1-no-overlap 2 1 0
  run 2x1-no-fusion 2 1 1 0
  run 2x1-neither 2 1 0 0
  run_pair
done
cp "$results" "${DP_RESULTS:-/dev/null}"
python3 bench/data_parallel_table.py "$results"
