// Inference latency and throughput of the demo's model (784-256-10, relu, linear output):
// predict() on one row, timed call by call (p50, p99), and on batches of 256 (rows per second),
// beside the BLAS floor of the same shapes: the BLAS calls alone, with the bias and relu, on
// preallocated 64-byte aligned buffers holding the model's own weights. The floor tries each
// formulation (sgemm or sgemv, on W [in, out] or on its transpose [out, in]) and keeps the
// fastest for one row and for the batch. The library and the floor run in interleaved rounds so
// that load and frequency changes reach both alike; each side's percentiles pool its rounds.
//
// Alignment matters: a weight matrix in a std::vector (16-byte aligned by malloc) makes every
// 64-byte load of OpenBLAS's small-matrix kernel straddle two cache lines, which doubled the
// one-row time of an earlier version of this floor.
//
//   bench_inference [calls=20000] [threads=1] [rounds=5]

#include <cblas.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <retrograd/blas.hpp>
#include <retrograd/retrograd.hpp>
#include <string>
#include <vector>

using namespace retrograd;

namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1))];
}

/// Times `call` `calls` times, one by one, after a warm-up; appends the seconds of each call.
template <class F>
void time_calls(std::size_t calls, std::vector<double>& seconds, F&& call) {
  for (std::size_t i = 0; i < calls / 10 + 1; ++i) call();
  for (std::size_t i = 0; i < calls; ++i) {
    const auto t0 = Clock::now();
    call();
    seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
}

/// `count` floats on a 64-byte boundary (the alignment of the library's tensors).
class AlignedFloats {
 public:
  explicit AlignedFloats(std::size_t count)
      : data_(static_cast<float*>(std::aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64)),
              &std::free) {
    if (!data_) throw std::bad_alloc();
  }
  float* get() const { return data_.get(); }

 private:
  std::unique_ptr<float, decltype(&std::free)> data_;
};

/// How the floor computes x W + b.
enum class Kernel { sgemm_w, sgemm_wt, sgemv_w, sgemv_wt };
constexpr std::array<Kernel, 4> all_kernels = {Kernel::sgemm_w, Kernel::sgemm_wt, Kernel::sgemv_w,
                                               Kernel::sgemv_wt};
const char* kernel_name(Kernel kernel) {
  switch (kernel) {
    case Kernel::sgemm_w:
      return "sgemm_W";
    case Kernel::sgemm_wt:
      return "sgemm_Wt";
    case Kernel::sgemv_w:
      return "sgemv_W";
    case Kernel::sgemv_wt:
      return "sgemv_Wt";
  }
  return "?";
}

/// One dense layer's weights in both layouts, its bias and its output buffer.
struct FloorLayer {
  FloorLayer(const Tensor& weight, const Tensor& bias, std::size_t max_rows, bool relu)
      : in(weight.shape()[0]),
        out(weight.shape()[1]),
        relu(relu),
        w(in * out),
        wt(in * out),
        b(out),
        y(max_rows * out) {
    for (std::size_t i = 0; i < in; ++i) {
      for (std::size_t j = 0; j < out; ++j) {
        w.get()[i * out + j] = weight(i, j);
        wt.get()[j * in + i] = weight(i, j);
      }
    }
    std::copy_n(bias.data(), out, b.get());
  }

  void run(const float* x, std::size_t rows, Kernel kernel) const {
    const int m = static_cast<int>(rows), k = static_cast<int>(in), n = static_cast<int>(out);
    float* out_rows = y.get();
    for (std::size_t r = 0; r < rows; ++r) std::copy_n(b.get(), out, out_rows + r * out);
    switch (kernel) {
      case Kernel::sgemm_w:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, x, k, w.get(), n,
                    1.0f, out_rows, n);
        break;
      case Kernel::sgemm_wt:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, k, wt.get(), k, 1.0f,
                    out_rows, n);
        break;
      case Kernel::sgemv_w:
        cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, w.get(), n, x, 1, 1.0f, out_rows, 1);
        break;
      case Kernel::sgemv_wt:
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, wt.get(), k, x, 1, 1.0f, out_rows, 1);
        break;
    }
    if (relu) {
      for (std::size_t i = 0; i < rows * out; ++i) out_rows[i] = std::max(out_rows[i], 0.0f);
    }
  }

  std::size_t in, out;
  bool relu;
  AlignedFloats w, wt, b, y;
};

/// The model's two layers as bare BLAS calls.
struct Floor {
  Floor(const nn::Dense& hidden, const nn::Dense& output, std::size_t max_rows)
      : hidden(hidden.weight().value(), hidden.bias().value(), max_rows, true),
        output(output.weight().value(), output.bias().value(), max_rows, false) {}

  const float* run(const float* x, std::size_t rows, Kernel kernel) const {
    hidden.run(x, rows, kernel);
    output.run(hidden.y.get(), rows, kernel);
    return output.y.get();
  }

