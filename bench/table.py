"""Turns the key=value lines of the benchmarks into the table of docs/performance.md."""
import sys


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            fields = dict(p.split("=", 1) for p in line.split() if "=" in p)
            if "impl" in fields:
                rows.append(fields)
    return rows


def main():
    rows = parse(sys.argv[1])
    by_key = {(r["impl"], r.get("config"), r.get("threads")): r for r in rows if "config" in r}
    chains = {r["impl"]: r for r in rows if r.get("bench") == "chain"}
    print("| config | threads | GEMM floor s | retrograd s/epoch | PyTorch s/epoch | vs PyTorch |"
          " vs floor | retrograd acc 1 / last | PyTorch acc 1 / last | retrograd peak MiB |"
          " PyTorch peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (impl, config, threads), ours in by_key.items():
        if impl != "retrograd":
            continue
        torch = by_key.get(("pytorch", config, threads), {})
        floor = by_key.get(("gemm_floor", config, threads), {})
        ours_s = float(ours["median_s"])
        torch_s = float(torch["median_s"]) if torch else float("nan")
        floor_s = float(floor["median_s"]) if floor else float("nan")
        print(f"| {config} | {threads} | {floor_s:.3f} | {ours_s:.3f} | {torch_s:.3f} | "
              f"{torch_s / ours_s:.2f}x faster | {ours_s / floor_s:.2f}x | "
              f"{float(ours['acc1']):.4f} / {float(ours['acc_last']):.4f} | "
              f"{float(torch.get('acc1', 'nan')):.4f} / {float(torch.get('acc_last', 'nan')):.4f} | "
              f"{float(ours['peak_rss_mib']):.0f} | {float(torch.get('peak_rss_mib', 'nan')):.0f} |")
    if "retrograd" in chains and "pytorch" in chains:
        ours, torch = chains["retrograd"], chains["pytorch"]
        print()
        print("| scalar chain (100,000 ops) | forward ns/node | backward+free ns/node |"
              " total ns/node | vs PyTorch |")
        print("|---|---|---|---|---|")
        for name, r in (("retrograd", ours), ("PyTorch", torch)):
            print(f"| {name} | {r['forward_ns']} | {r['backward_ns']} | {r['total_ns']} | "
                  f"{float(torch['total_ns']) / float(r['total_ns']):.1f}x |")


if __name__ == "__main__":
    main()
