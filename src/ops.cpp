// The op table. Each op computes its forward value, then right below it gives its backward
// rule: the derivative in a comment, then the code that turns the upstream gradient g into one
// gradient per input. docs/ops.md is the same table in prose.

#include "retrograd/ops.hpp"

#include <cmath>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include "blas_kernels.hpp"
#include "retrograd/blas.hpp"
#include "retrograd/broadcast.hpp"
#include "retrograd/engine.hpp"
#include "xtensor_math.hpp"

namespace retrograd {
namespace {

template <class T>
using NodePtr = std::shared_ptr<Node<T>>;
template <class T>
using Grad = const BasicTensor<T>&;

/// "No gradient for this input" in a GradList.
template <class T>
BasicTensor<T> none() {
  return BasicTensor<T>::from_shape({0});
}

/// The gradient of input i when it wants one: f() summed back to the input's shape.
template <class T, class F>
BasicTensor<T> grad_for(const Node<T>& n, std::size_t i, F&& f) {
  return n.input_needs_grad(i) ? sum_to<T>(f(), n.input(i).shape()) : none<T>();
}

/// Whether an op on these inputs records a node: some input requires a gradient and grad mode
/// is on.
template <class T>
bool needs_node(const InputList<T>& inputs) {
  if (!grad_enabled()) return false;
  for (const NodePtr<T>& input : inputs) {
    if (input->requires_grad()) return true;
  }
  return false;
}

template <class T>
BasicVar<T> record(const char* op, BasicTensor<T>&& value, InputList<T> inputs,
                   BackwardFn<T> backward) {
  if (!needs_node(inputs)) {
    return BasicVar<T>(make_node<T>(op, std::move(value), InputList<T>{}, BackwardFn<T>{}));
  }
  return BasicVar<T>(make_node<T>(op, std::move(value), std::move(inputs), std::move(backward)));
}

/// Custom op names live as long as the program: a node keeps a pointer to its op's name, not a
/// copy.
const char* intern(const std::string& name) {
  static std::mutex mutex;
  static std::unordered_set<std::string> names;
  std::lock_guard<std::mutex> lock(mutex);
  return names.insert(name).first->c_str();
}

template <class T>
const NodePtr<T>& node_of(const char* op, const BasicVar<T>& v) {
  if (!v.defined()) throw std::invalid_argument(std::string(op) + ": input is an empty Var");
  return v.node();
}

template <class T>
void require_nonempty(const char* op, const BasicTensor<T>& t) {
  if (t.size() == 0) {
    throw std::invalid_argument(std::string(op) + ": input of shape " + shape_string(t.shape()) +
                                " is empty");
  }
}

/// Throws std::domain_error naming the first element for which `bad` holds.
template <class T, class Pred>
void require_domain(const char* op, const BasicTensor<T>& t, Pred bad, const char* why) {
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (bad(t.data()[i])) {
      throw std::domain_error(std::string(op) + ": " + why + " (element " + std::to_string(i) +
                              " is " + std::to_string(t.data()[i]) + ")");
    }
  }
}

std::size_t normalize_axis(const char* op, int axis, std::size_t rank) {
  const int r = static_cast<int>(rank);
  if (axis < -r || axis >= r) {
    throw std::out_of_range(std::string(op) + ": axis " + std::to_string(axis) +
                            " is out of range for a tensor of rank " + std::to_string(rank));
  }
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

/// A tensor seen as [outer, extent, inner] around one axis, for loops along that axis.
struct AxisSplit {
  std::size_t outer = 1, extent = 1, inner = 1;
  std::size_t at(std::size_t o, std::size_t k, std::size_t i) const {
    return (o * extent + k) * inner + i;
  }
};

AxisSplit split_at(const Shape& shape, std::size_t axis) {
  AxisSplit s;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (d < axis) s.outer *= shape[d];
    if (d == axis) s.extent = shape[d];
    if (d > axis) s.inner *= shape[d];
  }
  return s;
}

Shape reduced_shape(const Shape& shape, std::size_t axis, bool keepdims) {
  Shape out = shape;
  if (keepdims) {
    out[axis] = 1;
  } else {
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(axis));
  }
  return out;
}

/// log(sum_k exp(z_k)) over `count` values `stride` apart, with their max subtracted first so
/// that large logits do not overflow.
template <class T>
T log_sum_exp(const T* z, std::size_t count, std::size_t stride = 1) {
  T top = z[0];
  for (std::size_t k = 1; k < count; ++k) top = std::max(top, z[k * stride]);
  T total = 0;
  for (std::size_t k = 0; k < count; ++k) total += std::exp(z[k * stride] - top);
  return top + std::log(total);
}

