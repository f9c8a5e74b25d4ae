#pragma once
// Internal: what every op in src/ops/ is built from. Not installed.
//
// The contract. An op computes its forward value now and records a node whose rule turns the
// upstream gradient into one gradient per input (upstream x local = downstream).
//   y     the op's output: `n.value()` in a rule (or `y` in an elementwise lambda)
//   g     the upstream gradient dL/dy, shaped like y
//   a, b  the inputs of a two-input op, x the input of a one-input op: `n.input(i)`
//   n     the node being differentiated; `n.input_needs_grad(i)` says whether input i wants one
// A rule returns dL/d(input i) for every input, in input order, each shaped like its input:
// `return {dx, dw};` (a GradList). "No gradient for this input" is `none<T>()`, an empty tensor;
// `grad_for(n, i, f)` returns it by itself when input i wants none, and otherwise sums f() back
// to input i's shape (undoing broadcasting). Rules read inputs and output from the node: they
// never copy them.
//
// Two ways to record an op:
// - Elementwise: `binary(op, a, b, f, da, db)` or `unary(op, x, f, dx)`, with generic lambdas:
//   f(a, b) or f(x) the forward, da(g, a, b, y), db(g, a, b, y) or dx(g, x, y) the gradients.
//   Note [one formula, two paths]: when every operand is a single number (0-d), the lambdas run
//   on numbers and the result is a scalar node (Note [scalar nodes], docs/design.md) whose rule
//   is one static BinaryRule or UnaryRule per op; otherwise they run on tensors and build
//   xtensor expressions that are evaluated at once (no expression outlives the statement). A
//   single-number b next to a tensor a enters the tensor formulas as a number (`x * 2`). Write
//   functions through `math::` (exp, log, where, ...), which picks std:: or xt:: by argument.
// - Anything else: compute the value, then `record(op, std::move(value), {inputs}, rule)` with
//   rule a lambda (const Node<T>& n, Grad<T> g) -> GradList<T>.
// Either way, when no input requires a gradient or grad mode is off, the result is a constant
// and the rule is dropped. Under a DetectAnomalyGuard, record() checks the value first
// (retrograd/anomaly.hpp): record is where every op's forward value arrives.
//
// Errors name the op: node_of (an empty Var), require_nonempty, require_logits_matrix,
// require_domain (std::domain_error with the element) and normalize_axis (std::out_of_range).
// docs/design.md, "Adding an op", lists what a new op touches.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "anomaly_checks.hpp"
#include "retrograd/anomaly.hpp"
#include "retrograd/broadcast.hpp"
#include "retrograd/engine.hpp"
#include "retrograd/node.hpp"
#include "retrograd/ops.hpp"
#include "retrograd/var.hpp"
#include "xtensor_math.hpp"

namespace retrograd::detail {

/// The upstream gradient as a rule receives it.
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

/// The tensor side of a two-path rule (Note [one rule, two paths] in retrograd/node.hpp): the
/// node's inputs and output as its tensors, gradients as tensors.
template <class T>
struct TensorSide {
  const Node<T>& node;
  const BasicTensor<T>& input(std::size_t i) const { return node.input(i); }
  /// Input i as binary() reads it: a number when `as_number`.
  template <bool as_number>
  decltype(auto) operand(std::size_t i) const;
  const BasicTensor<T>& value() const { return node.value(); }
  bool input_needs_grad(std::size_t i) const { return node.input_needs_grad(i); }
  /// An expression evaluated into a gradient.
  template <class E>
  BasicTensor<T> eval(E&& e) const {
    return BasicTensor<T>(std::forward<E>(e));
  }
  template <class... G>
  GradList<T> grads(G&&... g) const {
    return GradList<T>(std::forward<G>(g)...);
  }
  /// "No gradient for this input".
  static BasicTensor<T> none() { return detail::none<T>(); }
};

/// The Var side of a two-path rule: the node's inputs and output as Vars of the graph, so that
/// the gradients it builds are nodes that can be differentiated again.
template <class T>
struct VarSide {
  const NodePtr<T>& node;
  BasicVar<T> input(std::size_t i) const { return BasicVar<T>(node->inputs()[i]); }
  template <bool as_number>
  BasicVar<T> operand(std::size_t i) const {
    return input(i);
  }
  BasicVar<T> value() const { return BasicVar<T>(node); }
  bool input_needs_grad(std::size_t i) const { return node->input_needs_grad(i); }
  BasicVar<T> eval(BasicVar<T> v) const { return v; }
  template <class... G>
  VarGrads<T> grads(G&&... g) const {
    return VarGrads<T>{BasicVar<T>(std::forward<G>(g))...};
  }
  static BasicVar<T> none() { return BasicVar<T>(); }
};

/// A rule written once as a generic lambda (side, g) -> side.grads(...), run on tensors by
/// backward() and on Vars by grad(..., {.create_graph = true}).
template <class T, class F>
class TwoPathRule : public RuleBody {
 public:
  static constexpr bool differentiable = true;
  explicit TwoPathRule(F f) : f_(std::move(f)) {}
  GradList<T> tensors(const Node<T>& node, const BasicTensor<T>& g) const {
    return f_(TensorSide<T>{node}, g);
  }
  VarGrads<T> vars(const NodePtr<T>& node, const BasicVar<T>& g) const {
    return f_(VarSide<T>{node}, g);
  }

