#!/usr/bin/env bash
# The data-parallel scenarios of tests/distributed.cmake, on dp_check (see its header):
#   check.sh matches_one_process|resume_after_kill|process_dies MPIRUN DP_CHECK WORKDIR
set -euo pipefail
scenario=$1 mpirun=$2 dp_check=$3 work=$4
rm -rf "$work" && mkdir -p "$work" && cd "$work"
run() { local n=$1; shift; "$mpirun" -n "$n" "$dp_check" train "$@"; }

case $scenario in
matches_one_process)
  # After 64 steps the weights agree to 1e-5 (docs/distributed.md, "Why the result matches"):
  # the sums of a batch's gradients are added in another order, a few float ulps per step.
  run 1 one.rg
  run 2 two.rg
  "$dp_check" compare one.rg two.rg --below 1e-5
  run 2 two_unfused.rg --bucket-bytes 0 --no-overlap
  "$dp_check" compare one.rg two_unfused.rg --below 1e-5
  run 2 two_allreduce.rg --allreduce
  "$dp_check" compare one.rg two_allreduce.rg --below 1e-5
  run 3 three.rg
  "$dp_check" compare one.rg three.rg --below 1e-5
  # 12,000 images, one epoch: 188 steps, short enough that rounding does not grow.
  run 1 one_12k.rg --samples 12000 --epochs 1
  run 2 two_12k.rg --samples 12000 --epochs 1
  "$dp_check" compare one_12k.rg two_12k.rg --below 1e-5
  # The comparison can fail: without the gradient sum each process follows its own shard.
  run 2 broken.rg --no-sum
  "$dp_check" compare one.rg broken.rg --above 1e-3
  ;;
resume_after_kill)
  run 2 whole.rg
  # The last process kills itself after 12 steps; process 0 has checkpointed step 10 by then.
  if run 2 killed.rg --checkpoint-dir checkpoints --die-at 12 >run.log 2>&1; then
    cat run.log; echo "the killed run succeeded"; exit 1
  fi
  ls checkpoints
  run 2 resumed.rg --resume checkpoints
  # A resumed run continues bit for bit.
  "$dp_check" compare whole.rg resumed.rg --below 0
  ;;
process_dies)
  # Killed: mpirun ends the other process and says which one died. Thrown: the process says
  # why and aborts the job. Neither may hang (ctest's timeout would fail the test).
  for how in --die-at --throw-at; do
    start=$SECONDS
    if run 2 out.rg "$how" 5 >run.log 2>&1; then
      cat run.log; echo "the run with $how 5 succeeded"; exit 1
    fi
    cat run.log
    echo "$how: every process ended, non-zero, after $((SECONDS - start)) s"
    case $how in
    --die-at) grep -q "exited on signal 9 (Killed)" run.log ;;
    --throw-at) grep -q "dp_check (process 1 of 2): error: dp_check: leaving at step 5" run.log ;;
    esac
  done
  ;;
*)
  echo "unknown scenario $scenario"; exit 2 ;;
esac
