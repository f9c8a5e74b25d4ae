// The GEMM floor of one training epoch: only the cblas_sgemm calls a step of each configuration
// needs (forward X W per layer; backward dW = X^T G per layer and dX = G W^T for every layer but
// the first), on preallocated buffers. No training code can be faster than this. The buffers are
// 64-byte aligned like the library's tensors: OpenBLAS's small-matrix kernels run up to twice as
// slow on a matrix 16 bytes off a cache line, which is where malloc may put a std::vector's data.
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

int main(int argc, char** argv) {
  retrograd::ensure_fast_blas(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_gemm_floor a|b|c [threads]\n");
    return 2;
  }
  const std::string config = argv[1];
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  retrograd::set_blas_threads(threads);
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
  using Buffer = std::vector<float, retrograd::detail::BufferAllocator<float>>;
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
