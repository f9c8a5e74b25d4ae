// Matrix products and the transpose. matmul calls BLAS directly; its backward passes transposes to
// BLAS as flags instead of copying them. linear, the dense layer's node, is in activation.cpp.

#include "blas_kernels.hpp"
#include "ops/op_machinery.hpp"
#include "ops/op_rows.hpp"
#include "retrograd/blas.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {
using namespace detail;

namespace {
/// matmul's operands as batches of matrices: a holds a_count [m, k] matrices, b b_count
/// [k, n] ones, and batch entry e multiplies a's matrix a_at[e] by b's matrix b_at[e] (numpy
/// broadcasting of the batch axes, without copying a broadcast operand).
struct MatmulPlan {
  std::size_t m = 1, k = 1, n = 1, a_count = 1, b_count = 1;
  std::vector<std::size_t> a_at, b_at;
  Shape shape;  // the result's
};

[[noreturn]] void refuse_matmul(const Shape& sa, const Shape& sb, const std::string& why) {
  throw std::invalid_argument("matmul: cannot multiply " + shape_string(sa) + " by " +
                              shape_string(sb) + " (" + why + ")");
}

/// For each entry of `batch`, the matrix of an operand with batch axes `own` (right-aligned,
/// size-1 axes repeating).
std::vector<std::size_t> batch_entries(const Shape& own, const Shape& batch) {
  const std::size_t total = shape_size(batch), offset = batch.size() - own.size();
  std::vector<std::size_t> at(total);
  std::vector<std::size_t> index(batch.size(), 0);
  for (std::size_t e = 0; e < total; ++e) {
    std::size_t flat = 0;
    for (std::size_t d = 0; d < own.size(); ++d) {
      flat = flat * own[d] + (own[d] == 1 ? 0 : index[offset + d]);
    }
    at[e] = flat;
    for (std::size_t d = batch.size(); d-- > 0;) {
      if (++index[d] < batch[d]) break;
      index[d] = 0;
    }
  }
  return at;
}

MatmulPlan plan_matmul(const Shape& sa, const Shape& sb) {
  if (sa.empty() || sb.empty()) refuse_matmul(sa, sb, "a single number has no matrix axes");
  Shape a = sa, b = sb;
  if (sa.size() == 1) a.insert(a.begin(), 1);
  if (sb.size() == 1) b.push_back(1);
  MatmulPlan p;
  p.m = a[a.size() - 2];
  p.k = a.back();
  p.n = b.back();
  if (b[b.size() - 2] != p.k) {
    refuse_matmul(sa, sb,
                  "inner sizes " + std::to_string(p.k) + " and " + std::to_string(b[b.size() - 2]) +
                      " differ; expects [..., m, k] x [..., k, n]");
  }
  const Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  Shape batch;
  try {
    batch = broadcast_shape("matmul", a_batch, b_batch);
  } catch (const std::invalid_argument&) {
    refuse_matmul(sa, sb,
                  "batch axes " + shape_string(a_batch) + " and " + shape_string(b_batch) +
                      " do not broadcast");
  }
  p.a_count = shape_size(a_batch);
  p.b_count = shape_size(b_batch);
  p.a_at = batch_entries(a_batch, batch);
  p.b_at = batch_entries(b_batch, batch);
  p.shape = batch;
  if (sa.size() > 1) p.shape.push_back(p.m);
  if (sb.size() > 1) p.shape.push_back(p.n);
  return p;
}

/// The gradient of one operand: for every batch entry, alpha op(X) op(Y) added into the
/// operand's matrix `at[e]`. When each matrix serves one entry, BLAS writes it (beta 0);
/// when a broadcast matrix serves several, their products add up in it (beta 1 on zeros).
template <class T, class Product>
BasicTensor<T> batched_gradient(const Shape& shape, std::size_t count,
                                const std::vector<std::size_t>& at, Product product) {
  const bool shared = at.size() != count;
  BasicTensor<T> d = shared ? zeros<T>(shape) : BasicTensor<T>::from_shape(shape);
  for (std::size_t e = 0; e < at.size(); ++e) product(e, d.data(), shared ? T(1) : T(0));
  return d;
}
}  // namespace

