// The GEMM floor of one training epoch: only the cblas_sgemm calls a step of each configuration
// needs (forward X W per layer; backward dW = X^T G per layer and dX = G W^T for every layer but
// the first), on preallocated buffers. No training code can be faster than this. The buffers are
// 64-byte aligned like the library's tensors: OpenBLAS's small-matrix kernels run up to twice as
// slow on a matrix 16 bytes off a cache line, which is where malloc may put a std::vector's data.
//
// Configuration cnn is `retrograd train --model cnn` at batch 64: each convolution as the GEMMs of
// im2col (forward W cols, backward dW = G cols^T and, but for the first layer, dcols = W^T G),
// then the two dense layers; the im2col copies, pooling and activations are left out.
//
//   bench_gemm_floor CONFIG [threads=1]

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <retrograd/blas.hpp>
#include <retrograd/tensor.hpp>
#include <string>
#include <vector>

namespace {

using Buffer = std::vector<float, retrograd::detail::BufferAllocator<float>>;

/// One product C [m, n] = op(A) op(B) with op(A) [m, k] and op(B) [k, n].
struct Product {
  bool transpose_a, transpose_b;
  int m, n, k;
};

int cnn_floor(int threads) {
  const int batch = 64, samples = 60000;
  const int l1 = 28 * 28, l2 = 14 * 14;  // output positions of the two convolutions
  std::vector<Product> step;
  auto conv = [&](int in_channels, int out_channels, int positions, bool first) {
    const int patch = in_channels * 9, columns = batch * positions;
    step.push_back({false, false, out_channels, columns, patch});             // y = W cols
    step.push_back({false, true, out_channels, patch, columns});              // dW = G cols^T
    if (!first) step.push_back({true, false, patch, columns, out_channels});  // dcols = W^T G
  };
  auto dense = [&](int in, int out, bool first) {
    step.push_back({false, false, batch, out, in});             // y = x W
    step.push_back({true, false, in, out, batch});              // dW = x^T G
    if (!first) step.push_back({false, true, batch, in, out});  // dx = G W^T
  };
  conv(1, 32, l1, true);
  conv(32, 64, l2, false);
  dense(3136, 128, false);
  dense(128, 10, false);
  std::size_t a_size = 0, b_size = 0, c_size = 0;
  for (const Product& p : step) {
    a_size = std::max(a_size, std::size_t(p.m) * p.k);
    b_size = std::max(b_size, std::size_t(p.k) * p.n);
    c_size = std::max(c_size, std::size_t(p.m) * p.n);
  }
  Buffer a(a_size, 0.01f), b(b_size, 0.5f), c(c_size, 0.0f);
  std::vector<double> seconds;
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int start = 0; start < samples; start += batch) {
      for (const Product& p : step) {
        cblas_sgemm(CblasRowMajor, p.transpose_a ? CblasTrans : CblasNoTrans,
                    p.transpose_b ? CblasTrans : CblasNoTrans, p.m, p.n, p.k, 1.0f, a.data(),
                    p.transpose_a ? p.m : p.k, b.data(), p.transpose_b ? p.k : p.n, 0.0f, c.data(),
                    p.n);
      }
    }
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf("impl=gemm_floor config=cnn threads=%d median_s=%.4f blas=%s\n", threads,
              seconds[seconds.size() / 2], retrograd::blas_core_name().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  retrograd::ensure_fast_blas(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_gemm_floor a|b|c|cnn [threads]\n");
    return 2;
  }
  const std::string config = argv[1];
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  retrograd::set_blas_threads(threads);
  if (config == "cnn") return cnn_floor(threads);
  std::vector<int> sizes;
  int batch = 0;
  if (config == "a") {
    sizes = {784, 15, 10};
    batch = 20;
  } else if (config == "b") {
    sizes = {784, 128, 10};
    batch = 64;
  } else if (config == "c") {
    sizes = {784, 512, 512, 10};
    batch = 128;
  } else {
    std::fprintf(stderr, "bench_gemm_floor: unknown configuration '%s'\n", config.c_str());
    return 2;
  }
  const int samples = 60000;
  const std::size_t layers = sizes.size() - 1;
  std::vector<Buffer> act(sizes.size()), grad(sizes.size()), w(layers), dw(layers);
  for (std::size_t l = 0; l < sizes.size(); ++l) {
    act[l].assign(static_cast<std::size_t>(batch) * sizes[l], 0.5f);
    grad[l].assign(static_cast<std::size_t>(batch) * sizes[l], 0.01f);
  }
  for (std::size_t l = 0; l < layers; ++l) {
    w[l].assign(static_cast<std::size_t>(sizes[l]) * sizes[l + 1], 0.01f);
    dw[l].assign(w[l].size(), 0.0f);
  }
  std::vector<double> seconds;
  for (int repeat = 0; repeat < 5; ++repeat) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int start = 0; start < samples; start += batch) {
      const int m = std::min(batch, samples - start);
      for (std::size_t l = 0; l < layers; ++l) {  // forward: A[l+1] = A[l] W[l]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, sizes[l + 1], sizes[l], 1.0f,
                    act[l].data(), sizes[l], w[l].data(), sizes[l + 1], 0.0f, act[l + 1].data(),
                    sizes[l + 1]);
      }
      for (std::size_t l = layers; l-- > 0;) {  // backward
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, sizes[l], sizes[l + 1], m, 1.0f,
                    act[l].data(), sizes[l], grad[l + 1].data(), sizes[l + 1], 0.0f, dw[l].data(),
                    sizes[l + 1]);
        if (l > 0) {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, sizes[l], sizes[l + 1], 1.0f,
                      grad[l + 1].data(), sizes[l + 1], w[l].data(), sizes[l + 1], 0.0f,
                      grad[l].data(), sizes[l]);
        }
      }
    }
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf("impl=gemm_floor config=%s threads=%d median_s=%.4f blas=%s\n", config.c_str(),
              threads, seconds[seconds.size() / 2], retrograd::blas_core_name().c_str());
  return 0;
}
