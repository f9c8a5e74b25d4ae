#pragma once
// The op sequence of the scalar chain benchmarks (bench_chain, bench_chain_adolc,
// bench_chain_sacado): `nodes` ops, y + 0.5, y * 0.9, maximum(y, 0.1) and sigmoid(y) in turn, on
// any number type whose maximum and sigmoid are found by argument-dependent lookup; and what
// the three share to time it and check it.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

template <class Number>
Number build_chain(Number y, int nodes) {
  for (int i = 0; i < nodes; ++i) {
    switch (i % 4) {
      case 0:
        y = y + 0.5;
        break;
      case 1:
        y = y * 0.9;
        break;
      case 2:
        y = maximum(y, 0.1);
        break;
      default:
        y = sigmoid(y);
        break;
    }
  }
  return y;
}

/// Nanoseconds per node of each run's forward (t0 to t1), backward (t1 to t2) and both.
struct ChainTimes {
  std::vector<double> forward_ns, backward_ns, total_ns;

  template <class TimePoint>
  void add(TimePoint t0, TimePoint t1, TimePoint t2, int nodes) {
    auto per_node = [nodes](TimePoint a, TimePoint b) {
      return std::chrono::duration<double, std::nano>(b - a).count() / nodes;
    };
    forward_ns.push_back(per_node(t0, t1));
    backward_ns.push_back(per_node(t1, t2));
    total_ns.push_back(per_node(t0, t2));
  }

  /// "forward_ns=... backward_ns=... total_ns=...": the medians, as bench/table.py reads them.
  std::string medians() const {
    char text[128];
    std::snprintf(text, sizeof text, "forward_ns=%.0f backward_ns=%.0f total_ns=%.0f",
                  median(forward_ns), median(backward_ns), median(total_ns));
    return text;
  }

 private:
  static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }
};

/// Whether another tool's gradient of the `check_nodes`-op chain is retrograd's (to 1e-12,
/// relative); says so on stderr when it is not. A short chain: a long one underflows to 0.
inline bool gradient_agrees(const char* tool, double theirs, double ours, int check_nodes) {
  if (std::abs(theirs - ours) <= 1e-12 * std::abs(ours) && ours != 0) return true;
  std::fprintf(stderr, "gradient of the %d-op chain: %s %.17g, retrograd %.17g\n", check_nodes,
               tool, theirs, ours);
  return false;
}
