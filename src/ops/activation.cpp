// The activations relu, sigmoid and tanh, and linear: a dense layer's node, which applies them
// to x W + b in place. Each activation's forward and derivative are written once and serve both
// ops; the derivative is written in the output y because the fused node keeps only y.

#include <algorithm>

#include "blas_kernels.hpp"
#include "ops/op_machinery.hpp"
#include "ops/op_rows.hpp"
#include "retrograd/blas.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {
using namespace detail;

namespace {
// Each activation as a forward f(x) and a derivative d(g, y) = dL/dx from g = dL/dy and y.

// relu(x) = max(x, 0);  relu'(x) = [y > 0], so relu'(0) = 0 (Note [ties] in elementwise.cpp)
template <class T>
constexpr auto relu_forward = [](const auto& x) { return math::maximum(x, T(0)); };
template <class T>
constexpr auto relu_backward =
    [](const auto& g, const auto& y) { return math::where(y > T(0), g, T(0)); };

// sigmoid(x) = 1 / (1 + e^-x);  sigmoid'(x) = y (1 - y)
template <class T>
constexpr auto sigmoid_forward = [](const auto& x) { return T(1) / (T(1) + math::exp(-x)); };
template <class T>
constexpr auto sigmoid_backward = [](const auto& g, const auto& y) { return g * (y * (T(1) - y)); };

// tanh(x);  tanh'(x) = 1 - y^2
template <class T>
constexpr auto tanh_forward = [](const auto& x) { return math::tanh(x); };
template <class T>
constexpr auto tanh_backward = [](const auto& g, const auto& y) { return g * (T(1) - y * y); };
}  // namespace

template <class T>
BasicVar<T> relu(const BasicVar<T>& x) {
  return unary<T>("relu", x, relu_forward<T>, from_output(relu_backward<T>));
}

template <class T>
BasicVar<T> sigmoid(const BasicVar<T>& x) {
  return unary<T>("sigmoid", x, sigmoid_forward<T>, from_output(sigmoid_backward<T>));
}

template <class T>
BasicVar<T> tanh(const BasicVar<T>& x) {
  return unary<T>("tanh", x, tanh_forward<T>, from_output(tanh_backward<T>));
}

namespace {
const char* linear_op_name(LinearActivation activation) {
  switch (activation) {
    case LinearActivation::relu:
      return "linear_relu";
    case LinearActivation::sigmoid:
      return "linear_sigmoid";
    case LinearActivation::tanh:
      return "linear_tanh";
    case LinearActivation::none:
      break;
  }
  return "linear";
}

/// dz = backward(g, y), the activation's derivative applied to g, and db = column sums of dz,
/// in one pass (rows x cols, row-major). Restrict pointers and a derivative known at compile
/// time let GCC vectorize the inner loop.
template <class T, class Backward>
void activation_backward(const T* __restrict g, const T* __restrict y, T* __restrict dz,
                         T* __restrict db, std::size_t rows, std::size_t cols, Backward backward) {
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      const T v = backward(g[r * cols + c], y[r * cols + c]);
      dz[r * cols + c] = v;
      db[c] += v;
    }
  }
}
}  // namespace

template <class T>
BasicVar<T> linear(const BasicVar<T>& x, const BasicVar<T>& w, const BasicVar<T>& b) {
  return linear(x, w, b, LinearActivation::none);
}