/// g (shaped like a reduction's output) spread back over the reduced axis.
template <class T>
BasicTensor<T> expand_along(Grad<T> g, const Shape& input_shape, std::size_t axis) {
  BasicTensor<T> kept = g;
  kept.reshape(reduced_shape(input_shape, axis, true));
  return BasicTensor<T>(xt::broadcast(kept, input_shape));
}

}  // namespace

template <class T>
BasicVar<T> make_op(std::string op, BasicTensor<T> value, const std::vector<BasicVar<T>>& inputs,
                    BackwardFn<T> backward) {
  std::vector<NodePtr<T>> nodes;
  nodes.reserve(inputs.size());
  for (const BasicVar<T>& input : inputs) nodes.push_back(node_of(op.c_str(), input));
  return record(intern(op), std::move(value), InputList<T>(std::move(nodes)), std::move(backward));
}

// ---------------------------------------------------------------------------------------------
// Elementwise, two inputs. Every gradient goes through grad_for, which undoes broadcasting.

template <class T>
BasicVar<T> add(const BasicVar<T>& a, const BasicVar<T>& b) {
  broadcast_shape("add", a.shape(), b.shape());
  return record<T>("add", BasicTensor<T>(a.value() + b.value()), {a.node(), b.node()},
                   [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d(a+b)/da = 1, d(a+b)/db = 1
                     return {grad_for(n, 0, [&] { return g; }), grad_for(n, 1, [&] { return g; })};
                   });
}

template <class T>
BasicVar<T> sub(const BasicVar<T>& a, const BasicVar<T>& b) {
  broadcast_shape("sub", a.shape(), b.shape());
  return record<T>("sub", BasicTensor<T>(a.value() - b.value()), {a.node(), b.node()},
                   [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d(a-b)/da = 1, d(a-b)/db = -1
                     return {grad_for(n, 0, [&] { return g; }),
                             grad_for(n, 1, [&] { return BasicTensor<T>(-g); })};
                   });
}

template <class T>
BasicVar<T> mul(const BasicVar<T>& a, const BasicVar<T>& b) {
  broadcast_shape("mul", a.shape(), b.shape());
  return record<T>("mul", BasicTensor<T>(a.value() * b.value()), {a.node(), b.node()},
                   [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d(ab)/da = b, d(ab)/db = a
                     return {grad_for(n, 0, [&] { return BasicTensor<T>(g * n.input(1)); }),
                             grad_for(n, 1, [&] { return BasicTensor<T>(g * n.input(0)); })};
                   });
}

template <class T>
BasicVar<T> div(const BasicVar<T>& a, const BasicVar<T>& b) {
  broadcast_shape("div", a.shape(), b.shape());
  require_domain("div", b.value(), [](T v) { return v == T(0); }, "division by zero");
  return record<T>(
      "div", BasicTensor<T>(a.value() / b.value()), {a.node(), b.node()},
      [](const Node<T>& n, Grad<T> g) -> GradList<T> {
        // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -(a/b)/b
        return {grad_for(n, 0, [&] { return BasicTensor<T>(g / n.input(1)); }),
                grad_for(n, 1, [&] { return BasicTensor<T>(-g * n.value() / n.input(1)); })};
      });
}

// Note [ties]: where a == b, maximum and minimum send the whole gradient to b. relu(x) is
// maximum(x, 0) with the tie at x = 0 going to the constant 0, hence relu'(0) = 0 in both.
template <class T>
BasicVar<T> maximum(const BasicVar<T>& a, const BasicVar<T>& b) {
  broadcast_shape("maximum", a.shape(), b.shape());
  return record<T>(
      "maximum", BasicTensor<T>(xt::maximum(a.value(), b.value())), {a.node(), b.node()},
      [](const Node<T>& n, Grad<T> g) -> GradList<T> {
        // d max(a,b)/da = [a > b], d max(a,b)/db = [a <= b]
        const auto& a = n.input(0);
        const auto& b = n.input(1);
        return {grad_for(n, 0, [&] { return BasicTensor<T>(xt::where(a > b, g, T(0))); }),
                grad_for(n, 1, [&] { return BasicTensor<T>(xt::where(a > b, T(0), g)); })};
      });
}

