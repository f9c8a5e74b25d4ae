// Inference latency and throughput of the demo's model (784-256-10, relu, linear output):
// predict() on one row, timed call by call (p50, p99), and on batches of 256 (rows per second);
// then the BLAS floor of the same shapes: the BLAS calls alone, with the bias and relu, on
// preallocated buffers; for one row both sgemv and sgemm with m = 1 are timed and the faster is
// the floor (OpenBLAS's transposed sgemv is the slower of the two on some CPUs). The weights are
// random: the time does not depend on their values.
//
//   bench_inference [calls=20000] [threads=1]

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <retrograd/blas.hpp>
#include <retrograd/retrograd.hpp>
#include <vector>

using namespace retrograd;

namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1))];
}

/// Times `call` `calls` times, one by one, after a warm-up; returns the seconds of each call.
template <class F>
std::vector<double> time_calls(std::size_t calls, F&& call) {
  for (std::size_t i = 0; i < calls / 10 + 1; ++i) call();
  std::vector<double> seconds(calls);
  for (double& s : seconds) {
    const auto t0 = Clock::now();
    call();
    s = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return seconds;
}

void report(const char* impl, const std::vector<double>& row_seconds,
            const std::vector<double>& batch_seconds, std::size_t batch, int threads) {
  std::printf(
      "impl=%s bench=inference model=784-256-10 threads=%d row_p50_us=%.2f row_p99_us=%.2f "
      "batch=%zu batch_p50_us=%.1f rows_per_s=%.0f blas=%s\n",
      impl, threads, percentile(row_seconds, 0.5) * 1e6, percentile(row_seconds, 0.99) * 1e6, batch,
      percentile(batch_seconds, 0.5) * 1e6,
      static_cast<double>(batch) / percentile(batch_seconds, 0.5), blas_core_name().c_str());
}

/// The BLAS calls one prediction needs and the elementwise work around them, nothing else.
struct Floor {
  int in = 784, hidden = 256, out = 10;
  std::vector<float> w1 = std::vector<float>(784 * 256, 0.01f), b1 = std::vector<float>(256, 0.1f),
                     w2 = std::vector<float>(256 * 10, 0.01f), b2 = std::vector<float>(10, 0.1f);
  std::vector<float> h, y;
  bool gemv = false;

  void run(const float* x, int rows) {
    h.resize(static_cast<std::size_t>(rows) * hidden);
    y.resize(static_cast<std::size_t>(rows) * out);
    layer(x, rows, in, hidden, w1.data(), b1.data(), h.data(), true);
    layer(h.data(), rows, hidden, out, w2.data(), b2.data(), y.data(), false);
  }
  void layer(const float* x, int rows, int k, int n, const float* w, const float* b, float* y,
             bool relu) const {
    for (int r = 0; r < rows; ++r) std::copy(b, b + n, y + static_cast<std::size_t>(r) * n);
    if (gemv && rows == 1) {
      cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, w, n, x, 1, 1.0f, y, 1);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n, k, 1.0f, x, k, w, n, 1.0f, y,
                  n);
    }
    if (relu) {
      for (std::size_t i = 0; i < static_cast<std::size_t>(rows) * n; ++i) {
        y[i] = std::max(y[i], 0.0f);
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  const std::size_t calls = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  set_blas_threads(threads);
  constexpr std::size_t batch = 256;

  nn::manual_seed(1);
  nn::Sequential model;
  model.add(nn::Dense(784, 256, nn::Activation::relu()));
  model.add(nn::Dense(256, 10));
  const Tensor row = full<float>({1, 784}, 0.5f);
  const Tensor rows = full<float>({batch, 784}, 0.5f);
  float sink = 0;
  const auto row_seconds = time_calls(calls, [&] { sink += model.predict(row)(0, 0); });
  const auto batch_seconds =
      time_calls(calls / 20 + 1, [&] { sink += model.predict(rows, batch)(0, 0); });
  report("retrograd", row_seconds, batch_seconds, batch, threads);

  Floor floor;
  const std::vector<float> x(batch * 784, 0.5f);
  std::vector<double> floor_row;
  for (const bool gemv : {false, true}) {
    floor.gemv = gemv;
    auto seconds = time_calls(calls, [&] {
      floor.run(x.data(), 1);
      sink += floor.y[0];
    });
    if (floor_row.empty() || percentile(seconds, 0.5) < percentile(floor_row, 0.5)) {
      floor_row = std::move(seconds);
    }
  }
  floor.gemv = false;
  const auto floor_batch = time_calls(calls / 20 + 1, [&] {
    floor.run(x.data(), batch);
    sink += floor.y[0];
  });
  report("blas_floor", floor_row, floor_batch, batch, threads);
  return sink == 12345.0f ? 1 : 0;  // keeps the results alive
}