template <class T>
BasicTensor<T> linear_value(const BasicTensor<T>& x, const BasicTensor<T>& w,
                            const BasicTensor<T>& b, LinearActivation activation) {
  const char* op = linear_op_name(activation);
  const Shape& sx = x.shape();
  const Shape& sw = w.shape();
  if (sx.size() != 2 || sw.size() != 2 || sx[1] != sw[0] || b.shape() != Shape{sw[1]}) {
    throw std::invalid_argument(std::string(op) + ": x " + shape_string(sx) + ", W " +
                                shape_string(sw) + ", b " + shape_string(b.shape()) +
                                " do not fit x [n, in] W [in, out] b [out]");
  }
  require_nonempty(op, x);
  require_nonempty(op, w);
  warn_if_slow_blas();
  const std::size_t n = sx[0], in = sx[1], out = sw[1];
  // The bias is written into every row first, then BLAS accumulates X W on top (beta = 1):
  // one pass and one buffer fewer than matmul followed by add.
  BasicTensor<T> y = BasicTensor<T>::from_shape({n, out});
  for (std::size_t r = 0; r < n; ++r) std::copy(b.data(), b.data() + out, y.data() + r * out);
  detail::gemm<T>(false, false, n, out, in, T(1), x.data(), w.data(), T(1), y.data());
  switch (activation) {
    case LinearActivation::relu:
      xt::noalias(y) = relu_forward<T>(y);
      break;
    case LinearActivation::sigmoid:
      xt::noalias(y) = sigmoid_forward<T>(y);
      break;
    case LinearActivation::tanh:
      xt::noalias(y) = tanh_forward<T>(y);
      break;
    case LinearActivation::none:
      break;
  }
  return y;
}

namespace {
// linear's gradients: y = act(z), z = x W + b;  dz = act's backward(g, y) (identity for none);
// dx = dz W^T : [n,in],  dW = x^T dz : [in,out],  db = sum_rows(dz) : [out]. On tensors in one
// pass over g and two GEMMs with transpose flags; on Vars as ops (matmul with the same flags),
// so that they can be differentiated again (Note [one rule, two paths]).
template <class T>
GradList<T> linear_grads(const TensorSide<T>& side, Grad<T> g, std::size_t n, std::size_t in,
                         std::size_t out, LinearActivation activation) {
  const Node<T>& node = side.node;
  BasicTensor<T> dx = none<T>(), dw = none<T>(), dz = none<T>();
  BasicTensor<T> db = zeros<T>({out});
  if (activation != LinearActivation::none) dz = BasicTensor<T>::from_shape({n, out});
  const T* gz = activation == LinearActivation::none ? g.data() : dz.data();
  const T* y = node.value().data();
  switch (activation) {
    case LinearActivation::relu:
      activation_backward(g.data(), y, dz.data(), db.data(), n, out, relu_backward<T>);
      break;
    case LinearActivation::sigmoid:
      activation_backward(g.data(), y, dz.data(), db.data(), n, out, sigmoid_backward<T>);
      break;
    case LinearActivation::tanh:
      activation_backward(g.data(), y, dz.data(), db.data(), n, out, tanh_backward<T>);
      break;
    case LinearActivation::none:
      for (std::size_t r = 0; r < n; ++r) {
        const T* row = g.data() + r * out;
        for (std::size_t c = 0; c < out; ++c) db.data()[c] += row[c];
      }
      break;
  }
  if (node.input_needs_grad(0)) {
    dx = BasicTensor<T>::from_shape({n, in});
    detail::gemm<T>(false, true, n, in, out, T(1), gz, node.input(1).data(), T(0), dx.data());
  }
  if (node.input_needs_grad(1)) {
    dw = BasicTensor<T>::from_shape({in, out});
    detail::gemm<T>(true, false, in, out, n, T(1), node.input(0).data(), gz, T(0), dw.data());
  }
  if (!node.input_needs_grad(2)) db = none<T>();
  return {std::move(dx), std::move(dw), std::move(db)};
}

template <class T>
VarGrads<T> linear_grads(const VarSide<T>& side, const BasicVar<T>& g, std::size_t, std::size_t,
                         std::size_t, LinearActivation activation) {
  const BasicVar<T> y = side.value();
  BasicVar<T> dz = g;
  switch (activation) {
    case LinearActivation::relu:
      dz = relu_backward<T>(g, y);
      break;
    case LinearActivation::sigmoid:
      dz = sigmoid_backward<T>(g, y);
      break;
    case LinearActivation::tanh:
      dz = tanh_backward<T>(g, y);
      break;
    case LinearActivation::none:
      break;
  }
  BasicVar<T> dx, dw, db;
  if (side.input_needs_grad(0)) dx = matmul(dz, side.input(1), false, true);
  if (side.input_needs_grad(1)) dw = matmul(side.input(0), dz, true, false);
  if (side.input_needs_grad(2)) db = sum(dz, 0);
  return {dx, dw, db};
}
}  // namespace