template <class T>
BasicVar<T> minimum(const BasicVar<T>& a, const BasicVar<T>& b) {
  broadcast_shape("minimum", a.shape(), b.shape());
  return record<T>(
      "minimum", BasicTensor<T>(xt::minimum(a.value(), b.value())), {a.node(), b.node()},
      [](const Node<T>& n, Grad<T> g) -> GradList<T> {
        // d min(a,b)/da = [a < b], d min(a,b)/db = [a >= b]
        const auto& a = n.input(0);
        const auto& b = n.input(1);
        return {grad_for(n, 0, [&] { return BasicTensor<T>(xt::where(a < b, g, T(0))); }),
                grad_for(n, 1, [&] { return BasicTensor<T>(xt::where(a < b, T(0), g)); })};
      });
}

template <class T>
BasicVar<T> pow(const BasicVar<T>& a, const BasicVar<T>& b) {
  broadcast_shape("pow", a.shape(), b.shape());
  return record<T>(
      "pow", BasicTensor<T>(xt::pow(a.value(), b.value())), {a.node(), b.node()},
      [](const Node<T>& n, Grad<T> g) -> GradList<T> {
        // d a^b/da = b a^(b-1), d a^b/db = a^b ln a (needs a > 0)
        const auto& a = n.input(0);
        const auto& b = n.input(1);
        if (n.input_needs_grad(1)) {
          require_domain("pow", a, [](T v) { return v <= T(0); },
                         "the gradient with respect to the exponent needs a positive base");
        }
        return {grad_for(n, 0, [&] { return BasicTensor<T>(g * b * xt::pow(a, b - T(1))); }),
                grad_for(n, 1, [&] { return BasicTensor<T>(g * n.value() * xt::log(a)); })};
      });
}

template <class T>
BasicVar<T> pow(const BasicVar<T>& x, detail::identity_t<T> p) {
  if (std::trunc(p) != p) {
    require_domain("pow", x.value(), [](T v) { return v < T(0); },
                   "negative base with a non-integer exponent");
  }
  return record<T>("pow", BasicTensor<T>(xt::pow(x.value(), p)), {x.node()},
                   [p](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d x^p/dx = p x^(p-1)
                     return {BasicTensor<T>(g * p * xt::pow(n.input(0), p - T(1)))};
                   });
}

// ---------------------------------------------------------------------------------------------
// Elementwise, one input. Rules that can be written in the output read the output.

template <class T>
BasicVar<T> neg(const BasicVar<T>& x) {
  return record<T>("neg", BasicTensor<T>(-x.value()), {x.node()},
                   [](const Node<T>&, Grad<T> g) -> GradList<T> {
                     // d(-x)/dx = -1
                     return {BasicTensor<T>(-g)};
                   });
}

template <class T>
BasicVar<T> relu(const BasicVar<T>& x) {
  return record<T>("relu", BasicTensor<T>(xt::maximum(x.value(), T(0))), {x.node()},
                   [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // relu'(x) = [x > 0] = [y > 0]; relu'(0) = 0, see Note [ties]
                     return {BasicTensor<T>(xt::where(n.value() > T(0), g, T(0)))};
                   });
}

template <class T>
BasicVar<T> sigmoid(const BasicVar<T>& x) {
  return record<T>("sigmoid", BasicTensor<T>(T(1) / (T(1) + xt::exp(-x.value()))), {x.node()},
                   [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // sigmoid'(x) = y (1 - y)
                     const auto& y = n.value();
                     return {BasicTensor<T>(g * y * (T(1) - y))};
                   });
}

template <class T>
BasicVar<T> tanh(const BasicVar<T>& x) {
  return record<T>("tanh", BasicTensor<T>(xt::tanh(x.value())), {x.node()},
                   [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // tanh'(x) = 1 - y^2
                     const auto& y = n.value();
                     return {BasicTensor<T>(g * (T(1) - y * y))};
                   });
}

template <class T>
BasicVar<T> exp(const BasicVar<T>& x) {
  return record<T>("exp", BasicTensor<T>(xt::exp(x.value())), {x.node()},
                   [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // exp'(x) = y
                     return {BasicTensor<T>(g * n.value())};
                   });
}

template <class T>
BasicVar<T> log(const BasicVar<T>& x) {
  require_domain("log", x.value(), [](T v) { return v < T(0); }, "negative input");
  return record<T>("log", BasicTensor<T>(xt::log(x.value())), {x.node()},
                   [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // log'(x) = 1/x
                     return {BasicTensor<T>(g / n.input(0))};
                   });
}

