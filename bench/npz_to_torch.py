#!/usr/bin/python3
"""Loads the weights `retrograd export` writes into a PyTorch nn.Sequential and checks that it
predicts what `retrograd predict` predicts (docs/io.md, "Weights alone as NumPy .npz").

  bench/npz_to_torch.py --retrograd build/tools/retrograd [--data DIR_OR_CSV] [--workdir DIR]

It trains a model with `retrograd train` (one epoch of 784-256-10 on an MNIST-format directory
such as /usr/share/datasets/fashion-mnist; on a CSV file, or on generated blobs without --data,
a 20-64-64-3 network), exports it, builds the same network in PyTorch from the .npz and
predicts the rows `retrograd predict` predicts. Tolerance: every row's class must agree, except
rows whose two largest PyTorch logits are within 1e-4 of each other (a float32 rounding tie).
"""
import argparse
import gzip
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

TIE = 1e-4


def run(*command):
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def idx_images(directory):
    """The t10k images of an MNIST-format directory as floats in [0, 1], as retrograd reads them."""
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                data = f.read()
            count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
            pixels = np.frombuffer(data, dtype=np.uint8, offset=16, count=count * rows * cols)
            return pixels.reshape(count, rows * cols).astype(np.float32) * np.float32(1 / 255)
    sys.exit(f"{directory}: no t10k-images-idx3-ubyte[.gz]")


def make_blobs(path, rows=3000, features=20, classes=3, seed=5):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 2, size=(classes, features))
    labels = rng.integers(0, classes, size=rows)
    x = centers[labels] + rng.normal(0, 1.5, size=(rows, features))
    header = ",".join(f"x{j}" for j in range(features)) + ",label"
    np.savetxt(path, np.column_stack([x, labels]), delimiter=",", header=header, comments="",
               fmt=["%.6f"] * features + ["%d"])


def torch_sequential(npz_path):
    """nn.Sequential of Linear + ReLU layers holding the exported Dense weights."""
    weights = np.load(npz_path)
    dense = sorted({int(k.split(".")[0].rsplit("_", 1)[1]) for k in weights if k.startswith("dense_")})
    layers = []
    for i, index in enumerate(dense):
        W, b = weights[f"dense_{index}.W"], weights[f"dense_{index}.b"]
        linear = torch.nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            # retrograd's W is inputs x outputs (Y = X W + b); Linear keeps outputs x inputs.
            linear.weight.copy_(torch.from_numpy(W.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i + 1 < len(dense):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).eval(), weights


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--retrograd", required=True)
    parser.add_argument("--data")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="npz_to_torch_")
    os.makedirs(workdir, exist_ok=True)
    model, npz = os.path.join(workdir, "model.rg"), os.path.join(workdir, "weights.npz")

    data = args.data
    train = [args.retrograd, "train", "--save", model, "--overwrite", "--verbose", "0"]
    if data and os.path.isdir(data):
        run(*train, "--data", data, "--epochs", "1")
        x = idx_images(data)
    else:
        if not data:
            data = os.path.join(workdir, "blobs.csv")
            make_blobs(data)
        run(*train, "--data", data, "--layers", "20-64-64-3", "--epochs", "5")
        x = np.loadtxt(data, delimiter=",", skiprows=1, dtype=np.float32)[:, :-1]
    print(run(args.retrograd, "export", "--model", model, "--output", npz, "--overwrite"), end="")

    net, weights = torch_sequential(npz)
    with torch.no_grad():
        logits = net(torch.from_numpy(x)).numpy()
    lines = run(args.retrograd, "predict", "--model", model, "--data", data).split("\n")[1:]
    predicted = np.array([int(line.split(",")[1]) for line in lines if line])
    if len(predicted) != len(x):
        sys.exit(f"retrograd predict gave {len(predicted)} rows for {len(x)} inputs")

    top2 = np.sort(logits, axis=1)[:, -2:]
    tie = top2[:, 1] - top2[:, 0] < TIE
    same = predicted == logits.argmax(axis=1)
    # The same network in float64 numpy: how close PyTorch's float32 logits are to exact.
    h = x.astype(np.float64)
    dense = [m for m in net if isinstance(m, torch.nn.Linear)]
    for i, linear in enumerate(dense):
        h = h @ linear.weight.detach().numpy().T.astype(np.float64) + linear.bias.detach().numpy()
        if i + 1 < len(dense):
            h = np.maximum(h, 0)
    print(f"npz_to_torch: {data}: {len(x)} rows, PyTorch {torch.__version__} predicts the class "
          f"retrograd predict gives on {same.sum()} ({(~same & tie).sum()} differ at a tie "
          f"< {TIE}); max |PyTorch logit - float64 logit| = {np.abs(logits - h).max():.2e}")
    if (~same & ~tie).any():
        sys.exit(f"npz_to_torch: FAILED: {(~same & ~tie).sum()} rows disagree")
    print("npz_to_torch: OK")


if __name__ == "__main__":
    main()
