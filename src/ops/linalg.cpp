// Matrix product and shape ops. matmul calls BLAS directly; its backward passes transposes to
// BLAS as flags instead of copying them. linear, the dense layer's node, is in activation.cpp.

#include "blas_kernels.hpp"
#include "ops/op_machinery.hpp"
#include "retrograd/blas.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {
using namespace detail;

template <class T>
BasicVar<T> matmul(const BasicVar<T>& a, const BasicVar<T>& b) {
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  if (sa.size() != 2 || sb.size() != 2 || sa[1] != sb[0]) {
    throw std::invalid_argument("matmul: cannot multiply " + shape_string(sa) + " by " +
                                shape_string(sb) + " (expects 2-d operands [m, k] x [k, n])");
  }
  require_nonempty("matmul", a.value());
  require_nonempty("matmul", b.value());
  warn_if_slow_blas();
  const std::size_t m = sa[0], k = sa[1], n = sb[1];
  BasicTensor<T> out = BasicTensor<T>::from_shape({m, n});
  detail::gemm<T>(false, false, m, n, k, T(1), a.value().data(), b.value().data(), T(0),
                  out.data());
  return record<T>("matmul", std::move(out), {a.node(), b.node()},
                   [m, k, n](const Node<T>& node, Grad<T> g) -> GradList<T> {
                     // A:[m,k] B:[k,n] G:[m,n];  dA = G B^T : [m,k],  dB = A^T G : [k,n]
                     BasicTensor<T> da = none<T>(), db = none<T>();
                     if (node.input_needs_grad(0)) {
                       da = BasicTensor<T>::from_shape({m, k});
                       detail::gemm<T>(false, true, m, k, n, T(1), g.data(), node.input(1).data(),
                                       T(0), da.data());
                     }
                     if (node.input_needs_grad(1)) {
                       db = BasicTensor<T>::from_shape({k, n});
                       detail::gemm<T>(true, false, k, n, m, T(1), node.input(0).data(), g.data(),
                                       T(0), db.data());
                     }
                     return {std::move(da), std::move(db)};
                   });
}

template <class T>
BasicVar<T> transpose(const BasicVar<T>& x) {
  return record<T>("transpose", BasicTensor<T>(xt::transpose(x.value())), {x.node()},
                   [](const Node<T>&, Grad<T> g) -> GradList<T> {
                     // the gradient of a transpose is the transposed gradient
                     return {BasicTensor<T>(xt::transpose(g))};
                   });
}

template <class T>
BasicVar<T> reshape(const BasicVar<T>& x, const Shape& shape) {
  if (shape_size(shape) != x.size()) {
    throw std::invalid_argument("reshape: cannot reshape " + shape_string(x.shape()) + " (" +
                                std::to_string(x.size()) + " elements) to " + shape_string(shape) +
                                " (" + std::to_string(shape_size(shape)) + " elements)");
  }
  BasicTensor<T> out = x.value();
  out.reshape(shape);
  return record<T>("reshape", std::move(out), {x.node()},
                   [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // same values, the input's shape
                     BasicTensor<T> dx = g;
                     dx.reshape(n.input(0).shape());
                     return {std::move(dx)};
                   });
}

#define RETROGRAD_INSTANTIATE_LINALG(T)                                \
  template BasicVar<T> matmul(const BasicVar<T>&, const BasicVar<T>&); \
  template BasicVar<T> transpose(const BasicVar<T>&);                  \
  template BasicVar<T> reshape(const BasicVar<T>&, const Shape&);

RETROGRAD_INSTANTIATE_LINALG(float)
RETROGRAD_INSTANTIATE_LINALG(double)

}  // namespace retrograd
