#pragma once
// Internal: the one entry point to matrix products. Kept apart from <cblas.h> because cblas.h
// and xtensor-blas cannot share a translation unit.

#include <cstddef>

namespace retrograd::detail {

/// C = alpha * op(A) * op(B) + beta * C, all row-major; op(X) is X or its transpose, passed to
/// BLAS as a flag (never a copied transpose). op(A) is m x k, op(B) is k x n, C is m x n.
template <class T>
void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
          const T* a, const T* b, T beta, T* c);

}  // namespace retrograd::detail
