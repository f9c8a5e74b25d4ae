#!/usr/bin/python3
"""Reads the .npz that `retrograd export` wrote with numpy and checks it, then checks that files
numpy writes load back into the model.

1. Names, order, shapes, dtype and every value (bit for bit) equal the model's tensors as
   weights_probe prints them from the .rg file.
2. The forward pass recomputed in numpy from the .npz (Dense layers, relu hidden, linear output:
   what `retrograd train` builds) predicts the same class as `retrograd predict` for every row.
3. Arrays written by numpy.savez (float32) and numpy.savez_compressed (float64) load into the
   model through weights_probe with the values numpy wrote; a Fortran-ordered array is refused
   with a clear message.
"""
import argparse
import os
import subprocess
import sys

import numpy as np


def probe(args, out, npz=None):
    """The model's tensors as weights_probe prints them: name -> float32 array."""
    command = [args.probe, args.model, out] + ([npz] if npz else [])
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())
    tensors = {}
    with open(out) as f:
        for line in f:
            fields = line.split()
            name, rank = fields[0], int(fields[1])
            shape = tuple(int(d) for d in fields[2:2 + rank])
            values = np.array([float(v) for v in fields[2 + rank:]], dtype=np.float32)
            tensors[name] = values.reshape(shape)
    return tensors


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def same_bits(a, b):
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--retrograd", "--probe", "--model", "--npz", "--data", "--workdir"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)

    expected = probe(args, os.path.join(args.workdir, "model.txt"))
    with np.load(args.npz) as z:
        names = list(z.keys())
        arrays = {name: z[name] for name in names}
    if names != list(expected):
        fail(f"names {names}, expected {list(expected)}")
    for name, want in expected.items():
        got = arrays[name]
        if got.dtype != np.dtype("<f4"):
            fail(f"{name}: dtype {got.dtype}, expected float32")
        if not got.flags["C_CONTIGUOUS"]:
            fail(f"{name}: not C order")
        if not same_bits(got, want):
            fail(f"{name}: shape {got.shape} or values differ from the model's {want.shape}")
    print(f"names, shapes, dtype and values: {len(names)} arrays match "
          + ", ".join(f"{n} {arrays[n].shape}" for n in names))

    # The forward pass in numpy, against retrograd predict.
    x = np.loadtxt(args.data, delimiter=",", skiprows=1, dtype=np.float32)[:, :-1]
    layers = sorted({int(n.split(".")[0].split("_")[1]) for n in names if n.startswith("dense_")})
    h = x.astype(np.float64)
    for i, index in enumerate(layers):
        h = h @ arrays[f"dense_{index}.W"].astype(np.float64) + arrays[f"dense_{index}.b"]
        if i + 1 < len(layers):
            h = np.maximum(h, 0.0)
    result = subprocess.run([args.retrograd, "predict", "--model", args.model, "--data", args.data],
                            capture_output=True, text=True, check=True)
    rows = [line.split(",") for line in result.stdout.split("\n")[1:] if line]
    predicted = np.array([int(c) for _, c in rows])
    if len(predicted) != len(x):
        fail(f"retrograd predict gave {len(predicted)} rows for {len(x)}")
    numpy_class = h.argmax(axis=1)
    # A row may differ only where two logits tie to float32 rounding.
    gap = h.max(axis=1) - h[np.arange(len(h)), predicted]
    disagree = (predicted != numpy_class) & (gap > 1e-5)
    if disagree.any():
        fail(f"numpy and retrograd predict disagree on {disagree.sum()} of {len(x)} rows")
    print(f"forward pass in numpy: {len(x)}/{len(x)} rows predict the class retrograd predicts "
          f"({(predicted == numpy_class).sum()} identical argmax)")

    # Files numpy writes load back: savez (float32) and savez_compressed (float64, deflated).
    changed = {n: (a * np.float32(0.5) + np.float32(1)).astype(np.float32) for n, a in arrays.items()}
    plain = os.path.join(args.workdir, "numpy_savez.npz")
    np.savez(plain, **changed)
    loaded = probe(args, os.path.join(args.workdir, "savez.txt"), plain)
    for name, want in changed.items():
        if not same_bits(loaded[name], want):
            fail(f"numpy.savez: {name} loaded as {loaded[name]}, numpy wrote {want}")
    doubled = {n: a.astype(np.float64) * 2 for n, a in arrays.items()}
    compressed = os.path.join(args.workdir, "numpy_savez_compressed.npz")
    np.savez_compressed(compressed, **doubled)
    loaded = probe(args, os.path.join(args.workdir, "compressed.txt"), compressed)
    for name, want in doubled.items():
        if not same_bits(loaded[name], want.astype(np.float32)):
            fail(f"numpy.savez_compressed: {name} loaded as {loaded[name]}, numpy wrote {want}")
    print("numpy.savez (float32) and numpy.savez_compressed (float64) load with numpy's values")

    fortran = dict(arrays)
    fortran["dense_0.W"] = np.asfortranarray(arrays["dense_0.W"])
    fortran_path = os.path.join(args.workdir, "fortran.npz")
    np.savez(fortran_path, **fortran)
    try:
        probe(args, os.path.join(args.workdir, "fortran.txt"), fortran_path)
        fail("a Fortran-ordered array loaded")
    except RuntimeError as e:
        if "dense_0.W.npy: Fortran-ordered arrays are not supported" not in str(e):
            fail(f"unexpected error for a Fortran-ordered array: {e}")
        print(f"Fortran order refused: {e}")
    print("npz check passed")


if __name__ == "__main__":
    main()