 private:
  F f_;
};

/// `record(op, value, inputs, two_paths<T>([](const auto& n, const auto& g) {...}))`.
template <class T, class F>
TwoPathRule<T, F> two_paths(F f) {
  return TwoPathRule<T, F>(std::move(f));
}

/// The Var form of sum_to: g summed back to `shape` (undoing broadcasting).
template <class T>
BasicVar<T> sum_to(const BasicVar<T>& g, const Shape& shape) {
  BasicVar<T> out = g;
  while (out.shape().size() > shape.size()) out = sum(out, 0);
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1 && out.shape()[d] != 1) out = sum(out, static_cast<int>(d), true);
  }
  return out;
}

template <class T, class F>
BasicTensor<T> grad_for(const TensorSide<T>& n, std::size_t i, F&& f) {
  return grad_for(n.node, i, std::forward<F>(f));
}

template <class T, class F>
BasicVar<T> grad_for(const VarSide<T>& n, std::size_t i, F&& f) {
  return n.input_needs_grad(i) ? sum_to<T>(BasicVar<T>(f()), n.node->input(i).shape())
                               : BasicVar<T>();
}

/// Element positions (row-major, flat) of a gather: out[j] = x[at[j]]. Shared between a node's
/// rule and the rules of the gradient ops it makes (create_graph).
using Positions = std::shared_ptr<const std::vector<std::size_t>>;

