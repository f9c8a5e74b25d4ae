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
  bool transpose_a = false,
       transpose_b = false;  // an operand's matrices are stored [k, m] / [n, k]
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

MatmulPlan plan_matmul(const Shape& sa, const Shape& sb, bool transpose_a, bool transpose_b) {
  if (sa.empty() || sb.empty()) refuse_matmul(sa, sb, "a single number has no matrix axes");
  if ((transpose_a && sa.size() == 1) || (transpose_b && sb.size() == 1)) {
    refuse_matmul(sa, sb, "a 1-d operand cannot be read transposed");
  }
  Shape a = sa, b = sb;
  if (sa.size() == 1) a.insert(a.begin(), 1);
  if (sb.size() == 1) b.push_back(1);
  MatmulPlan p;
  p.transpose_a = transpose_a;
  p.transpose_b = transpose_b;
  p.m = a[a.size() - (transpose_a ? 1 : 2)];
  p.k = a[a.size() - (transpose_a ? 2 : 1)];
  p.n = b[b.size() - (transpose_b ? 2 : 1)];
  const std::size_t kb = b[b.size() - (transpose_b ? 1 : 2)];
  if (kb != p.k) {
    refuse_matmul(sa, sb,
                  "inner sizes " + std::to_string(p.k) + " and " + std::to_string(kb) +
                      " differ; expects [..., m, k] x [..., k, n]" +
                      (transpose_a || transpose_b ? " after the transposes" : ""));
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

namespace {
// Note [matmul's gradients]: with C = op_a(A) op_b(B) (op_x transposes when its flag is set),
// dop_a(A) = G op_b(B)^T and dop_b(B) = op_a(A)^T G, so
//   dA = G op_b(B)^T               = A-shaped product (G, B, flags false, !tb)  when !ta
//   dA = (G op_b(B)^T)^T = op_b(B) G^T  = (B, G, flags tb, true)                  when ta
//   dB = op_a(A)^T G               = (A, G, flags !ta, false)                     when !tb
//   dB = (op_a(A)^T G)^T = G^T op_a(A)  = (G, A, flags true, ta)                  when tb
// Every gradient is a product with transpose flags, never a copied transpose: GEMMs on tensors,
// matmul ops with the same flags on Vars (Note [one rule, two paths] in retrograd/node.hpp).

/// One operand of a gradient product: which of (g, a, b) and whether it is read transposed.
enum class Factor { g, a, b };
struct Product {
  Factor left, right;
  bool transpose_left, transpose_right;
};
Product grad_a_product(const MatmulPlan& p) {
  return p.transpose_a ? Product{Factor::b, Factor::g, p.transpose_b, true}
                       : Product{Factor::g, Factor::b, false, !p.transpose_b};
}
Product grad_b_product(const MatmulPlan& p) {
  return p.transpose_b ? Product{Factor::g, Factor::a, true, p.transpose_a}
                       : Product{Factor::a, Factor::g, !p.transpose_a, false};
}

template <class T>
GradList<T> matmul_grads(const TensorSide<T>& side, Grad<T> g, const MatmulPlan& p) {
  const Node<T>& node = side.node;
  const std::size_t m = p.m, k = p.k, n = p.n;
  // each factor's matrix of batch entry e, and its stored rows and columns
  const auto matrix = [&](Factor f, std::size_t e) -> const T* {
    if (f == Factor::a) return node.input(0).data() + p.a_at[e] * m * k;
    if (f == Factor::b) return node.input(1).data() + p.b_at[e] * k * n;
    return g.data() + e * m * n;
  };
  const auto gradient = [&](std::size_t input, const Product& pr, std::size_t rows,
                            std::size_t cols, std::size_t inner) {
    const std::vector<std::size_t>& at = input == 0 ? p.a_at : p.b_at;
    return batched_gradient<T>(
        node.input(input).shape(), input == 0 ? p.a_count : p.b_count, at,
        [&](std::size_t e, T* d, T beta) {
          detail::gemm<T>(pr.transpose_left, pr.transpose_right, rows, cols, inner, T(1),
                          matrix(pr.left, e), matrix(pr.right, e), beta, d + at[e] * rows * cols);
        });
  };
  BasicTensor<T> da = none<T>(), db = none<T>();
  if (node.input_needs_grad(0)) {
    da = p.transpose_a ? gradient(0, grad_a_product(p), k, m, n)
                       : gradient(0, grad_a_product(p), m, k, n);
  }
  if (node.input_needs_grad(1)) {
    db = p.transpose_b ? gradient(1, grad_b_product(p), n, k, m)
                       : gradient(1, grad_b_product(p), k, n, m);
  }
  return {std::move(da), std::move(db)};
}

template <class T>
VarGrads<T> matmul_grads(const VarSide<T>& side, const BasicVar<T>& g, const MatmulPlan& p) {
  const BasicVar<T> a = side.input(0), b = side.input(1);
  // A vector operand is a matrix of one row (a) or one column (b), as numpy's matmul reads it.
  const BasicVar<T> a2 = a.shape().size() == 1 ? reshape(a, Shape{1, a.size()}) : a;
  const BasicVar<T> b2 = b.shape().size() == 1 ? reshape(b, Shape{b.size(), 1}) : b;
  Shape out = broadcast_shape("matmul", Shape(a2.shape().begin(), a2.shape().end() - 2),
                              Shape(b2.shape().begin(), b2.shape().end() - 2));
  out.push_back(p.m);
  out.push_back(p.n);
  const BasicVar<T> g2 = reshape(g, out);
  const auto factor = [&](Factor f) { return f == Factor::a ? a2 : f == Factor::b ? b2 : g2; };
  const auto product = [&](const Product& pr) {
    return matmul(factor(pr.left), factor(pr.right), pr.transpose_left, pr.transpose_right);
  };
  BasicVar<T> da, db;
  if (side.input_needs_grad(0)) {
    da = reshape(sum_to<T>(product(grad_a_product(p)), a2.shape()), a.shape());
  }
  if (side.input_needs_grad(1)) {
    db = reshape(sum_to<T>(product(grad_b_product(p)), b2.shape()), b.shape());
  }
  return {da, db};
}

/// The transpose of g, on tensors and on Vars.
template <class T>
BasicTensor<T> transposed(Grad<T> g) {
  return BasicTensor<T>(xt::transpose(g));
}
template <class T>
BasicVar<T> transposed(const BasicVar<T>& g) {
  return transpose(g);
}
}  // namespace

template <class T>
BasicVar<T> matmul(const BasicVar<T>& a, const BasicVar<T>& b) {
  return matmul(a, b, false, false);
}

template <class T>
BasicVar<T> matmul(const BasicVar<T>& a, const BasicVar<T>& b, bool transpose_a, bool transpose_b) {
  MatmulPlan p = plan_matmul(node_of("matmul", a)->shape(), node_of("matmul", b)->shape(),
                             transpose_a, transpose_b);
  require_nonempty("matmul", a.value());
  require_nonempty("matmul", b.value());
  warn_if_slow_blas();
  const std::size_t m = p.m, k = p.k, n = p.n;
  BasicTensor<T> out = BasicTensor<T>::from_shape(p.shape);
  for (std::size_t e = 0; e < p.a_at.size(); ++e) {
    detail::gemm<T>(transpose_a, transpose_b, m, n, k, T(1), a.value().data() + p.a_at[e] * m * k,
                    b.value().data() + p.b_at[e] * k * n, T(0), out.data() + e * m * n);
  }
  return record<T>("matmul", std::move(out), {a.node(), b.node()},
                   two_paths<T>([p = std::move(p)](const auto& node, const auto& g) {
                     // per batch entry, A:[m,k] B:[k,n] G:[m,n];  dA = G B^T,  dB = A^T G
                     // (Note [matmul's gradients] with transposes), summed over the entries
                     // that share a broadcast matrix
                     return matmul_grads(node, g, p);
                   }));
}

template <class T>
BasicVar<T> transpose(const BasicVar<T>& x) {
  return record<T>("transpose", BasicTensor<T>(xt::transpose(x.value())), {x.node()},
                   two_paths<T>([](const auto& n, const auto& g) {
                     // the gradient of a transpose is the transposed gradient
                     return n.grads(transposed(g));
                   }));
}

#define RETROGRAD_INSTANTIATE_LINALG(T)                                            \
  template BasicVar<T> matmul(const BasicVar<T>&, const BasicVar<T>&);             \
  template BasicVar<T> matmul(const BasicVar<T>&, const BasicVar<T>&, bool, bool); \
  template BasicVar<T> transpose(const BasicVar<T>&);

RETROGRAD_INSTANTIATE_LINALG(float)
RETROGRAD_INSTANTIATE_LINALG(double)

std::vector<OpRow> detail::linalg_rows() {
  const OpCall product = [](In v) { return matmul(v[0], v[1]); };
  const auto flagged = [](bool ta, bool tb) {
    return OpCall([ta, tb](In v) { return matmul(v[0], v[1], ta, tb); });
  };
  return {
      {"matmul",
       "linalg",
       "matmul(a, b), matmul(a, b, transpose_a, transpose_b)",
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
        {"vector . vector", {{3}, {3}}, product},
        {"a^T b: [4, 3] read as [3, 4]", {{4, 3}, {4, 2}}, flagged(true, false)},
        {"a b^T: batch [2, 3, 4] x [2, 4]^T", {{2, 3, 4}, {2, 4}}, flagged(false, true)},
        {"a^T b^T, broadcast batch", {{2, 1, 4, 3}, {3, 2, 4}}, flagged(true, true)}},
       "[..., m, k] x [..., k, n], batch axes broadcasting, 1-d operands as numpy; one BLAS call "
       "per batch entry. matmul(a, b, transpose_a, transpose_b) reads an operand's last two "
       "axes swapped, as a BLAS flag (a^T b, a b^T without copying); the backward's products "
       "(Note [matmul's gradients]) are such flagged products, on tensors and on Vars"},
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