  FloorLayer hidden, output;
};

struct Timings {
  std::vector<double> row, batch;
};

void report(const char* impl, const Timings& t, std::size_t batch, int threads,
            const char* kernels) {
  std::printf(
      "impl=%s bench=inference model=784-256-10 threads=%d row_p50_us=%.2f row_p99_us=%.2f "
      "batch=%zu batch_p50_us=%.1f rows_per_s=%.0f blas=%s%s\n",
      impl, threads, percentile(t.row, 0.5) * 1e6, percentile(t.row, 0.99) * 1e6, batch,
      percentile(t.batch, 0.5) * 1e6, static_cast<double>(batch) / percentile(t.batch, 0.5),
      blas_core_name().c_str(), kernels);
}

}  // namespace

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  const std::size_t calls = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const std::size_t rounds = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 5;
  if (calls < rounds || rounds == 0 || threads < 1) {
    std::fprintf(stderr, "usage: bench_inference [calls=20000] [threads=1] [rounds=5]\n");
    return 2;
  }
  set_blas_threads(threads);
  constexpr std::size_t batch = 256;

  nn::manual_seed(1);
  nn::Sequential model;
  model.add(nn::Dense(784, 256, nn::Activation::relu()));
  model.add(nn::Dense(256, 10));
  const Floor floor(dynamic_cast<const nn::Dense&>(model.layer(0)),
                    dynamic_cast<const nn::Dense&>(model.layer(1)), batch);
  const Tensor row = full<float>({1, 784}, 0.5f);
  const Tensor rows = full<float>({batch, 784}, 0.5f);

  // The floor computes what the model does: same weights, same outputs up to rounding.
  const Tensor expected = model.predict(rows, batch);
  for (const Kernel kernel : all_kernels) {
    for (const std::size_t n : {std::size_t{1}, batch}) {
      if (n > 1 && (kernel == Kernel::sgemv_w || kernel == Kernel::sgemv_wt)) continue;
      const float* y = floor.run(rows.data(), n, kernel);
      for (std::size_t i = 0; i < n * 10; ++i) {
        if (std::abs(y[i] - expected.data()[i]) > 1e-4f * (1.0f + std::abs(expected.data()[i]))) {
          std::fprintf(stderr, "floor %s on %zu rows: output %zu is %g, predict gives %g\n",
                       kernel_name(kernel), n, i, y[i], expected.data()[i]);
          return 1;
        }
      }
    }
  }

  Timings library;
  std::array<Timings, all_kernels.size()> floors;
  float sink = 0;
  const std::size_t row_calls = calls / rounds, batch_calls = calls / 20 / rounds + 1;
  for (std::size_t round = 0; round < rounds; ++round) {
    time_calls(row_calls, library.row, [&] { sink += model.predict(row)(0, 0); });
    for (const Kernel kernel : all_kernels) {
      time_calls(row_calls, floors[static_cast<std::size_t>(kernel)].row,
                 [&] { sink += floor.run(row.data(), 1, kernel)[0]; });
    }
    time_calls(batch_calls, library.batch, [&] { sink += model.predict(rows, batch)(0, 0); });
    for (const Kernel kernel : {Kernel::sgemm_w, Kernel::sgemm_wt}) {
      time_calls(batch_calls, floors[static_cast<std::size_t>(kernel)].batch,
                 [&] { sink += floor.run(rows.data(), batch, kernel)[0]; });
    }
  }

  // The floor: the fastest formulation for each, reported with the others' one-row medians.
  Timings best;
  std::string kernels = " floor_row_us=";
  Kernel row_kernel = Kernel::sgemm_w, batch_kernel = Kernel::sgemm_w;
  for (const Kernel kernel : all_kernels) {
    const Timings& t = floors[static_cast<std::size_t>(kernel)];
    char text[64];
    std::snprintf(text, sizeof text, "%s%s:%.2f", kernel == all_kernels[0] ? "" : ",",
                  kernel_name(kernel), percentile(t.row, 0.5) * 1e6);
    kernels += text;
    if (best.row.empty() || percentile(t.row, 0.5) < percentile(best.row, 0.5)) {
      best.row = t.row;
      row_kernel = kernel;
    }
    if (!t.batch.empty() &&
        (best.batch.empty() || percentile(t.batch, 0.5) < percentile(best.batch, 0.5))) {
      best.batch = t.batch;
      batch_kernel = kernel;
    }
  }
  kernels = std::string(" row_kernel=") + kernel_name(row_kernel) +
            " batch_kernel=" + kernel_name(batch_kernel) + kernels;
  report("retrograd", library, batch, threads, "");
  report("blas_floor", best, batch, threads, kernels.c_str());
  return sink == 12345.0f ? 1 : 0;  // keeps the results alive
}
