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
  ChainTimes times;
  for (int r = 0; r < runs; ++r) {
    Var x(1.0f, requires_grad);
    const auto t0 = Clock::now();
    Var y = build_chain(x, nodes);
    const auto t1 = Clock::now();
    if (r == 0) graph_bytes = peak_bytes() - peak_before;
    y.backward();
    y = Var();  // frees the chain: part of the cost of a step
    times.add(t0, t1, Clock::now(), nodes);
    if (!std::isfinite(x.grad_item())) return 1;
  }
  std::printf("impl=retrograd bench=chain nodes=%d runs=%d %s graph_bytes_per_node=%.0f\n", nodes,
              runs, times.medians().c_str(), graph_bytes / nodes);
  return 0;
}
