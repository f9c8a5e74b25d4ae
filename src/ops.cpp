// The op table. Each op computes its forward value, then right below it gives its backward
// rule: the derivative in a comment, then the code that turns the upstream gradient g into one
// gradient per input. docs/ops.md is the same table in prose.

#include "retrograd/ops.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <type_traits>
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
const ScalarRule<T>* nullptr_rule() {
  return nullptr;
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

/// require_domain on a Var's value, reading a scalar node's number without building its tensor.
template <class T, class Pred>
void require_domain(const char* op, const BasicVar<T>& v, Pred bad, const char* why) {
  const Node<T>& n = *node_of(op, v);
  if (!n.is_scalar()) return require_domain(op, n.value(), bad, why);
  if (bad(n.scalar())) {
    throw std::domain_error(std::string(op) + ": " + why + " (element 0 is " +
                            std::to_string(n.scalar()) + ")");
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

/// A scalar node (Note [scalar nodes]): the value inline, the rule a static object of its op.
template <class T>
BasicVar<T> record(const char* op, T value, InputList<T> inputs, const ScalarRule<T>* rule) {
  if (!needs_node(inputs)) {
    return BasicVar<T>(make_node<T>(op, value, InputList<T>{}, nullptr_rule<T>()));
  }
  return BasicVar<T>(make_node<T>(op, value, std::move(inputs), rule));
}

// Note [one formula, two paths]: an elementwise op gives its forward and its derivatives once,
// as generic lambdas. Called with numbers they run the scalar path (Note [scalar nodes]); called
// with tensors they build xtensor expressions, which the helpers below evaluate at once (no
// expression outlives the statement). The `math` functions pick std:: or xt:: by argument type.
namespace math {
template <class E>
constexpr bool is_number = std::is_arithmetic_v<std::decay_t<E>>;

template <class E>
auto exp(E&& x) {
  if constexpr (is_number<E>) {
    return std::exp(x);
  } else {
    return xt::exp(std::forward<E>(x));
  }
}
template <class E>
auto log(E&& x) {
  if constexpr (is_number<E>) {
    return std::log(x);
  } else {
    return xt::log(std::forward<E>(x));
  }
}
template <class E>
auto tanh(E&& x) {
  if constexpr (is_number<E>) {
    return std::tanh(x);
  } else {
    return xt::tanh(std::forward<E>(x));
  }
}
template <class E>
auto abs(E&& x) {
  if constexpr (is_number<E>) {
    return std::abs(x);
  } else {
    return xt::abs(std::forward<E>(x));
  }
}
template <class E>
auto sign(E&& x) {
  using V = std::decay_t<E>;
  if constexpr (is_number<E>) {
    return V((V(0) < x) - (x < V(0)));
  } else {
    return xt::sign(std::forward<E>(x));
  }
}
template <class A, class B>
auto maximum(A&& a, B&& b) {
  if constexpr (is_number<A> && is_number<B>) {
    return std::max(a, b);
  } else {
    return xt::maximum(std::forward<A>(a), std::forward<B>(b));
  }
}
template <class A, class B>
auto minimum(A&& a, B&& b) {
  if constexpr (is_number<A> && is_number<B>) {
    return std::min(a, b);
  } else {
    return xt::minimum(std::forward<A>(a), std::forward<B>(b));
  }
}
/// `x` where `condition` holds, else `y`.
template <class C, class X, class Y>
auto where(C&& condition, X&& x, Y&& y) {
  if constexpr (std::is_same_v<std::decay_t<C>, bool>) {
    return condition ? x : y;
  } else {
    return xt::where(std::forward<C>(condition), std::forward<X>(x), std::forward<Y>(y));
  }
}
}  // namespace math

template <class T, class DA, class DB>
class BinaryRule final : public ScalarRule<T> {
 public:
  BinaryRule(DA da, DB db) : da_(da), db_(db) {}
  void grads(const Node<T>& n, T g, T* out) const override {
    const T a = n.inputs()[0]->scalar(), b = n.inputs()[1]->scalar(), y = n.scalar();
    out[0] = da_(g, a, b, y);
    out[1] = db_(g, a, b, y);
  }

 private:
  DA da_;
  DB db_;
};

template <class T, class DX>
class UnaryRule final : public ScalarRule<T> {
 public:
  explicit UnaryRule(DX dx) : dx_(dx) {}
  void grads(const Node<T>& n, T g, T* out) const override {
    out[0] = dx_(g, n.inputs()[0]->scalar(), n.scalar());
  }

 private:
  DX dx_;
};

/// An elementwise op of two inputs (numpy broadcasting): y = f(a, b), dL/da = da(g, a, b, y),
/// dL/db = db(g, a, b, y). See Note [one formula, two paths].
template <class T, class F, class DA, class DB>
BasicVar<T> binary(const char* op, const BasicVar<T>& a, const BasicVar<T>& b, F f, DA da, DB db) {
  const Node<T>& na = *node_of(op, a);
  const Node<T>& nb = *node_of(op, b);
  if (na.is_scalar() && nb.is_scalar()) {
    static const BinaryRule<T, DA, DB> rule(da, db);
    return record<T>(op, T(f(na.scalar(), nb.scalar())), {a.node(), b.node()}, &rule);
  }
  broadcast_shape(op, na.shape(), nb.shape());
  return record<T>(op, BasicTensor<T>(f(na.value(), nb.value())), {a.node(), b.node()},
                   [da, db](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     const auto& a = n.input(0);
                     const auto& b = n.input(1);
                     const auto& y = n.value();
                     return {grad_for(n, 0, [&] { return BasicTensor<T>(da(g, a, b, y)); }),
                             grad_for(n, 1, [&] { return BasicTensor<T>(db(g, a, b, y)); })};
                   });
}

/// An elementwise op of one input: y = f(x), dL/dx = dx(g, x, y).
template <class T, class F, class DX>
BasicVar<T> unary(const char* op, const BasicVar<T>& x, F f, DX dx) {
  const Node<T>& nx = *node_of(op, x);
  if (nx.is_scalar()) {
    static const UnaryRule<T, DX> rule(dx);
    return record<T>(op, T(f(nx.scalar())), {x.node()}, &rule);
  }
  return record<T>(op, BasicTensor<T>(f(nx.value())), {x.node()},
                   [dx](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     return {BasicTensor<T>(dx(g, n.input(0), n.value()))};
                   });
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
// Elementwise, two inputs: forward, then d/da and d/db, each a lambda of (g, a, b, y) written
// for numbers and tensors alike (Note [one formula, two paths]). binary() undoes broadcasting.

template <class T>
BasicVar<T> add(const BasicVar<T>& a, const BasicVar<T>& b) {
  return binary<T>(
      "add", a, b, [](const auto& a, const auto& b) { return a + b; },
      // d(a+b)/da = 1, d(a+b)/db = 1
      [](const auto& g, const auto&, const auto&, const auto&) { return g; },
      [](const auto& g, const auto&, const auto&, const auto&) { return g; });
}

template <class T>
BasicVar<T> sub(const BasicVar<T>& a, const BasicVar<T>& b) {
  return binary<T>(
      "sub", a, b, [](const auto& a, const auto& b) { return a - b; },
      // d(a-b)/da = 1, d(a-b)/db = -1
      [](const auto& g, const auto&, const auto&, const auto&) { return g; },
      [](const auto& g, const auto&, const auto&, const auto&) { return -g; });
}

template <class T>
BasicVar<T> mul(const BasicVar<T>& a, const BasicVar<T>& b) {
  return binary<T>(
      "mul", a, b, [](const auto& a, const auto& b) { return a * b; },
      // d(ab)/da = b, d(ab)/db = a
      [](const auto& g, const auto&, const auto& b, const auto&) { return g * b; },
      [](const auto& g, const auto& a, const auto&, const auto&) { return g * a; });
}

template <class T>
BasicVar<T> div(const BasicVar<T>& a, const BasicVar<T>& b) {
  require_domain("div", b, [](T v) { return v == T(0); }, "division by zero");
  return binary<T>(
      "div", a, b, [](const auto& a, const auto& b) { return a / b; },
      // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -(a/b)/b
      [](const auto& g, const auto&, const auto& b, const auto&) { return g / b; },
      [](const auto& g, const auto&, const auto& b, const auto& y) { return -g * y / b; });
}

// Note [ties]: where a == b, maximum and minimum send the whole gradient to b. relu(x) is
// maximum(x, 0) with the tie at x = 0 going to the constant 0, hence relu'(0) = 0 in both.
template <class T>
BasicVar<T> maximum(const BasicVar<T>& a, const BasicVar<T>& b) {
  return binary<T>(
      "maximum", a, b, [](const auto& a, const auto& b) { return math::maximum(a, b); },
      // d max(a,b)/da = [a > b], d max(a,b)/db = [a <= b]
      [](const auto& g, const auto& a, const auto& b, const auto&) {
        return math::where(a > b, g, T(0));
      },
      [](const auto& g, const auto& a, const auto& b, const auto&) {
        return math::where(a > b, T(0), g);
      });
}

template <class T>
BasicVar<T> minimum(const BasicVar<T>& a, const BasicVar<T>& b) {
  return binary<T>(
      "minimum", a, b, [](const auto& a, const auto& b) { return math::minimum(a, b); },
      // d min(a,b)/da = [a < b], d min(a,b)/db = [a >= b]
      [](const auto& g, const auto& a, const auto& b, const auto&) {
        return math::where(a < b, g, T(0));
      },
      [](const auto& g, const auto& a, const auto& b, const auto&) {
        return math::where(a < b, T(0), g);
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
// Elementwise, one input: forward, then d/dx as a lambda of (g, x, y). Rules that can be written
// in the output read the output.

template <class T>
BasicVar<T> neg(const BasicVar<T>& x) {
  return unary<T>(
      "neg", x, [](const auto& x) { return -x; },
      // d(-x)/dx = -1
      [](const auto& g, const auto&, const auto&) { return -g; });
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
  return unary<T>(
      "sigmoid", x, [](const auto& x) { return T(1) / (T(1) + math::exp(-x)); },
      // sigmoid'(x) = y (1 - y)
      [](const auto& g, const auto&, const auto& y) { return g * y * (T(1) - y); });
}

template <class T>
BasicVar<T> tanh(const BasicVar<T>& x) {
  return unary<T>(
      "tanh", x, [](const auto& x) { return math::tanh(x); },
      // tanh'(x) = 1 - y^2
      [](const auto& g, const auto&, const auto& y) { return g * (T(1) - y * y); });
}

template <class T>
BasicVar<T> exp(const BasicVar<T>& x) {
  return unary<T>(
      "exp", x, [](const auto& x) { return math::exp(x); },
      // exp'(x) = y
      [](const auto& g, const auto&, const auto& y) { return g * y; });
}

template <class T>
BasicVar<T> log(const BasicVar<T>& x) {
  require_domain("log", x, [](T v) { return v < T(0); }, "negative input");
  return unary<T>(
      "log", x, [](const auto& x) { return math::log(x); },
      // log'(x) = 1/x
      [](const auto& g, const auto& x, const auto&) { return g / x; });
}

template <class T>
BasicVar<T> abs(const BasicVar<T>& x) {
  return unary<T>(
      "abs", x, [](const auto& x) { return math::abs(x); },
      // abs'(x) = sign(x); abs'(0) = 0
      [](const auto& g, const auto& x, const auto&) { return g * math::sign(x); });
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

/// dz = g act'(z), with act'(z) read from y = act(z), and db = column sums of dz, in one pass
/// (rows x cols, row-major). Restrict pointers and a derivative known at compile time let GCC
/// vectorize the inner loop.
template <class T, class Derivative>
void activation_backward(const T* __restrict g, const T* __restrict y, T* __restrict dz,
                         T* __restrict db, std::size_t rows, std::size_t cols, Derivative d) {
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      const T v = g[r * cols + c] * d(y[r * cols + c]);
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
BasicVar<T> linear(const BasicVar<T>& x, const BasicVar<T>& w, const BasicVar<T>& b,
                   LinearActivation activation) {
  const char* op = linear_op_name(activation);
  const Shape& sx = x.shape();
  const Shape& sw = w.shape();
  if (sx.size() != 2 || sw.size() != 2 || sx[1] != sw[0] || b.shape() != Shape{sw[1]}) {
    throw std::invalid_argument(std::string(op) + ": x " + shape_string(sx) + ", W " +
                                shape_string(sw) + ", b " + shape_string(b.shape()) +
                                " do not fit x [n, in] W [in, out] b [out]");
  }
  require_nonempty(op, x.value());
  require_nonempty(op, w.value());
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
  // Same expressions as the relu, sigmoid and tanh ops, so the values match theirs.
  switch (activation) {
    case LinearActivation::relu:
      xt::noalias(y) = xt::maximum(y, T(0));
      break;
    case LinearActivation::sigmoid:
      xt::noalias(y) = T(1) / (T(1) + xt::exp(-y));
      break;
    case LinearActivation::tanh:
      xt::noalias(y) = xt::tanh(y);
      break;
    case LinearActivation::none:
      break;
  }
  return record<T>(
      op, std::move(y), {x.node(), w.node(), b.node()},
      [n, in, out, activation](const Node<T>& node, Grad<T> g) -> GradList<T> {
        // y = act(z), z = x W + b;  dz = g act'(z): relu [y > 0], sigmoid y (1 - y),
        // tanh 1 - y^2, none 1;  dx = dz W^T : [n,in],  dW = x^T dz : [in,out],
        // db = sum_rows(dz) : [out]
        BasicTensor<T> dx = none<T>(), dw = none<T>(), dz = none<T>();
        BasicTensor<T> db = zeros<T>({out});
        if (activation != LinearActivation::none) dz = BasicTensor<T>::from_shape({n, out});
        const T* gz = activation == LinearActivation::none ? g.data() : dz.data();
        const T* y = node.value().data();
        switch (activation) {
          case LinearActivation::relu:
            activation_backward(g.data(), y, dz.data(), db.data(), n, out,
                                [](T v) { return v > T(0) ? T(1) : T(0); });
            break;
          case LinearActivation::sigmoid:
            activation_backward(g.data(), y, dz.data(), db.data(), n, out,
                                [](T v) { return v * (T(1) - v); });
            break;
          case LinearActivation::tanh:
            activation_backward(g.data(), y, dz.data(), db.data(), n, out,
                                [](T v) { return T(1) - v * v; });
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
          detail::gemm<T>(false, true, n, in, out, T(1), gz, node.input(1).data(), T(0),
                          dx.data());
        }
        if (node.input_needs_grad(1)) {
          dw = BasicTensor<T>::from_shape({in, out});
          detail::gemm<T>(true, false, in, out, n, T(1), node.input(0).data(), gz, T(0),
                          dw.data());
        }
        if (!node.input_needs_grad(2)) db = none<T>();
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
  template BasicVar<T> linear(const BasicVar<T>&, const BasicVar<T>&, const BasicVar<T>&,     \
                              LinearActivation);                                            \
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