template <class T>
BasicVar<T> abs(const BasicVar<T>& x) {
  return record<T>("abs", BasicTensor<T>(xt::abs(x.value())), {x.node()},
                   [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // abs'(x) = sign(x); abs'(0) = 0
                     return {BasicTensor<T>(g * xt::sign(n.input(0)))};
                   });
}

// ---------------------------------------------------------------------------------------------
// Linear algebra and shape.

template <class T>
BasicVar<T> matmul(const BasicVar<T>& a, const BasicVar<T>& b) {
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  if (sa.size() != 2 || sb.size() != 2 || sa[1] != sb[0]) {
    throw std::invalid_argument("matmul: cannot multiply " + shape_string(sa) + " by " +
                                shape_string(sb) +
                                " (expects 2-d operands [m, k] x [k, n])");
  }
  require_nonempty("matmul", a.value());
  require_nonempty("matmul", b.value());
  warn_if_slow_blas();
  const std::size_t m = sa[0], k = sa[1], n = sb[1];
  BasicTensor<T> out = BasicTensor<T>::from_shape({m, n});
  detail::gemm<T>(false, false, m, n, k, T(1), a.value().data(), b.value().data(), T(0),
                  out.data());
  return record<T>(
      "matmul", std::move(out), {a.node(), b.node()},
      [m, k, n](const Node<T>& node, Grad<T> g) -> GradList<T> {
        // A:[m,k] B:[k,n] G:[m,n];  dA = G B^T : [m,k],  dB = A^T G : [k,n]
        BasicTensor<T> da = none<T>(), db = none<T>();
        if (node.input_needs_grad(0)) {
          da = BasicTensor<T>::from_shape({m, k});
          detail::gemm<T>(false, true, m, k, n, T(1), g.data(), node.input(1).data(), T(0),
                          da.data());
        }
        if (node.input_needs_grad(1)) {
          db = BasicTensor<T>::from_shape({k, n});
          detail::gemm<T>(true, false, k, n, m, T(1), node.input(0).data(), g.data(), T(0),
                          db.data());
        }
        return {std::move(da), std::move(db)};
      });
}

