#!/usr/bin/env bash
# A checkpointed `retrograd train`, SIGKILLed at random moments and resumed with --resume again
# and again, must end with a model file byte-identical to the same run left alone.
#   kill_resume.sh RETROGRAD IDX_DIR WORKDIR KILLS [MAX_DELAY_MS]
set -euo pipefail
cli=$(realpath "$1") data=$(realpath "$2") work=$3 kills=$4 max_delay=${5:-300}
rm -rf "$work"
mkdir -p "$work"
cd "$work"
common=(--data "$data" --layers 36-16-10 --optimizer adam --lr 0.01 --epochs 40 --batch-size 16
  --seed 3 --history "" --plot "" --verbose 0 --threads 1)
"$cli" train "${common[@]}" --save straight.rg --checkpoint-dir straight --checkpoint-every 1 \
  > straight.log

killed=0
finished=0
resumed_at=()
runs=0
while [ "$finished" = 0 ]; do
  if ls ckpt/checkpoint-*.rg > /dev/null 2>&1; then
    args=(--resume ckpt --verbose 0 --threads 1)
    latest=$(ls ckpt | sed -n 's/^checkpoint-\([0-9]*\)\.rg$/\1/p' | sort -n | tail -1)
    resumed_at+=("$latest")
  else
    args=("${common[@]}" --save resumed.rg --checkpoint-dir ckpt --checkpoint-every 1)
  fi
  runs=$((runs + 1))
  "$cli" train "${args[@]}" > "run.log" 2>&1 &
  pid=$!
  if [ "$killed" -lt "$kills" ]; then
    sleep "$(awk -v ms=$((RANDOM % max_delay)) 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -9 "$pid" 2> /dev/null || true
  fi
  status=0
  # Braces with stderr closed: bash would report every killed job.
  { wait "$pid" || status=$?; } 2> /dev/null
  if [ "$status" = 0 ]; then
    finished=1
  elif [ "$status" = 137 ]; then
    killed=$((killed + 1))
  else
    echo "run $runs failed with status $status:"
    cat run.log
    exit 1
  fi
done
echo "runs: $runs, killed: $killed, resumed at steps: ${resumed_at[*]:-none} (of $(ls straight | sed -n 's/^checkpoint-\([0-9]*\)\.rg$/\1/p' | sort -n | tail -1))"
if cmp -s straight.rg resumed.rg; then
  echo "resumed model identical to the uninterrupted run"
else
  echo "resumed model DIFFERS from the uninterrupted run"
  exit 1
fi
