"""Scalar chain in PyTorch: the same N ops as bench/chain.cpp, built then backpropagated."""
import statistics
import sys
import time

import torch


def build_chain(x, nodes):
    y = x
    floor = torch.tensor(0.1)
    for i in range(nodes):
        k = i % 4
        if k == 0:
            y = y + 0.5
        elif k == 1:
            y = y * 0.9
        elif k == 2:
            y = torch.maximum(y, floor)
        else:
            y = torch.sigmoid(y)
    return y


def main():
    nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    torch.set_num_threads(1)
    totals, forwards, backwards = [], [], []
    for _ in range(runs):
        x = torch.tensor(1.0, requires_grad=True)
        t0 = time.perf_counter()
        y = build_chain(x, nodes)
        t1 = time.perf_counter()
        y.backward()
        del y
        t2 = time.perf_counter()
        forwards.append((t1 - t0) * 1e9 / nodes)
        backwards.append((t2 - t1) * 1e9 / nodes)
        totals.append((t2 - t0) * 1e9 / nodes)
    print(f"impl=pytorch bench=chain nodes={nodes} runs={runs} "
          f"forward_ns={statistics.median(forwards):.0f} "
          f"backward_ns={statistics.median(backwards):.0f} "
          f"total_ns={statistics.median(totals):.0f}")


if __name__ == "__main__":
    main()
