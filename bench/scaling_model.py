#!/usr/bin/env python3
"""Scaling model of data-parallel training (docs/distributed.md, "Scaling to many machines").

One process per machine. A step of global batch B on N machines takes

    T(N) = F + c * B / N + U + A(N),    A(N) = 2 (N - 1) * alpha + 2 (N - 1) / N * S / beta

F: fixed cost per step (graph, small kernels), c: compute per sample (forward + backward),
U: optimizer update (every machine updates every weight), S: gradient bytes per step, alpha:
latency per message, beta: link bandwidth in bytes/s. A(N) is a ring allreduce: 2 (N - 1)
messages of S / N bytes each, none hidden behind backward (the conservative case: the first
layer's gradient, 60 % of the bytes, is complete only when backward ends).

    bench/scaling_model.py F_ms c_us_per_sample U_ms S_bytes
prints, for 10 GbE and 100 GbE and global batches 128 to 8192, the speedup over one machine
and the largest N whose parallel efficiency T(1) / (N T(N)) stays at or above 50 %.
"""
import sys

F, c, U = float(sys.argv[1]) * 1e-3, float(sys.argv[2]) * 1e-6, float(sys.argv[3]) * 1e-3
S = float(sys.argv[4])
links = {  # name: (alpha s, beta bytes/s): TCP over 10 GbE; RDMA (RoCE / InfiniBand) at 100 Gb/s
    "10 GbE": (25e-6, 10e9 / 8 * 0.9),
    "100 GbE": (3e-6, 100e9 / 8 * 0.9),
}


def step(B, N, alpha, beta):
    allreduce = 0 if N == 1 else 2 * (N - 1) * alpha + 2 * (N - 1) / N * S / beta
    return F + c * B / N + U + allreduce


print(f"F {F * 1e3:.3f} ms, c {c * 1e6:.2f} us/sample, U {U * 1e3:.3f} ms, S {S / 1e6:.2f} MB")
print(f"{'link':8} {'batch':>6} {'T(1) ms':>8} {'allreduce ms (N->inf)':>22} "
      f"{'best N':>6} {'speedup':>8} {'N at 50 %':>10} {'speedup':>8}")
for name, (alpha, beta) in links.items():
    for B in (128, 512, 2048, 8192):
        t1 = step(B, 1, alpha, beta)
        ns = range(1, B + 1)
        speed = {n: t1 / step(B, n, alpha, beta) for n in ns}
        best = max(ns, key=lambda n: speed[n])
        half = max((n for n in ns if speed[n] / n >= 0.5), default=1)
        print(f"{name:8} {B:6} {t1 * 1e3:8.2f} {2 * S / beta * 1e3:22.2f} {best:6} "
              f"{speed[best]:7.1f}x {half:10} {speed[half]:7.1f}x")
