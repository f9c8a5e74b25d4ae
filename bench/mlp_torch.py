"""PyTorch reference for bench/mlp.cpp: the same three configurations, data and thread count.

usage: mlp_torch.py CONFIG [epochs=5] [threads=1] [data-dir] [seed=1]
Prints one key=value line like bench_mlp.
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
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def build(config, seed):
    torch.manual_seed(seed)
    if config == "a":
        model = torch.nn.Sequential(torch.nn.Linear(784, 15), torch.nn.Sigmoid(),
                                    torch.nn.Linear(15, 10), torch.nn.Sigmoid())
        for p in model.parameters():
            torch.nn.init.normal_(p, 0, 1)
        return model, torch.optim.SGD(model.parameters(), lr=3.0), 20, "quadratic"
    if config == "b":
        model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                    torch.nn.Linear(128, 10))
        return model, torch.optim.SGD(model.parameters(), lr=0.1), 64, "ce"
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 10))
    return model, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9), 128, "ce"


def loss_of(kind, out, labels):
    if kind == "quadratic":  # the course's 1/(2n) sum ||y - a||^2
        target = F.one_hot(labels, 10).float()
        return ((out - target) ** 2).sum() / (2 * len(labels))
    return F.cross_entropy(out, labels)


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def main():
    config = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    directory = sys.argv[4] if len(sys.argv) > 4 else "/usr/share/datasets/fashion-mnist"
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    torch.set_num_threads(threads)
    x_train, y_train = load(directory, "train")
    x_test, y_test = load(directory, "t10k")
    model, optimizer, batch, kind = build(config, seed)
    seconds, accuracies = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x_train))
        xs, ys = x_train.index_select(0, order), y_train.index_select(0, order)
        for i in range(0, len(xs), batch):
            optimizer.zero_grad()
            loss = loss_of(kind, model(xs[i:i + batch]), ys[i:i + batch])
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
        accuracies.append(accuracy(model, x_test, y_test))
    median = statistics.median(seconds)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"impl=pytorch config={config} threads={threads} epochs={epochs} median_s={median:.4f} "
          f"samples_per_s={len(x_train) / median:.0f} acc1={accuracies[0]:.4f} "
          f"acc_last={accuracies[-1]:.4f} peak_rss_mib={peak:.1f} torch={torch.__version__}")


if __name__ == "__main__":
    main()
