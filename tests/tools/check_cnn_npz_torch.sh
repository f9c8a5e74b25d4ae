#!/usr/bin/env bash
# A `--model cnn` network trained by retrograd, exported as .npz and loaded into PyTorch's same
# network (bench/cnn_torch.py --npz) gives the class `retrograd predict` gives on every
# Fashion-MNIST test image (issue 21: OIHW conv weights, flatten in C-H-W order).
#   check_cnn_npz_torch.sh RETROGRAD PYTHON DATA_DIR WORKDIR [VALIDATION_SPLIT=0.98]
# The default trains one epoch on 2 % of the training rows: any weights test the layout, and
# trained ones spread the classes.
set -euo pipefail
cli=$1 python=$2 data=$3 work=$4 split=${5:-0.98}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
"$cli" train --data "$data" --model cnn --epochs 1 --validation-split "$split" \
  --save "$work/cnn.rg" --overwrite --history '' --plot '' --verbose 0
"$cli" export --model "$work/cnn.rg" --output "$work/cnn.npz" --overwrite >/dev/null
"$cli" predict --model "$work/cnn.rg" --data "$data" --output "$work/retrograd.csv" --overwrite \
  >/dev/null
OPENBLAS_NUM_THREADS=1 "$python" "$here/../../bench/cnn_torch.py" 0 1 "$data" \
  --npz "$work/cnn.npz" >"$work/torch.txt"
"$python" - "$work/retrograd.csv" "$work/torch.txt" <<'PY'
import sys
ours = [line.split(",")[1].strip() for line in open(sys.argv[1]).readlines()[1:]]
torch = [line.strip() for line in open(sys.argv[2])]
same = sum(a == b for a, b in zip(ours, torch))
classes = len(set(ours))
print(f"cnn .npz in PyTorch: the same class on {same} of {len(ours)} test images "
      f"({classes} classes predicted)")
sys.exit(0 if same == len(ours) == len(torch) == 10000 else 1)
PY
