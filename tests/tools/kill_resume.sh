#!/usr/bin/env bash
# A checkpointed `retrograd train`, SIGKILLed at random moments and resumed with --resume again
# and again, must end with a model file byte-identical to the same run left alone. Runs are
# started afresh and killed until KILLS kills have landed; each run's delay is drawn up to the
# time an uninterrupted run takes (the shorter of two), so kills fall anywhere in it, and every
# finished run is compared.
#   kill_resume.sh RETROGRAD IDX_DIR WORKDIR KILLS
set -euo pipefail
cli=$(realpath "$1") data=$(realpath "$2") work=$3 kills=$4
rm -rf "$work"
mkdir -p "$work"
cd "$work"
common=(--data "$data" --layers 36-16-10 --optimizer adam --lr 0.01 --epochs 40 --batch-size 16
  --seed 3 --verbose 0 --threads 1)
now_ms() { echo $(($(date +%s%N) / 1000000)); }
max_delay=
for run in straight straight2; do
  start=$(now_ms)
  "$cli" train "${common[@]}" --save $run.rg --checkpoint-dir $run --checkpoint-every 1 > $run.log
  elapsed=$(($(now_ms) - start))
  [ -z "$max_delay" ] || [ "$elapsed" -lt "$max_delay" ] && max_delay=$elapsed
done
if ! cmp -s straight.rg straight2.rg; then
  echo "two uninterrupted runs gave different model files"
  exit 1
fi
steps=$(ls straight | sed -n 's/^checkpoint-\([0-9]*\)\.rg$/\1/p' | sort -n | tail -1)

killed=0 runs=0 finished=0 resumes=0
while [ "$killed" -lt "$kills" ]; do
  rm -rf ckpt resumed.rg
  done_run=0
  while [ "$done_run" = 0 ]; do
    if ls ckpt/checkpoint-*.rg > /dev/null 2>&1; then
      args=(--resume ckpt --verbose 0 --threads 1)
      resumes=$((resumes + 1))
    else
      args=("${common[@]}" --save resumed.rg --checkpoint-dir ckpt --checkpoint-every 1)
    fi
    runs=$((runs + 1))
    status=0
    if [ "$killed" -lt "$kills" ]; then
      delay=$(((RANDOM * 32768 + RANDOM) % max_delay + 1))
      printf -v seconds '%d.%03d' $((delay / 1000)) $((delay % 1000))
      # SIGKILL after `seconds`, unless the run ends first. Braces with stderr closed: bash
      # would report every killed job.
      { timeout -s KILL "$seconds" "$cli" train "${args[@]}" > run.log 2>&1 || status=$?; } \
        2> /dev/null
    else
      "$cli" train "${args[@]}" > run.log 2>&1 || status=$?
    fi
    if [ "$status" = 0 ]; then
      done_run=1
    elif [ "$status" = 137 ]; then
      killed=$((killed + 1))
    else
      echo "run $runs failed with status $status:"
      cat run.log
      exit 1
    fi
  done
  finished=$((finished + 1))
  if ! cmp -s straight.rg resumed.rg; then
    echo "after $killed kills: the resumed model DIFFERS from the uninterrupted run"
    exit 1
  fi
done
echo "runs: $runs, killed: $killed (0-$max_delay ms into a run of $steps steps)," \
  "resumed: $resumes times, finished: $finished"
echo "every resumed model identical to the uninterrupted run"
