// The scalar chain of bench/chain.cpp (add 0.5, mul 0.9, max with 0.1, sigmoid, in turn) taped
// with ADOL-C (Debian libadolc-dev) and swept in reverse: the forward time is the taping
// (trace_on with keepTaylors = 1, which also evaluates and keeps the values a reverse sweep
// needs), the backward time is one fos_reverse. ADOL-C computes in double and reuses its tape
// from run to run, so nothing is freed per run. Prints the median ns per node like bench_chain.
//
// The tape buffers are sized for the whole chain so that ADOL-C never spills to its tape files
// (ADOLC-*.tap): the program checks ADOL-C's statistics and the working directory and fails if
// it did. It also checks, on a short chain, that ADOL-C's gradient is retrograd's (in double).
//
//   bench_chain_adolc [nodes=100000] [runs=7]

#include <adolc/adolc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <retrograd/retrograd.hpp>
#include <string>
#include <vector>

#include "chain.hpp"

using Clock = std::chrono::steady_clock;

// The chain's two named ops on ADOL-C's active numbers, found by build_chain (chain.hpp).
adouble maximum(const adouble& y, double c) { return fmax(y, c); }
adouble sigmoid(const adouble& y) { return 1.0 / (1.0 + exp(-y)); }

namespace {

constexpr short tape = 1;

/// Tape sizes for a chain of `nodes` ops. ADOL-C's statistics for this chain (tapestats) give
/// 2.75 operations, 5.5 locations, 1.5 values and 2.75 Taylor values per op; its default
/// buffers (524,288 entries each) would spill the locations of 100,000 ops to a file.
struct TapeBuffers {
  explicit TapeBuffers(int nodes)
      : operations(4u * nodes + 64),
        locations(8u * nodes + 64),
        values(4u * nodes + 64),
        taylors(4u * nodes + 64) {}
  unsigned operations, locations, values, taylors;
};

/// Tapes the chain at x and returns y; the tape keeps the values for an immediate reverse sweep.
double tape_chain(double x, int nodes, const TapeBuffers& buffers) {
  trace_on(tape, 1, buffers.operations, buffers.locations, buffers.values, buffers.taylors);
  adouble ax;
  ax <<= x;
  adouble ay = build_chain(ax, nodes);
  double y = 0;
  ay >>= y;
  trace_off();
  return y;
}

/// dy/dx of the taped chain.
double sweep_back() {
  double seed = 1.0, gradient = 0.0;
  fos_reverse(tape, 1, 1, &seed, &gradient);
  return gradient;
}

/// dy/dx of the same chain built by retrograd, in double precision.
double retrograd_gradient(double x0, int nodes) {
  const retrograd::VarD x(x0, retrograd::requires_grad);
  build_chain(x, nodes).backward();
  return x.grad_item();
}

/// Fails when ADOL-C wrote any part of the tape to a file instead of keeping it in memory.
bool tape_stayed_in_memory() {
  std::size_t stats[STAT_SIZE];
  tapestats(tape, stats);
  if (stats[OP_FILE_ACCESS] || stats[LOC_FILE_ACCESS] || stats[VAL_FILE_ACCESS]) {
    std::fprintf(stderr,
                 "ADOL-C wrote its tape to files (operations %zu, locations %zu, values %zu): "
                 "raise the buffer sizes\n",
                 stats[NUM_OPERATIONS], stats[NUM_LOCATIONS], stats[NUM_VALUES]);
    return false;
  }
  for (const auto& entry : std::filesystem::directory_iterator(".")) {
    if (entry.path().filename().string().rfind("ADOLC-", 0) == 0) {
      std::fprintf(stderr, "ADOL-C spilled to %s: raise the buffer sizes\n", entry.path().c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int nodes = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 7;
  if (nodes < 1 || runs < 1) {
    std::fprintf(stderr, "usage: bench_chain_adolc [nodes=100000] [runs=7]\n");
    return 2;
  }

  // The same gradient as retrograd's: on a short chain, where it has not underflowed to 0.
  constexpr int check_nodes = 41;
  const TapeBuffers check_buffers(check_nodes);
  tape_chain(1.0, check_nodes, check_buffers);
  const double adolc = sweep_back(), ours = retrograd_gradient(1.0, check_nodes);
  if (!gradient_agrees("ADOL-C", adolc, ours, check_nodes)) return 1;

  const TapeBuffers buffers(nodes);
  ChainTimes times;
  double gradient = 0;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    tape_chain(1.0, nodes, buffers);
    const auto t1 = Clock::now();
    gradient = sweep_back();
    times.add(t0, t1, Clock::now(), nodes);
    if (!std::isfinite(gradient)) return 1;
  }
  if (!tape_stayed_in_memory()) return 1;
  std::printf("impl=adolc bench=chain nodes=%d runs=%d %s check_gradient_%d=%.17g\n", nodes, runs,
              times.medians().c_str(), check_nodes, adolc);
  return 0;
}
