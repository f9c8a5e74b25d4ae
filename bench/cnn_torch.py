"""PyTorch reference for bench/cnn.cpp: `retrograd train --model cnn`'s network, data, batch,
optimizer and thread count.

usage: cnn_torch.py [epochs=2] [threads=1] [data-dir] [seed=1] [--npz FILE]
Prints one key=value line like bench_cnn. With --npz, instead loads the weights that
`retrograd export` wrote for a `--model cnn` model into this network and prints the class of
every test image, one per line (bench/run.sh compares them with `retrograd predict`).
"""
import gzip
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(directory, kind):
    images = read_idx(os.path.join(directory, f"{kind}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(directory, f"{kind}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.reshape(len(images), 1, 28, 28).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def build(seed):
    """conv 1->32 3x3 pad 1, relu, max-pool 2, conv 32->64 3x3 pad 1, relu, max-pool 2, flatten
    (C-H-W), dense 3136->128, relu, dropout 0.25, dense 10: the --model cnn preset."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(3136, 128), torch.nn.ReLU(), torch.nn.Dropout(0.25),
        torch.nn.Linear(128, 10))


def load_npz(model, path):
    """retrograd's names and layouts: conv W is OIHW like PyTorch's; a Dense W is [in, out], the
    transpose of nn.Linear's weight. A FeatureScaling layer (pixels / 255) has no weights here:
    the inputs are scaled when loaded."""
    weights = np.load(path)
    convs = [m for m in model if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    conv_names = sorted({k.split(".")[0] for k in weights.files if k.startswith("conv2d_")},
                        key=lambda n: int(n.split("_")[1]))
    dense_names = sorted({k.split(".")[0] for k in weights.files if k.startswith("dense_")},
                         key=lambda n: int(n.split("_")[1]))
    with torch.no_grad():
        for layer, name in zip(convs, conv_names):
            layer.weight.copy_(torch.from_numpy(weights[name + ".W"]))
            layer.bias.copy_(torch.from_numpy(weights[name + ".b"]))
        for layer, name in zip(linears, dense_names):
            layer.weight.copy_(torch.from_numpy(weights[name + ".W"]).t())
            layer.bias.copy_(torch.from_numpy(weights[name + ".b"]))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--npz")]
    npz = None
    if "--npz" in sys.argv:
        npz = sys.argv[sys.argv.index("--npz") + 1]
        args.remove(npz)
    epochs = int(args[0]) if len(args) > 0 else 2
    threads = int(args[1]) if len(args) > 1 else 1
    directory = args[2] if len(args) > 2 else "/usr/share/datasets/fashion-mnist"
    seed = int(args[3]) if len(args) > 3 else 1
    torch.set_num_threads(threads)
    x_test, y_test = load(directory, "t10k")
    model = build(seed)
    if npz:
        load_npz(model, npz)
        model.eval()
        with torch.no_grad():
            for c in model(x_test).argmax(1).tolist():
                print(c)
        return
    x_train, y_train = load(directory, "train")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    batch = 64
    seconds, accuracies = [], []
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(x_train))
        xs, ys = x_train.index_select(0, order), y_train.index_select(0, order)
        for i in range(0, len(xs), batch):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xs[i:i + batch]), ys[i:i + batch])
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():  # in batches of 100, as bench_cnn: the peak memory is training's
            predicted = torch.cat([model(x_test[i:i + 100]).argmax(1)
                                   for i in range(0, len(x_test), 100)])
            accuracies.append((predicted == y_test).float().mean().item())
    median = statistics.median(seconds)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"impl=pytorch config=cnn threads={threads} epochs={epochs} median_s={median:.4f} "
          f"samples_per_s={len(x_train) / median:.0f} acc1={accuracies[0]:.4f} "
          f"acc_last={accuracies[-1]:.4f} peak_rss_mib={peak:.1f} torch={torch.__version__}")


if __name__ == "__main__":
    main()
