// Scalar chain: N ops (chain.hpp: add, mul, max, sigmoid in turn) built, then backpropagated.
// Prints the median ns per node over several runs, and the memory the graph held: the growth
// of the peak resident set over the first run's forward pass, per node.
//
//   bench_chain [nodes=100000] [runs=7]

#include "chain.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <retrograd/retrograd.hpp>
#include <vector>

using namespace retrograd;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  const int nodes = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 7;
  auto peak_bytes = [] {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) * 1024.0;
  };
  const double peak_before = peak_bytes();
  double graph_bytes = 0;
  std::vector<double> forward_ns, backward_ns, total_ns;
  for (int r = 0; r < runs; ++r) {
    Var x(1.0f, requires_grad);
    const auto t0 = Clock::now();
    Var y = build_chain(x, nodes);
    const auto t1 = Clock::now();
    if (r == 0) graph_bytes = peak_bytes() - peak_before;
    y.backward();
    y = Var();  // frees the chain: part of the cost of a step
    const auto t2 = Clock::now();
    auto per_node = [&](auto a, auto b) {
      return std::chrono::duration<double, std::nano>(b - a).count() / nodes;
    };
    forward_ns.push_back(per_node(t0, t1));
    backward_ns.push_back(per_node(t1, t2));
    total_ns.push_back(per_node(t0, t2));
    if (!std::isfinite(x.grad_item())) return 1;
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "impl=retrograd bench=chain nodes=%d runs=%d forward_ns=%.0f backward_ns=%.0f "
      "total_ns=%.0f graph_bytes_per_node=%.0f\n",
      nodes, runs, median(forward_ns), median(backward_ns), median(total_ns), graph_bytes / nodes);
  return 0;
}