/// Internal op "gather" (src/ops/index.cpp): out[j] = x[at[j]], shaped `shape`. Its gradient is
/// scatter_add and scatter_add's is gather, so every op whose gradient sends g back to the
/// positions it read (take, slice, max, max_pool2d, ...) is differentiable to any order.
template <class T>
BasicVar<T> gather(const BasicVar<T>& x, Positions at, const Shape& shape);
/// Internal op "scatter_add": zeros of `shape` with g[j] added at at[j].
template <class T>
BasicVar<T> scatter_add(const BasicVar<T>& g, Positions at, const Shape& shape);
/// g sent back to the positions it was read from (the gradient of a gather): the kernel of
/// scatter_add on tensors (src/ops/index.cpp), the op on Vars.
template <class T>
BasicTensor<T> scatter_back(const BasicTensor<T>& g, const Positions& at, const Shape& shape);
template <class T>
BasicVar<T> scatter_back(const BasicVar<T>& g, const Positions& at, const Shape& shape) {
  return scatter_add(g, at, shape);
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

/// The result of an op: a node with its inputs and rule, or a constant when none is needed.
template <class T>
BasicVar<T> record(const char* op, BasicTensor<T>&& value, InputList<T> inputs,
                   BackwardFn<T> backward) {
  if (anomaly_detection_enabled()) check_forward(op, value, inputs);
  if (!needs_node(inputs)) {
    return BasicVar<T>(make_node<T>(op, std::move(value), InputList<T>{}, BackwardFn<T>{}));
  }
  return BasicVar<T>(make_node<T>(op, std::move(value), std::move(inputs), std::move(backward)));
}

/// A scalar node (Note [scalar nodes]): the value inline, the rule a static object of its op.
template <class T>
BasicVar<T> record(const char* op, T value, InputList<T> inputs, const ScalarRule<T>* rule) {
  if (anomaly_detection_enabled()) check_forward(op, value, inputs);
  if (!needs_node(inputs)) {
    return BasicVar<T>(
        make_node<T>(op, value, InputList<T>{}, static_cast<const ScalarRule<T>*>(nullptr)));
  }
  return BasicVar<T>(make_node<T>(op, value, std::move(inputs), rule));
}

/// The node of an op's input; throws std::invalid_argument naming the op for an empty Var.
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

/// Throws unless `logits` is a non-empty [n, classes] matrix.
template <class T>
void require_logits_matrix(const char* op, const BasicTensor<T>& logits) {
  if (logits.dimension() != 2 || logits.size() == 0) {
    throw std::invalid_argument(std::string(op) + ": logits of shape " +
                                shape_string(logits.shape()) +
                                " must be a non-empty [n, classes] matrix");
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

/// require_domain on a plain number, reported as element 0.
template <class T, class Pred>
void require_domain(const char* op, T number, Pred bad, const char* why) {
  if (bad(number)) {
    throw std::domain_error(std::string(op) + ": " + why + " (element 0 is " +
                            std::to_string(number) + ")");
  }
}

/// require_domain on a Var's value, reading a scalar node's number without building its tensor.
template <class T, class Pred>
void require_domain(const char* op, const BasicVar<T>& v, Pred bad, const char* why) {
  const Node<T>& n = *node_of(op, v);
  if (!n.is_scalar()) return require_domain(op, n.value(), bad, why);
  require_domain(op, n.scalar(), bad, why);
}

/// require_domain on a Var or a number.
template <class T, class Pred>
void require_domain(const char* op, const Operand<T>& x, Pred bad, const char* why) {
  if (x.var()) return require_domain(op, *x.var(), bad, why);
  require_domain(op, x.number(), bad, why);
}

/// `axis` (negative counts from the end) as an index into a shape of `rank` axes.
inline std::size_t normalize_axis(const char* op, int axis, std::size_t rank) {
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

inline AxisSplit split_at(const Shape& shape, std::size_t axis) {
  AxisSplit s;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (d < axis) s.outer *= shape[d];
    if (d == axis) s.extent = shape[d];
    if (d > axis) s.inner *= shape[d];
  }
  return s;
}

/// The shape after reducing `axis`: kept with size 1, or removed.
inline Shape reduced_shape(const Shape& shape, std::size_t axis, bool keepdims) {
  Shape out = shape;
  if (keepdims) {
    out[axis] = 1;
  } else {
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(axis));
  }
  return out;
}

/// g (shaped like a reduction's output) spread back over the reduced axis.
template <class T>
BasicTensor<T> expand_along(Grad<T> g, const Shape& input_shape, std::size_t axis) {
  BasicTensor<T> kept = g;
  kept.reshape(reduced_shape(input_shape, axis, true));
  return BasicTensor<T>(xt::broadcast(kept, input_shape));
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

template <class T>
BasicVar<T> erf_of(const BasicVar<T>& x);

/// A number as a constant Var; a Var as itself.
template <class T, class X>
BasicVar<T> as_var(const X& x) {
  if constexpr (std::is_arithmetic_v<X>) {
    return BasicVar<T>(T(x));
  } else {
    return x;
  }
}

// Comparisons of Vars give a constant 0/1 mask (a step has derivative 0 wherever it has one):
// the conditions of math::where on the Var side of a rule.
#define RETROGRAD_VAR_COMPARISON(op, xt_op)                                       \
  template <class T>                                                              \
  BasicVar<T> operator op(const BasicVar<T>& a, const BasicVar<T>& b) {           \
    return BasicVar<T>(BasicTensor<T>(xt::cast<T>(xt_op(a.value(), b.value())))); \
  }                                                                               \
  template <class T>                                                              \
  BasicVar<T> operator op(const BasicVar<T>& a, identity_t<T> b) {                \
    return BasicVar<T>(BasicTensor<T>(xt::cast<T>(xt_op(a.value(), b))));         \
  }                                                                               \
  template <class T>                                                              \
  BasicVar<T> operator op(identity_t<T> a, const BasicVar<T>& b) {                \
    return BasicVar<T>(BasicTensor<T>(xt::cast<T>(xt_op(a, b.value()))));         \
  }
RETROGRAD_VAR_COMPARISON(>, xt::greater)
RETROGRAD_VAR_COMPARISON(<, xt::less)
RETROGRAD_VAR_COMPARISON(>=, xt::greater_equal)
RETROGRAD_VAR_COMPARISON(<=, xt::less_equal)
#undef RETROGRAD_VAR_COMPARISON

// Note [one formula, two paths]: the functions an elementwise formula may call, each taking
// numbers (std::) or tensors and expressions (xt::).
namespace math {
template <class E>
constexpr bool is_number = std::is_arithmetic_v<std::decay_t<E>>;

// One function of one argument, std:: on a number and xt:: on a tensor or an expression.
template <class E>
struct IsVar : std::false_type {};
template <class T>
struct IsVar<BasicVar<T>> : std::true_type {};
/// True for a Var: the formula runs on the Var side of a rule (Note [one rule, two paths]).
template <class E>
constexpr bool is_var = IsVar<std::decay_t<E>>::value;

// One function of one argument: std:: on a number, the op on a Var, xt:: on a tensor or an
// expression.
#define RETROGRAD_MATH_FUNCTION(name)      \
  template <class E>                       \
  auto name(E&& x) {                       \
    if constexpr (is_number<E>) {          \
      return std::name(x);                 \
    } else if constexpr (is_var<E>) {      \
      return retrograd::name(x);           \
    } else {                               \
      return xt::name(std::forward<E>(x)); \
    }                                      \
  }
RETROGRAD_MATH_FUNCTION(exp)
RETROGRAD_MATH_FUNCTION(log)
RETROGRAD_MATH_FUNCTION(log1p)
RETROGRAD_MATH_FUNCTION(sqrt)
RETROGRAD_MATH_FUNCTION(tanh)
RETROGRAD_MATH_FUNCTION(abs)
RETROGRAD_MATH_FUNCTION(sin)
RETROGRAD_MATH_FUNCTION(cos)
#undef RETROGRAD_MATH_FUNCTION
template <class E>
auto erf(E&& x) {
  if constexpr (is_number<E>) {
    return std::erf(x);
  } else if constexpr (is_var<E>) {
    return erf_of(x);
  } else {
    return xt::erf(std::forward<E>(x));
  }
}
template <class E>
auto sign(E&& x) {
  using V = std::decay_t<E>;
  if constexpr (is_number<E>) {
    return V((V(0) < x) - (x < V(0)));
  } else if constexpr (is_var<E>) {
    // sign' = 0 wherever it is defined: a constant
    using T = typename V::value_type;
    return BasicVar<T>(BasicTensor<T>(xt::sign(x.value())));
  } else {
    return xt::sign(std::forward<E>(x));
  }
}
template <class A, class B>
auto pow(A&& a, B&& b) {
  if constexpr (is_number<A> && is_number<B>) {
    return std::pow(a, b);
  } else if constexpr (is_var<A>) {
    return retrograd::pow(a, b);
  } else if constexpr (is_var<B>) {
    return retrograd::pow(constant<typename std::decay_t<B>::value_type>(a), b);
  } else {
    return xt::pow(std::forward<A>(a), std::forward<B>(b));
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
  } else if constexpr (is_var<C>) {
    using T = typename std::decay_t<C>::value_type;
    return retrograd::where(condition, as_var<T>(x), as_var<T>(y));
  } else {
    return xt::where(std::forward<C>(condition), std::forward<X>(x), std::forward<Y>(y));
  }
}
}  // namespace math

/// The rule of a scalar node of a two-input elementwise op: da and db on numbers.
template <class T, class DA, class DB>
class BinaryRule final : public ScalarRule<T> {
 public:
  BinaryRule(DA da, DB db) : da_(da), db_(db) {}
  void grads(const Node<T>& n, T g, T* out) const override {
    const T a = n.input_scalar(0), b = n.input_scalar(1), y = n.scalar();
    out[0] = da_(g, a, b, y);
    out[1] = db_(g, a, b, y);
  }
  bool differentiable() const override { return true; }
  VarGrads<T> vars(const NodePtr<T>& n, const BasicVar<T>& g) const override {
    const BasicVar<T> a(n->inputs()[0]), b(n->inputs()[1]), y(n);
    return {n->input_needs_grad(0) ? BasicVar<T>(da_(g, a, b, y)) : BasicVar<T>(),
            n->input_needs_grad(1) ? BasicVar<T>(db_(g, a, b, y)) : BasicVar<T>()};
  }

 private:
  DA da_;
  DB db_;
};

/// The rule of a scalar node of a one-input elementwise op: dx on numbers.
template <class T, class DX>
class UnaryRule final : public ScalarRule<T> {
 public:
  explicit UnaryRule(DX dx) : dx_(dx) {}
  void grads(const Node<T>& n, T g, T* out) const override {
    out[0] = dx_(g, n.input_scalar(0), n.scalar());
  }
  bool differentiable() const override { return true; }
  VarGrads<T> vars(const NodePtr<T>& n, const BasicVar<T>& g) const override {
    return {BasicVar<T>(dx_(g, BasicVar<T>(n->inputs()[0]), BasicVar<T>(n)))};
  }

 private:
  DX dx_;
};

/// A node's value as a binary formula reads it: its number, or its tensor.
template <bool as_number, class T>
decltype(auto) operand(const Node<T>& n) {
  if constexpr (as_number) {
    return n.scalar();
  } else {
    return n.value();
  }
}

template <class T>
template <bool as_number>
decltype(auto) TensorSide<T>::operand(std::size_t i) const {
  return detail::operand<as_number>(*node.inputs()[i]);
}

/// The tensor path of binary(): b is a number when `number_b`, a tensor otherwise.
template <class T, bool number_b, class F, class DA, class DB>
BasicVar<T> record_tensor_binary(const char* op, const BasicVar<T>& a, const BasicVar<T>& b, F f,
                                 DA da, DB db) {
  BasicTensor<T> value(f(a.node()->value(), operand<number_b>(*b.node())));
  return record<T>(op, std::move(value), {a.node(), b.node()},
                   two_paths<T>([da, db](const auto& n, const auto& g) {
                     const auto& a = n.input(0);
                     const auto& b = n.template operand<number_b>(1);
                     const auto& y = n.value();
                     return n.grads(grad_for(n, 0, [&] { return n.eval(da(g, a, b, y)); }),
                                    grad_for(n, 1, [&] { return n.eval(db(g, a, b, y)); }));
                   }));
}

/// An elementwise op of two Vars (numpy broadcasting): y = f(a, b), dL/da = da(g, a, b, y),
/// dL/db = db(g, a, b, y). See Note [one formula, two paths].
template <class T, class F, class DA, class DB>
BasicVar<T> binary(const char* op, const BasicVar<T>& a, const BasicVar<T>& b, F f, DA da, DB db) {
  const Node<T>& na = *node_of(op, a);
  const Node<T>& nb = *node_of(op, b);
  if (na.is_scalar() && nb.is_scalar()) {
    static const BinaryRule<T, DA, DB> rule(da, db);
    return record<T>(op, T(f(na.scalar(), nb.scalar())), {a.node(), b.node()}, &rule);
  }
  if (nb.is_scalar()) return record_tensor_binary<T, true>(op, a, b, f, da, db);
  broadcast_shape(op, na.shape(), nb.shape());
  return record_tensor_binary<T, false>(op, a, b, f, da, db);
}

/// binary() where either input may be a plain number. Note [numbers in ops]: a number next to a
/// scalar node stays in the result's node (no constant node is made); next to a tensor, or
/// under a DetectAnomalyGuard (whose messages list every input), it becomes a constant Var.
template <class T, class F, class DA, class DB>
BasicVar<T> binary(const char* op, Operand<T> a, Operand<T> b, F f, DA da, DB db) {
  if (a.var() && b.var()) return binary<T>(op, *a.var(), *b.var(), f, da, db);
  const int number_slot = a.var() ? 1 : 0;
  const BasicVar<T>& x = a.var() ? *a.var() : *b.var();
  const T number = a.var() ? b.number() : a.number();
  const Node<T>& nx = *node_of(op, x);
  if (!nx.is_scalar() || anomaly_detection_enabled()) {
    const BasicVar<T> c(number);
    return number_slot == 1 ? binary<T>(op, x, c, f, da, db) : binary<T>(op, c, x, f, da, db);
  }
  const T value = number_slot == 1 ? T(f(nx.scalar(), number)) : T(f(number, nx.scalar()));
  if (!grad_enabled() || !nx.requires_grad()) {
    return BasicVar<T>(
        make_node<T>(op, value, InputList<T>{}, static_cast<const ScalarRule<T>*>(nullptr)));
  }
  static const BinaryRule<T, DA, DB> rule(da, db);
  return BasicVar<T>(make_node<T>(op, value, x.node(), number_slot, number, &rule));
}

/// A derivative written in the output alone, d(g, y), in the form unary() takes: dx(g, x, y).
template <class D>
constexpr auto from_output(D d) {
  return [d](const auto& g, const auto&, const auto& y) { return d(g, y); };
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
                   two_paths<T>([dx](const auto& n, const auto& g) {
                     return n.grads(n.eval(dx(g, n.input(0), n.value())));
                   }));
}

template <class T>
BasicVar<T> erf_of(const BasicVar<T>& x) {
  return unary<T>(
      "erf", x, [](const auto& x) { return math::erf(x); },
      // erf'(x) = 2 / sqrt(pi) e^(-x^2)
      [](const auto& g, const auto& x, const auto&) {
        return g * T(1.12837916709551257390) * math::exp(-x * x);
      });
}

}  // namespace retrograd::detail
