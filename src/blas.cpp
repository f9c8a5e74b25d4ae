#include "retrograd/blas.hpp"

#include <cblas.h>
#include <unistd.h>

#ifdef RETROGRAD_ONEDNN
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

#include "blas_kernels.hpp"

namespace retrograd {

std::string blas_core_name() {
  const char* name = openblas_get_corename();
  return name ? name : "";
}

std::string preferred_blas_core() {
  __builtin_cpu_init();
  std::string best;
  if (__builtin_cpu_supports("avx512f")) {
    best = "SkylakeX";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    best = "Haswell";
  }
  return best;
}

bool blas_on_fallback_kernel() {
  const std::string core = blas_core_name();
  const std::string best = preferred_blas_core();
  if (best.empty() || core == best) return false;
  // Generic kernels OpenBLAS falls back to when it does not know the CPU.
  return core == "Prescott" || core == "Core2" || core == "Nehalem" || core == "Sandybridge" ||
         core == "Barcelona" || core == "Katmai" || core == "Unknown";
}

void ensure_fast_blas(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") || !blas_on_fallback_kernel()) return;
  const std::string best = preferred_blas_core();
  setenv("OPENBLAS_CORETYPE", best.c_str(), 1);
  execv("/proc/self/exe", argv);
  // The re-exec failed: carry on with the slow kernel, but say so.
  warn_if_slow_blas();
}

void warn_if_slow_blas() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!blas_on_fallback_kernel()) return;
    std::fprintf(stderr,
                 "retrograd: OpenBLAS runs its generic '%s' kernel; this CPU supports '%s', "
                 "about 5x faster. Start the program with OPENBLAS_CORETYPE=%s set.\n",
                 blas_core_name().c_str(), preferred_blas_core().c_str(),
                 preferred_blas_core().c_str());
  });
}

void set_blas_threads(int threads) {
  if (threads < 1) {
    throw std::invalid_argument("set_blas_threads: thread count must be at least 1 (got " +
                                std::to_string(threads) + ")");
  }
  openblas_set_num_threads(threads);
#ifdef RETROGRAD_ONEDNN
  omp_set_num_threads(threads);
#endif
}

std::string gemm_backend() {
#ifdef RETROGRAD_ONEDNN
  return "oneDNN";
#else
  return "OpenBLAS";
#endif
}

namespace detail {

template <>
void gemm<float>(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, const float* b, float beta, float* c) {
  const int lda = static_cast<int>(transpose_a ? m : k);
  const int ldb = static_cast<int>(transpose_b ? k : n);
#ifdef RETROGRAD_ONEDNN
  // Row-major like cblas. It fails only on invalid arguments, which the ops rule out.
  const dnnl_status_t status =
      dnnl_sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', static_cast<dnnl_dim_t>(m),
                 static_cast<dnnl_dim_t>(n), static_cast<dnnl_dim_t>(k), alpha, a, lda, b, ldb,
                 beta, c, static_cast<dnnl_dim_t>(n));
  if (status != dnnl_success) {
    throw std::runtime_error("dnnl_sgemm failed with status " + std::to_string(status) + " for " +
                             std::to_string(m) + " x " + std::to_string(k) + " times " +
                             std::to_string(k) + " x " + std::to_string(n));
  }
#else
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
              transpose_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, lda, b, ldb, beta, c, static_cast<int>(n));
#endif
}

template <>
void gemm<double>(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
                  double alpha, const double* a, const double* b, double beta, double* c) {
  const int lda = static_cast<int>(transpose_a ? m : k);
  const int ldb = static_cast<int>(transpose_b ? k : n);
  cblas_dgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
              transpose_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, lda, b, ldb, beta, c, static_cast<int>(n));
}

}  // namespace detail
}  // namespace retrograd