template <class T>
BasicVar<T> linear(const BasicVar<T>& x, const BasicVar<T>& w, const BasicVar<T>& b) {
  const Shape& sx = x.shape();
  const Shape& sw = w.shape();
  if (sx.size() != 2 || sw.size() != 2 || sx[1] != sw[0] || b.shape() != Shape{sw[1]}) {
    throw std::invalid_argument("linear: x " + shape_string(sx) + ", W " + shape_string(sw) +
                                ", b " + shape_string(b.shape()) +
                                " do not fit x [n, in] W [in, out] b [out]");
  }
  require_nonempty("linear", x.value());
  require_nonempty("linear", w.value());
  warn_if_slow_blas();
  const std::size_t n = sx[0], in = sx[1], out = sw[1];
  // The bias is written into every row first, then BLAS accumulates X W on top (beta = 1):
  // one pass and one buffer fewer than matmul followed by add.
  BasicTensor<T> y = BasicTensor<T>::from_shape({n, out});
  for (std::size_t r = 0; r < n; ++r) {
    std::copy(b.value().data(), b.value().data() + out, y.data() + r * out);
  }
  detail::gemm<T>(false, false, n, out, in, T(1), x.value().data(), w.value().data(), T(1),
                  y.data());
  return record<T>(
      "linear", std::move(y), {x.node(), w.node(), b.node()},
      [n, in, out](const Node<T>& node, Grad<T> g) -> GradList<T> {
        // y = x W + b;  dx = g W^T : [n,in],  dW = x^T g : [in,out],  db = sum_rows(g) : [out]
        BasicTensor<T> dx = none<T>(), dw = none<T>(), db = none<T>();
        if (node.input_needs_grad(0)) {
          dx = BasicTensor<T>::from_shape({n, in});
          detail::gemm<T>(false, true, n, in, out, T(1), g.data(), node.input(1).data(), T(0),
                          dx.data());
        }
        if (node.input_needs_grad(1)) {
          dw = BasicTensor<T>::from_shape({in, out});
          detail::gemm<T>(true, false, in, out, n, T(1), node.input(0).data(), g.data(), T(0),
                          dw.data());
        }
        if (node.input_needs_grad(2)) {
          db = zeros<T>({out});
          for (std::size_t r = 0; r < n; ++r) {
            const T* row = g.data() + r * out;
            for (std::size_t c = 0; c < out; ++c) db.data()[c] += row[c];
          }
        }
        return {std::move(dx), std::move(dw), std::move(db)};
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
                                std::to_string(x.size()) + " elements) to " +
                                shape_string(shape) + " (" +
                                std::to_string(shape_size(shape)) + " elements)");
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

// ---------------------------------------------------------------------------------------------
// Reductions.

template <class T>
BasicVar<T> sum(const BasicVar<T>& x) {
  return record<T>("sum", scalar_tensor<T>(xt::sum(x.value(), xt::evaluation_strategy::immediate)()),
                   {x.node()}, [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d sum(x)/dx_i = 1
                     return {full<T>(n.input(0).shape(), g())};
                   });
}

template <class T>
BasicVar<T> sum(const BasicVar<T>& x, int axis, bool keepdims) {
  const std::size_t ax = normalize_axis("sum", axis, x.value().dimension());
  BasicTensor<T> out = xt::sum(x.value(), {ax}, xt::evaluation_strategy::immediate);
  out.reshape(reduced_shape(x.shape(), ax, keepdims));
  return record<T>("sum", std::move(out), {x.node()},
                   [ax](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d sum_k(x)/dx_k = 1: g spread along the axis
                     return {expand_along(g, n.input(0).shape(), ax)};
                   });
}

template <class T>
BasicVar<T> mean(const BasicVar<T>& x) {
  require_nonempty("mean", x.value());
  const T count = static_cast<T>(x.size());
  return record<T>(
      "mean", scalar_tensor<T>(xt::sum(x.value(), xt::evaluation_strategy::immediate)() / count),
      {x.node()}, [count](const Node<T>& n, Grad<T> g) -> GradList<T> {
        // d mean(x)/dx_i = 1/N
        return {full<T>(n.input(0).shape(), g() / count)};
      });
}

template <class T>
BasicVar<T> mean(const BasicVar<T>& x, int axis, bool keepdims) {
  require_nonempty("mean", x.value());
  const std::size_t ax = normalize_axis("mean", axis, x.value().dimension());
  const T count = static_cast<T>(x.shape()[ax]);
  BasicTensor<T> out = xt::sum(x.value(), {ax}, xt::evaluation_strategy::immediate);
  out /= count;
  out.reshape(reduced_shape(x.shape(), ax, keepdims));
  return record<T>("mean", std::move(out), {x.node()},
                   [ax, count](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d mean_k(x)/dx_k = 1/N along the axis
                     BasicTensor<T> dx = expand_along(g, n.input(0).shape(), ax);
                     dx /= count;
                     return {std::move(dx)};
                   });
}

template <class T>
BasicVar<T> max(const BasicVar<T>& x) {
  require_nonempty("max", x.value());
  const T* v = x.value().data();
  std::size_t best = 0;
  for (std::size_t i = 1; i < x.size(); ++i) {
    if (v[i] > v[best]) best = i;
  }
  return record<T>("max", scalar_tensor<T>(v[best]), {x.node()},
                   [best](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d max(x)/dx_i = [i is the first largest element], Note [ties]
                     BasicTensor<T> dx = zeros<T>(n.input(0).shape());
                     dx.data()[best] = g();
                     return {std::move(dx)};
                   });
}

template <class T>
BasicVar<T> max(const BasicVar<T>& x, int axis, bool keepdims) {
  require_nonempty("max", x.value());
  const std::size_t ax = normalize_axis("max", axis, x.value().dimension());
  const AxisSplit s = split_at(x.shape(), ax);
  const T* v = x.value().data();
  BasicTensor<T> out = BasicTensor<T>::from_shape(reduced_shape(x.shape(), ax, keepdims));
  std::vector<std::size_t> argmax(s.outer * s.inner);
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      std::size_t best = s.at(o, 0, i);
      for (std::size_t k = 1; k < s.extent; ++k) {
        if (v[s.at(o, k, i)] > v[best]) best = s.at(o, k, i);
      }
      argmax[o * s.inner + i] = best;
      out.data()[o * s.inner + i] = v[best];
    }
  }
  return record<T>("max", std::move(out), {x.node()},
                   [argmax = std::move(argmax)](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d max_k(x)/dx_k = [k is the first largest along the axis], Note [ties]
                     BasicTensor<T> dx = zeros<T>(n.input(0).shape());
                     for (std::size_t j = 0; j < argmax.size(); ++j) dx.data()[argmax[j]] = g.data()[j];
                     return {std::move(dx)};
                   });
}

