"""PyTorch reference for bench/inference.cpp: the same 784-256-10 model under
torch.inference_mode, one row timed call by call (p50, p99) and batches of 256.

usage: inference_torch.py [calls=20000] [threads=1]
Prints one key=value line like bench_inference.
"""
import sys
import time

import torch


def time_calls(calls, call):
    for _ in range(calls // 10 + 1):
        call()
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return sorted(seconds)


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10)).eval()
    batch = 256
    row = torch.full((1, 784), 0.5)
    rows = torch.full((batch, 784), 0.5)
    with torch.inference_mode():
        row_s = time_calls(calls, lambda: model(row))
        batch_s = time_calls(calls // 20 + 1, lambda: model(rows))

    def pct(values, p):
        return values[int(p * (len(values) - 1))]

    print(f"impl=pytorch bench=inference model=784-256-10 threads={threads} "
          f"row_p50_us={pct(row_s, 0.5) * 1e6:.2f} row_p99_us={pct(row_s, 0.99) * 1e6:.2f} "
          f"batch={batch} batch_p50_us={pct(batch_s, 0.5) * 1e6:.1f} "
          f"rows_per_s={batch / pct(batch_s, 0.5):.0f}")


if __name__ == "__main__":
    main()