template <class T>
BasicVar<T> matmul(const BasicVar<T>& a, const BasicVar<T>& b) {
  MatmulPlan p = plan_matmul(node_of("matmul", a)->shape(), node_of("matmul", b)->shape());
  require_nonempty("matmul", a.value());
  require_nonempty("matmul", b.value());
  warn_if_slow_blas();
  const std::size_t m = p.m, k = p.k, n = p.n;
  BasicTensor<T> out = BasicTensor<T>::from_shape(p.shape);
  for (std::size_t e = 0; e < p.a_at.size(); ++e) {
    detail::gemm<T>(false, false, m, n, k, T(1), a.value().data() + p.a_at[e] * m * k,
                    b.value().data() + p.b_at[e] * k * n, T(0), out.data() + e * m * n);
  }
  return record<T>(
      "matmul", std::move(out), {a.node(), b.node()},
      [p = std::move(p)](const Node<T>& node, Grad<T> g) -> GradList<T> {
        // per batch entry, A:[m,k] B:[k,n] G:[m,n];  dA = G B^T : [m,k],  dB = A^T G : [k,n],
        // summed over the entries that share a broadcast matrix
        const std::size_t m = p.m, k = p.k, n = p.n;
        const T* A = node.input(0).data();
        const T* B = node.input(1).data();
        BasicTensor<T> da = none<T>(), db = none<T>();
        if (node.input_needs_grad(0)) {
          da = batched_gradient<T>(
              node.input(0).shape(), p.a_count, p.a_at, [&](std::size_t e, T* d, T beta) {
                detail::gemm<T>(false, true, m, k, n, T(1), g.data() + e * m * n,
                                B + p.b_at[e] * k * n, beta, d + p.a_at[e] * m * k);
              });
        }
        if (node.input_needs_grad(1)) {
          db = batched_gradient<T>(
              node.input(1).shape(), p.b_count, p.b_at, [&](std::size_t e, T* d, T beta) {
                detail::gemm<T>(true, false, k, n, m, T(1), A + p.a_at[e] * m * k,
                                g.data() + e * m * n, beta, d + p.b_at[e] * k * n);
              });
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

#define RETROGRAD_INSTANTIATE_LINALG(T)                                \
  template BasicVar<T> matmul(const BasicVar<T>&, const BasicVar<T>&); \
  template BasicVar<T> transpose(const BasicVar<T>&);

RETROGRAD_INSTANTIATE_LINALG(float)
RETROGRAD_INSTANTIATE_LINALG(double)

std::vector<OpRow> detail::linalg_rows() {
  const OpCall product = [](In v) { return matmul(v[0], v[1]); };
  return {
      {"matmul",
       "linalg",
       "matmul(a, b)",
       2,
       "{a} . {b}",
       {"{g} . {b}^T", "{a}^T . {g}"},
       false,
       {},
       nullptr,
       0,
       {{"[3, 4] x [4, 2]", {{3, 4}, {4, 2}}, product},
        {"[1, 1] x [1, 1]", {{1, 1}, {1, 1}}, product},
        {"batch [2, 3, 4] x [2, 4, 2]", {{2, 3, 4}, {2, 4, 2}}, product},
        {"broadcast batch [2, 1, 3, 4] x [3, 4, 2]", {{2, 1, 3, 4}, {3, 4, 2}}, product},
        {"vector x matrix", {{4}, {4, 2}}, product},
        {"batch x vector", {{2, 3, 4}, {4}}, product},
        {"vector . vector", {{3}, {3}}, product}},
       "[..., m, k] x [..., k, n], batch axes broadcasting, 1-d operands as numpy; one BLAS call "
       "per batch entry, and the backward passes transpose flags, never a copied transpose"},
      {"transpose",
       "linalg",
       "transpose(x)",
       1,
       "{x}^T",
       {"transpose({g})"},
       false,
       {},
       nullptr,
       0,
       {{"matrix", {{3, 4}}, [](In v) { return transpose(v[0]); }},
        {"3-d", {{2, 3, 2}}, [](In v) { return transpose(v[0]); }}},
       "reverses the axes"},
  };
}

}  // namespace retrograd