// ---------------------------------------------------------------------------------------------
// Normalisation along an axis.

template <class T>
BasicVar<T> softmax(const BasicVar<T>& x, int axis) {
  require_nonempty("softmax", x.value());
  const std::size_t ax = normalize_axis("softmax", axis, x.value().dimension());
  const AxisSplit s = split_at(x.shape(), ax);
  const T* v = x.value().data();
  BasicTensor<T> out = BasicTensor<T>::from_shape(x.shape());
  T* y = out.data();
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      const T lse = log_sum_exp(v + s.at(o, 0, i), s.extent, s.inner);
      for (std::size_t k = 0; k < s.extent; ++k) y[s.at(o, k, i)] = std::exp(v[s.at(o, k, i)] - lse);
    }
  }
  return record<T>("softmax", std::move(out), {x.node()},
                   [s](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // dx_k = y_k (g_k - sum_j g_j y_j)
                     const T* y = n.value().data();
                     BasicTensor<T> dx = BasicTensor<T>::from_shape(n.value().shape());
                     for (std::size_t o = 0; o < s.outer; ++o) {
                       for (std::size_t i = 0; i < s.inner; ++i) {
                         T dot = 0;
                         for (std::size_t k = 0; k < s.extent; ++k) dot += g.data()[s.at(o, k, i)] * y[s.at(o, k, i)];
                         for (std::size_t k = 0; k < s.extent; ++k) {
                           const std::size_t j = s.at(o, k, i);
                           dx.data()[j] = y[j] * (g.data()[j] - dot);
                         }
                       }
                     }
                     return {std::move(dx)};
                   });
}

template <class T>
BasicVar<T> log_softmax(const BasicVar<T>& x, int axis) {
  require_nonempty("log_softmax", x.value());
  const std::size_t ax = normalize_axis("log_softmax", axis, x.value().dimension());
  const AxisSplit s = split_at(x.shape(), ax);
  const T* v = x.value().data();
  BasicTensor<T> out = BasicTensor<T>::from_shape(x.shape());
  T* y = out.data();
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      const T lse = log_sum_exp(v + s.at(o, 0, i), s.extent, s.inner);
      for (std::size_t k = 0; k < s.extent; ++k) y[s.at(o, k, i)] = v[s.at(o, k, i)] - lse;
    }
  }
  return record<T>("log_softmax", std::move(out), {x.node()},
                   [s](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // dx_k = g_k - softmax_k sum_j g_j, with softmax = exp(y)
                     const T* y = n.value().data();
                     BasicTensor<T> dx = BasicTensor<T>::from_shape(n.value().shape());
                     for (std::size_t o = 0; o < s.outer; ++o) {
                       for (std::size_t i = 0; i < s.inner; ++i) {
                         T total = 0;
                         for (std::size_t k = 0; k < s.extent; ++k) total += g.data()[s.at(o, k, i)];
                         for (std::size_t k = 0; k < s.extent; ++k) {
                           const std::size_t j = s.at(o, k, i);
                           dx.data()[j] = g.data()[j] - std::exp(y[j]) * total;
                         }
                       }
                     }
                     return {std::move(dx)};
                   });
}

// ---------------------------------------------------------------------------------------------
// Fused losses. Their compositions (log of softmax, log of sigmoid) lose precision or overflow
// for large logits; fused, the forward goes through log-sum-exp and the backward is one pass.

namespace {
/// Throws unless `logits` is a non-empty [n, classes] matrix.
template <class T>
void require_logits_matrix(const char* op, const BasicTensor<T>& logits) {
  if (logits.dimension() != 2 || logits.size() == 0) {
    throw std::invalid_argument(std::string(op) + ": logits of shape " +
                                shape_string(logits.shape()) +
                                " must be a non-empty [n, classes] matrix");
  }
}

}  // namespace

