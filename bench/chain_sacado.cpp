// The scalar chain of bench/chain.cpp (add 0.5, mul 0.9, max with 0.1, sigmoid, in turn) with
// Trilinos Sacado's reverse mode, Sacado::Rad (Debian libtrilinos-sacado-dev): forward builds
// Rad's tape of ADvari records in its memory blocks, backward is one Gradcomp. Rad computes in
// double here, like ADOL-C, and reuses its memory blocks from run to run (the next run's first
// operation recycles them), so nothing is freed per run. Prints the median ns per node like
// bench_chain, and checks on a short chain that Sacado's gradient is retrograd's (in double).
//
//   bench_chain_sacado [nodes=100000] [runs=7]

#include <Sacado_trad.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <retrograd/retrograd.hpp>
#include <vector>

using Clock = std::chrono::steady_clock;
using ADvar = Sacado::Rad::ADvar<double>;

// The chain's two named ops on Sacado's active numbers, found by build_chain (chain.hpp).
ADvar maximum(const ADvar& y, double c) { return max(y, c); }
ADvar sigmoid(const ADvar& y) { return 1.0 / (1.0 + exp(-y)); }

#include "chain.hpp"  // after the two ops: Rad's namespace is not theirs, so lookup must see them

namespace {

/// dy/dx of the chain at x0, taped and swept by Sacado.
double sacado_gradient(double x0, int nodes) {
  ADvar x = x0;
  ADvar y = build_chain(x, nodes);
  ADvar::Gradcomp();
  return x.adj();
}

/// dy/dx of the same chain built by retrograd, in double precision.
double retrograd_gradient(double x0, int nodes) {
  const retrograd::VarD x(x0, retrograd::requires_grad);
  build_chain(x, nodes).backward();
  return x.grad_item();
}

}  // namespace

int main(int argc, char** argv) {
  const int nodes = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 7;
  if (nodes < 1 || runs < 1) {
    std::fprintf(stderr, "usage: bench_chain_sacado [nodes=100000] [runs=7]\n");
    return 2;
  }

  // The same gradient as retrograd's: on a short chain, where it has not underflowed to 0.
  constexpr int check_nodes = 41;
  const double sacado = sacado_gradient(1.0, check_nodes);
  const double ours = retrograd_gradient(1.0, check_nodes);
  if (!gradient_agrees("Sacado", sacado, ours, check_nodes)) return 1;

  ChainTimes times;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    ADvar x = 1.0;
    ADvar y = build_chain(x, nodes);
    const auto t1 = Clock::now();
    ADvar::Gradcomp();
    times.add(t0, t1, Clock::now(), nodes);
    if (!std::isfinite(x.adj())) return 1;
  }
  std::printf("impl=sacado bench=chain nodes=%d runs=%d %s check_gradient_%d=%.17g\n", nodes, runs,
              times.medians().c_str(), check_nodes, sacado);
  return 0;
}
