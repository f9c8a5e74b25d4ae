#!/usr/bin/env bash
# `retrograd train --save M.rg`, SIGKILLed at random moments KILLS times: after every kill the
# file at M.rg must be, byte for byte, the model it held before (old) or the one the run was
# saving (new), and must load (`retrograd export`) as that model. Two seeds give two models of
# 12 MB (the Adam state included); each run saves the one M.rg does not hold, so old and new
# always differ. Every other kill comes at a random moment of the whole run (up to the time an
# uninterrupted run takes); the others aim at the save: a random 0-10 ms after the temporary
# file has its first bytes, while it is written and fsynced. It prints how many kills left the
# old model, how many the new one, and how many a temporary file (those landed mid-save).
#   kill_save.sh RETROGRAD CSV WORKDIR KILLS
set -euo pipefail
cli=$(realpath "$1") data=$(realpath "$2") work=$3 kills=$4
rm -rf "$work"
mkdir -p "$work"
cd "$work"
common=(--data "$data" --layers 2-1024-1024-3 --epochs 1 --batch-size 150 --validation-split 0
  --verbose 0 --threads 1 --overwrite)

# A zombie still answers kill -0: read its state instead.
running() {
  local state
  read -r _ _ state _ 2> /dev/null < "/proc/$1/stat" && [ "$state" != Z ]
}
has_bytes() {
  for f in "$@"; do [ -s "$f" ] && return 0; done
  return 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# The two models, saved and exported uninterrupted; the faster run bounds the kill delays.
max_delay=
for seed in 1 2; do
  start=$(now_ms)
  "$cli" train "${common[@]}" --seed $seed --save ref$seed.rg > /dev/null
  elapsed=$(($(now_ms) - start))
  [ -z "$max_delay" ] || [ "$elapsed" -lt "$max_delay" ] && max_delay=$elapsed
  "$cli" export --model ref$seed.rg --output ref$seed.npz --overwrite > /dev/null
done
if cmp -s ref1.rg ref2.rg; then
  echo "the two seeds gave the same model file"
  exit 1
fi
cp ref1.rg M.rg
held=1

killed=0 runs=0 completed=0 kept_old=0 got_new=0 temp_left=0
while [ "$killed" -lt "$kills" ]; do
  saving=$((3 - held))
  runs=$((runs + 1))
  status=0
  # Braces with stderr closed: bash would report every killed job.
  if [ $((runs % 2)) = 0 ]; then
    delay=$((RANDOM % max_delay + 1))
    printf -v seconds '%d.%03d' $((delay / 1000)) $((delay % 1000))
    # SIGKILL after `seconds`, unless the run ends first.
    { timeout -s KILL "$seconds" "$cli" train "${common[@]}" --seed $saving --save M.rg \
      > run.log 2>&1 || status=$?; } 2> /dev/null
  else
    "$cli" train "${common[@]}" --seed $saving --save M.rg > run.log 2>&1 &
    pid=$!
    # The temporary file with bytes in it (the output check's probe file is empty).
    while running "$pid" && ! has_bytes M.rg.tmp-*; do :; done
    printf -v seconds '0.%03d' $((RANDOM % 10))
    sleep "$seconds"
    kill -9 "$pid" 2> /dev/null || true
    { wait "$pid" || status=$?; } 2> /dev/null
  fi
  if [ "$status" = 137 ]; then
    killed=$((killed + 1))
  elif [ "$status" = 0 ]; then
    completed=$((completed + 1))
  else
    echo "run $runs failed with status $status:"
    cat run.log
    exit 1
  fi
  if cmp -s M.rg ref$held.rg; then
    found=$held
  elif cmp -s M.rg ref$saving.rg; then
    found=$saving
  else
    echo "run $runs (status $status): M.rg is neither the old model (seed $held) nor the new one" \
      "(seed $saving): $(stat -c %s M.rg) bytes"
    cp M.rg torn.rg
    exit 1
  fi
  if [ "$status" = 0 ] && [ "$found" != "$saving" ]; then
    echo "run $runs completed but M.rg still holds the old model"
    exit 1
  fi
  [ "$found" = "$held" ] && kept_old=$((kept_old + 1)) || got_new=$((got_new + 1))
  if ! "$cli" export --model M.rg --output now.npz --overwrite > export.log 2>&1 ||
    ! cmp -s now.npz ref$found.npz; then
    echo "run $runs: M.rg does not load as the model of seed $found:"
    cat export.log
    exit 1
  fi
  # A kill between the temporary file's creation and the rename leaves it behind, never M.rg.
  for temp in M.rg.tmp-*; do
    [ -e "$temp" ] || continue
    temp_left=$((temp_left + 1))
    rm -f "$temp"
  done
  held=$found
done
echo "runs: $runs, killed: $killed (every other one 0-$max_delay ms into the run, the others" \
  "0-10 ms into the save), completed: $completed"
echo "after each run M.rg held the old model $kept_old times and the new one $got_new times;" \
  "$temp_left kills landed mid-save (a temporary file left behind)"
echo "every kill left M.rg whole: the old model or the new one"
