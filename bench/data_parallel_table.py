#!/usr/bin/env python3
"""Medians and ratios of bench/data_parallel.sh results: data_parallel_table.py FILE...

Each line of the files is one run (variant=... load=... then bench_data_parallel's pairs). The
ratios are of medians over all runs of a variant; the load column is the median 1-minute load
average when the runs started. The two processes' one-float round trip tells where the
hypervisor put their vCPUs: near (about 0.3 us, one L3) or far (about 0.8 us), and a far run's
2.7 MB allreduce takes about 1.4 ms instead of 0.25 (docs/performance.md, "Data-parallel
training"); the runs of each variant are also given by placement."""
import statistics
import sys

runs = {}
for name in sys.argv[1:]:
    for line in open(name):
        pairs = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if "variant" in pairs and "samples_per_s" in pairs:
            runs.setdefault(pairs["variant"], []).append(pairs)


def med(variant, key):
    return statistics.median(float(r.get(key, "nan")) for r in runs[variant])


print(f"{'variant':16} {'runs':>4} {'samples/s':>10} {'step ms':>8} {'after bwd ms':>12} "
      f"{'group step ms':>13} {'allreduce ms':>12} {'round trip us':>13} {'update ms':>9} "
      f"{'messages':>8} {'load':>5}")
for v in runs:
    print(f"{v:16} {len(runs[v]):4} {med(v, 'samples_per_s'):10.0f} {med(v, 'step_ms'):8.3f} "
          f"{med(v, 'after_backward_ms'):12.3f} {med(v, 'group_step_ms'):13.3f} "
          f"{med(v, 'allreduce_ms'):12.3f} {med(v, 'round_trip_us'):13.2f} "
          f"{med(v, 'update_ms'):9.3f} {runs[v][0]['messages']:>8} "
          f"{med(v, 'load'):5.2f}")
speed = {v: med(v, "samples_per_s") for v in runs}
if "1x1" in speed and "2x1" in speed:
    print(f"2 processes / 1 process, 1 thread each: {speed['2x1'] / speed['1x1']:.2f}x (goal 1.7x)")
if "1x2" in speed and "2x1" in speed:
    print(f"2 processes x 1 thread / 1 process x 2 threads: {speed['2x1'] / speed['1x2']:.2f}x "
          "(goal >= 1)")
if "pair-64" in speed and "2x1" in speed:
    ceiling = 2 * speed["pair-64"]
    print(f"ceiling (two batch-64 processes side by side, nothing sent): {ceiling:.0f} samples/s, "
          f"{ceiling / speed['1x1']:.2f}x 1x1")
    for v in ("2x1", "2x1-allreduce"):
        if v in speed:
            print(f"{v} / ceiling: {speed[v] / ceiling:.3f} (goal >= 0.9)")
for v in ("2x1-allreduce", "2x1-no-overlap", "2x1-no-fusion", "2x1-neither"):
    if v in speed and "2x1" in speed:
        print(f"2x1 / {v}: {speed['2x1'] / speed[v]:.3f}")

near_limit_us = 0.6
for v in runs:
    trips = [r for r in runs[v] if float(r.get("round_trip_us", "0")) > 0]
    if not trips:
        continue
    near = [float(r["samples_per_s"]) for r in trips if float(r["round_trip_us"]) < near_limit_us]
    far = [float(r["samples_per_s"]) for r in trips if float(r["round_trip_us"]) >= near_limit_us]
    line = f"{v}: near {len(near)} runs"
    if near:
        line += f", median {statistics.median(near):.0f} samples/s"
        if "pair-64" in speed:
            line += f" ({statistics.median(near) / (2 * speed['pair-64']):.3f} of the ceiling)"
    line += f"; far {len(far)} runs"
    if far:
        line += f", median {statistics.median(far):.0f} samples/s"
    print(line)