template <class T>
BasicVar<T> softmax_cross_entropy(const BasicVar<T>& logits, const BasicVar<T>& targets) {
  require_logits_matrix("softmax_cross_entropy", logits.value());
  if (targets.shape() != logits.shape()) {
    throw std::invalid_argument("softmax_cross_entropy: targets of shape " +
                                shape_string(targets.shape()) + " do not match logits of shape " +
                                shape_string(logits.shape()));
  }
  const std::size_t n = logits.shape()[0], c = logits.shape()[1];
  BasicTensor<T> log_p = BasicTensor<T>::from_shape(logits.shape());
  T total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const T* z = logits.value().data() + i * c;
    const T* t = targets.value().data() + i * c;
    T* lp = log_p.data() + i * c;
    const T lse = log_sum_exp(z, c);
    for (std::size_t k = 0; k < c; ++k) {
      lp[k] = z[k] - lse;
      total += t[k] * lp[k];
    }
  }
  return record<T>(
      "softmax_cross_entropy", scalar_tensor<T>(-total / T(n)), {logits.node(), targets.node()},
      [n, c, log_p = std::move(log_p)](const Node<T>& node, Grad<T> g) -> GradList<T> {
        // L = -1/n sum t log p:  dz = (p sum_k t_k - t) / n,  dt = -log p / n
        const T scale = g() / T(n);
        BasicTensor<T> dz = none<T>(), dt = none<T>();
        if (node.input_needs_grad(0)) {
          dz = BasicTensor<T>::from_shape({n, c});
          const T* t = node.input(1).data();
          for (std::size_t i = 0; i < n; ++i) {
            T mass = 0;
            for (std::size_t k = 0; k < c; ++k) mass += t[i * c + k];
            for (std::size_t k = 0; k < c; ++k) {
              const std::size_t j = i * c + k;
              dz.data()[j] = scale * (std::exp(log_p.data()[j]) * mass - t[j]);
            }
          }
        }
        if (node.input_needs_grad(1)) dt = BasicTensor<T>(-scale * log_p);
        return {std::move(dz), std::move(dt)};
      });
}

template <class T>
BasicVar<T> sparse_softmax_cross_entropy(const BasicVar<T>& logits, const BasicTensor<T>& labels) {
  const char* op = "sparse_softmax_cross_entropy";
  require_logits_matrix(op, logits.value());
  const std::size_t n = logits.shape()[0], c = logits.shape()[1];
  const Shape& ls = labels.shape();
  if (!((ls.size() == 1 && ls[0] == n) || (ls.size() == 2 && ls[0] == n && ls[1] == 1))) {
    throw std::invalid_argument(std::string(op) + ": labels of shape " + shape_string(ls) +
                                " must be [n] or [n, 1] class ids for logits of shape " +
                                shape_string(logits.shape()));
  }
  std::vector<std::size_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) {
    const T label = labels.data()[i];
    if (!(label >= T(0) && label < T(c)) || std::trunc(label) != label) {
      throw std::invalid_argument(
          std::string(op) + ": label " + values_string(scalar_tensor(label)) + " at row " +
          std::to_string(i) + " is not a class id in [0, " + std::to_string(c) + ") (logits " +
          shape_string(logits.shape()) + ", labels " + shape_string(ls) + ")");
    }
    ids[i] = static_cast<std::size_t>(label);
  }
  BasicTensor<T> p = BasicTensor<T>::from_shape({n, c});
  T total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const T* z = logits.value().data() + i * c;
    const T lse = log_sum_exp(z, c);
    total += z[ids[i]] - lse;
    for (std::size_t k = 0; k < c; ++k) p.data()[i * c + k] = std::exp(z[k] - lse);
  }
  return record<T>(op, scalar_tensor<T>(-total / T(n)), {logits.node()},
                   [n, c, ids = std::move(ids), p = std::move(p)](const Node<T>&,
                                                                  Grad<T> g) -> GradList<T> {
                     // L = -1/n sum_i log p_i,y_i:  dz = (p - onehot(y)) / n
                     const T scale = g() / T(n);
                     BasicTensor<T> dz = scale * p;
                     for (std::size_t i = 0; i < n; ++i) dz.data()[i * c + ids[i]] -= scale;
                     return {std::move(dz)};
                   });
}

