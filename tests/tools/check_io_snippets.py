#!/usr/bin/python3
"""Runs the Python blocks of docs/io.md that follow a
`<!-- checked by tests/tools/check_io_snippets.py: KIND -->` line, exactly as they stand there,
on a model `retrograd train` made from IDX images (so one that starts with a FeatureScaling
layer), and checks that they predict the class `retrograd predict` gives for every row.

  check_io_snippets.py --kind numpy|torch --doc docs/io.md --retrograd CLI --probe PROBE
                       --model M.rg --data IDX-DIR --workdir DIR

numpy: the block defines forward(x); torch: the block reads x and sets logits. Its logits must
also equal, to float32 rounding, those of the model as the library loads it (weights_probe
prints its tensors; FeatureScaling, then Dense layers with relu between them): the classes
alone would not see a missing input scaling, since a relu network with small biases picks
nearly the same class for x and 255 x. Exits 77 (a skipped ctest) for torch when
`import torch` fails.
"""
import argparse
import gzip
import os
import re
import subprocess
import sys

import numpy as np

# A row may differ only where two logits tie to float32 rounding.
TIE = 1e-4


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def snippet(doc, kind):
    with open(doc) as f:
        text = f.read()
    marker = f"<!-- checked by tests/tools/check_io_snippets.py: {kind} -->\n```python\n"
    blocks = re.findall(re.escape(marker) + r"(.*?)```", text, flags=re.S)
    if len(blocks) != 1:
        fail(f"{doc}: expected one python block marked '{kind}', found {len(blocks)}")
    return blocks[0]


def model_logits(args, x):
    """The model's logits in float64 from its tensors as the library loads them."""
    out = os.path.join(args.workdir, "model.txt")
    subprocess.run([args.probe, args.model, out], check=True, capture_output=True)
    tensors = {}
    with open(out) as f:
        for line in f:
            fields = line.split()
            rank = int(fields[1])
            shape = tuple(int(d) for d in fields[2:2 + rank])
            tensors[fields[0]] = np.array([float(v) for v in fields[2 + rank:]]).reshape(shape)
    h = x.astype(np.float64)
    h = (h - tensors["feature_scaling_0.offset"]) * tensors["feature_scaling_0.scale"]
    dense = sorted({n.split(".")[0] for n in tensors if n.startswith("dense_")},
                   key=lambda n: int(n.split("_")[1]))
    for i, name in enumerate(dense):
        h = h @ tensors[name + ".W"] + tensors[name + ".b"]
        if i + 1 < len(dense):
            h = np.maximum(h, 0)
    return h


def idx_images(directory):
    """The t10k images as raw float32 pixels (0..255), the rows retrograd predict reads."""
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with (gzip.open if name.endswith(".gz") else open)(path, "rb") as f:
                data = f.read()
            count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
            pixels = np.frombuffer(data, dtype=np.uint8, offset=16, count=count * rows * cols)
            return pixels.reshape(count, rows * cols).astype(np.float32)
    fail(f"{directory}: no t10k-images-idx3-ubyte[.gz]")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=("numpy", "torch"), required=True)
    for flag in ("--doc", "--retrograd", "--probe", "--model", "--data", "--workdir"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    if args.kind == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            print("skipped: import torch failed (Debian's python3-torch provides it)")
            sys.exit(77)
    code = snippet(args.doc, args.kind)
    os.makedirs(args.workdir, exist_ok=True)
    npz = os.path.join(args.workdir, "weights.npz")
    subprocess.run([args.retrograd, "export", "--model", args.model, "--output", npz, "--overwrite"],
                   check=True, capture_output=True)
    with np.load(npz) as w:
        if not any(key.startswith("feature_scaling_") for key in w):
            fail(f"{args.model} has no FeatureScaling layer: the check needs one")

    x = idx_images(args.data)
    scope = {"x": x}
    os.chdir(args.workdir)  # the snippets read weights.npz from the current directory
    exec(compile(code, f"{args.doc} ({args.kind} block)", "exec"), scope)
    logits = scope["forward"](x) if args.kind == "numpy" else scope["logits"].detach().numpy()
    logits = np.asarray(logits, dtype=np.float64)

    result = subprocess.run([args.retrograd, "predict", "--model", args.model, "--data", args.data],
                            capture_output=True, text=True, check=True)
    rows = [line.split(",") for line in result.stdout.split("\n")[1:] if line]
    predicted = np.array([int(row[1]) for row in rows])
    if logits.ndim != 2 or logits.shape[0] != len(predicted):
        fail(f"the {args.kind} block gave logits of shape {logits.shape} for {len(x)} rows, "
             f"retrograd predict {len(predicted)} rows")
    expected = model_logits(args, x)
    error = np.abs(logits - expected).max() / max(1.0, np.abs(expected).max())
    if error > 1e-5:
        fail(f"the {args.kind} block's logits are {error:.3g} (relative to the largest) from "
             f"the model's")
    gap = logits.max(axis=1) - logits[np.arange(len(logits)), predicted]
    disagree = (logits.argmax(axis=1) != predicted) & (gap > TIE)
    if disagree.any():
        fail(f"the {args.kind} block and retrograd predict disagree on {disagree.sum()} of "
             f"{len(x)} rows")
    print(f"docs/io.md {args.kind} block: logits within {error:.2g} of the model's; "
          f"{len(x)}/{len(x)} rows predict the class retrograd predict gives")
    print("snippet check passed")


if __name__ == "__main__":
    main()