template <class T>
BasicVar<T> linear(const BasicVar<T>& x, const BasicVar<T>& w, const BasicVar<T>& b,
                   LinearActivation activation) {
  const char* op = linear_op_name(activation);
  BasicTensor<T> y = linear_value(x.value(), w.value(), b.value(), activation);
  const std::size_t n = y.shape()[0], in = x.shape()[1], out = y.shape()[1];
  return record<T>(op, std::move(y), {x.node(), w.node(), b.node()},
                   two_paths<T>([n, in, out, activation](const auto& node, const auto& g) {
                     return linear_grads(node, g, n, in, out, activation);
                   }));
}

#define RETROGRAD_INSTANTIATE_ACTIVATIONS(T)                                               \
  template BasicVar<T> relu(const BasicVar<T>&);                                           \
  template BasicVar<T> sigmoid(const BasicVar<T>&);                                        \
  template BasicVar<T> tanh(const BasicVar<T>&);                                           \
  template BasicVar<T> linear(const BasicVar<T>&, const BasicVar<T>&, const BasicVar<T>&); \
  template BasicVar<T> linear(const BasicVar<T>&, const BasicVar<T>&, const BasicVar<T>&,  \
                              LinearActivation);                                           \
  template BasicTensor<T> linear_value(const BasicTensor<T>&, const BasicTensor<T>&,       \
                                       const BasicTensor<T>&, LinearActivation);

RETROGRAD_INSTANTIATE_ACTIVATIONS(float)
RETROGRAD_INSTANTIATE_ACTIVATIONS(double)

namespace {
OpRow activation_row(const char* name, const char* forward, const char* backward, OpCall apply,
                     const char* notes = "") {
  return {name,
          "activation",
          std::string(name) + "(x)",
          1,
          forward,
          {backward},
          true,
          {},
          apply,
          0,
          unary_checks(apply),
          notes};
}

/// linear with an activation: its rows differ only in dz, the gradient at x W + b.
OpRow linear_row(const char* name, const char* forward, const char* dz, LinearActivation act) {
  const std::string z(dz);
  const OpCall call = [act](In v) { return linear(v[0], v[1], v[2], act); };
  return {name,
          "activation",
          act == LinearActivation::none ? "linear(x, W, b)" : "linear(x, W, b, activation)",
          3,
          forward,
          {z + " . {b}^T", "{a}^T . " + z, z + " summed over rows"},
          false,
          {},
          nullptr,
          0,
          {{"batch of 3", {{3, 4}, {4, 2}, {2}}, call},
           {"one row, one output", {{1, 5}, {5, 1}, {1}}, call}},
          "x [n, in], W [in, out], b [out]; the bias is written first and BLAS accumulates "
          "x W onto it"};
}
}  // namespace

std::vector<OpRow> detail::activation_rows() {
  return {
      activation_row(
          "relu", "max({x}, 0)", "1 if {x} > 0 else 0", [](In v) { return relu(v[0]); },
          "relu'(0) = 0"),
      activation_row("sigmoid", "1 / (1 + e^-{x})", "{y} * (1 - {y})",
                     [](In v) { return sigmoid(v[0]); }),
      activation_row("tanh", "tanh {x}", "1 - {y}^2", [](In v) { return tanh(v[0]); }),
      linear_row("linear", "{a} {b} + {c}", "{g}", LinearActivation::none),
      linear_row("linear_relu", "relu({a} {b} + {c})", "({g} * [{y} > 0])", LinearActivation::relu),
      linear_row("linear_sigmoid", "sigmoid({a} {b} + {c})", "({g} * {y} * (1 - {y}))",
                 LinearActivation::sigmoid),
      linear_row("linear_tanh", "tanh({a} {b} + {c})", "({g} * (1 - {y}^2))",
                 LinearActivation::tanh),
  };
}

}  // namespace retrograd