template <class T>
BasicVar<T> sigmoid_binary_cross_entropy(const BasicVar<T>& logits, const BasicVar<T>& targets) {
  const char* op = "sigmoid_binary_cross_entropy";
  require_nonempty(op, logits.value());
  if (targets.shape() != logits.shape()) {
    throw std::invalid_argument(std::string(op) + ": targets of shape " +
                                shape_string(targets.shape()) + " do not match logits of shape " +
                                shape_string(logits.shape()));
  }
  const std::size_t count = logits.size();
  const T* z = logits.value().data();
  const T* t = targets.value().data();
  T total = 0;
  for (std::size_t j = 0; j < count; ++j) {
    total += std::max(z[j], T(0)) - z[j] * t[j] + std::log1p(std::exp(-std::abs(z[j])));
  }
  return record<T>(
      op, scalar_tensor<T>(total / T(count)), {logits.node(), targets.node()},
      [count](const Node<T>& node, Grad<T> g) -> GradList<T> {
        // L = mean(max(z,0) - z t + log(1 + e^-|z|)):  dz = (sigmoid(z) - t) / N,  dt = -z / N
        const T scale = g() / T(count);
        const BasicTensor<T>& z = node.input(0);
        const BasicTensor<T>& t = node.input(1);
        BasicTensor<T> dz = none<T>(), dt = none<T>();
        if (node.input_needs_grad(0)) {
          dz = BasicTensor<T>::from_shape(z.shape());
          for (std::size_t j = 0; j < count; ++j) {
            // Written per sign so that exp never overflows.
            const T e = std::exp(-std::abs(z.data()[j]));
            const T s = z.data()[j] >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
            dz.data()[j] = scale * (s - t.data()[j]);
          }
        }
        if (node.input_needs_grad(1)) dt = BasicTensor<T>(-scale * z);
        return {std::move(dz), std::move(dt)};
      });
}

#define RETROGRAD_INSTANTIATE_OPS(T)                                                         \
  template BasicVar<T> make_op(std::string, BasicTensor<T>, const std::vector<BasicVar<T>>&, \
                               BackwardFn<T>);                                               \
  template BasicVar<T> add(const BasicVar<T>&, const BasicVar<T>&);                          \
  template BasicVar<T> sub(const BasicVar<T>&, const BasicVar<T>&);                          \
  template BasicVar<T> mul(const BasicVar<T>&, const BasicVar<T>&);                          \
  template BasicVar<T> div(const BasicVar<T>&, const BasicVar<T>&);                          \
  template BasicVar<T> maximum(const BasicVar<T>&, const BasicVar<T>&);                      \
  template BasicVar<T> minimum(const BasicVar<T>&, const BasicVar<T>&);                      \
  template BasicVar<T> pow(const BasicVar<T>&, const BasicVar<T>&);                          \
  template BasicVar<T> pow(const BasicVar<T>&, T);                                           \
  template BasicVar<T> neg(const BasicVar<T>&);                                              \
  template BasicVar<T> relu(const BasicVar<T>&);                                             \
  template BasicVar<T> sigmoid(const BasicVar<T>&);                                          \
  template BasicVar<T> tanh(const BasicVar<T>&);                                             \
  template BasicVar<T> exp(const BasicVar<T>&);                                              \
  template BasicVar<T> log(const BasicVar<T>&);                                              \
  template BasicVar<T> abs(const BasicVar<T>&);                                              \
  template BasicVar<T> matmul(const BasicVar<T>&, const BasicVar<T>&);                       \
  template BasicVar<T> linear(const BasicVar<T>&, const BasicVar<T>&, const BasicVar<T>&);   \
  template BasicVar<T> transpose(const BasicVar<T>&);                                        \
  template BasicVar<T> reshape(const BasicVar<T>&, const Shape&);                            \
  template BasicVar<T> sum(const BasicVar<T>&);                                              \
  template BasicVar<T> sum(const BasicVar<T>&, int, bool);                                   \
  template BasicVar<T> mean(const BasicVar<T>&);                                             \
  template BasicVar<T> mean(const BasicVar<T>&, int, bool);                                  \
  template BasicVar<T> max(const BasicVar<T>&);                                              \
  template BasicVar<T> max(const BasicVar<T>&, int, bool);                                   \
  template BasicVar<T> softmax(const BasicVar<T>&, int);                                     \
  template BasicVar<T> log_softmax(const BasicVar<T>&, int);                                 \
  template BasicVar<T> softmax_cross_entropy(const BasicVar<T>&, const BasicVar<T>&);        \
  template BasicVar<T> sparse_softmax_cross_entropy(const BasicVar<T>&,                      \
                                                    const BasicTensor<T>&);                  \
  template BasicVar<T> sigmoid_binary_cross_entropy(const BasicVar<T>&, const BasicVar<T>&);

RETROGRAD_INSTANTIATE_OPS(float)
RETROGRAD_INSTANTIATE_OPS(double)

}  // namespace retrograd
