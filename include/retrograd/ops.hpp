#pragma once
/// @file ops.hpp
/// Every differentiable op. Forward and backward of each live side by side in src/ops/, one file
/// per family (elementwise, activation, linalg, reduce, losses); docs/ops.md lists their
/// formulas and conventions.
///
/// Binary elementwise ops broadcast with numpy rules; their gradients are summed back to each
/// input's shape. Axes may be negative (counted from the end). Element types: float and double.

#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include "retrograd/var.hpp"

namespace retrograd {

namespace detail {
template <class T>
BasicVar<T> record_custom_op(std::string op, BasicTensor<T> value,
                             const std::vector<BasicVar<T>>& inputs, BackwardFn<T> backward);
template <class T>
struct is_basic_tensor : std::false_type {};
template <class T>
struct is_basic_tensor<BasicTensor<T>> : std::true_type {};
template <class T>
inline constexpr bool dependent_false = false;
}  // namespace detail

/// Records a custom op: `value` is its forward result, `backward` its local rule (one gradient
/// per input, shaped like that input), called as `backward(const Node<T>& node, const
/// BasicTensor<T>& upstream)` and returning a GradList<T>. The element type T comes from
/// `value` (`make_op("sq", TensorD(...), {x}, rule)`), or is written (`make_op<double>`).
/// When no input needs a gradient, or under NoGradGuard, the result is a constant and
/// `backward` is dropped. A custom op takes part in backward, tracing, DOT export and
/// gradcheck exactly as the built-in ops do.
template <class T, class Rule>
BasicVar<T> make_op(std::string op, BasicTensor<T> value,
                    const std::vector<BasicVar<typename detail::identity<T>::type>>& inputs,
                    Rule&& backward) {
  static_assert(std::is_invocable_v<Rule&, const Node<T>&, const BasicTensor<T>&>,
                "make_op: the backward rule must take (const Node<T>& node, const "
                "BasicTensor<T>& upstream) with T the op's element type, e.g. [](const "
                "Node<double>& node, const TensorD& upstream) -> GradList<double> {...}");
  if constexpr (std::is_invocable_v<Rule&, const Node<T>&, const BasicTensor<T>&>) {
    static_assert(
        std::is_convertible_v<std::invoke_result_t<Rule&, const Node<T>&, const BasicTensor<T>&>,
                              GradList<T>>,
        "make_op: the backward rule must return GradList<T>: write `-> GradList<double>` (or "
        "`-> GradList<float>`) after the lambda's parameters, and `return {dx, dy};`");
  }
  return detail::record_custom_op<T>(std::move(op), std::move(value), inputs,
                                     BackwardFn<T>(std::forward<Rule>(backward)));
}

/// Chosen only when the element type cannot be told from `value` (an xtensor expression, not a
/// Tensor): it stops the build with what to write instead.
template <class Value, class Input, class Rule,
          class = std::enable_if_t<!detail::is_basic_tensor<std::decay_t<Value>>::value>>
BasicVar<float> make_op(std::string, Value&&, std::initializer_list<Input>, Rule&&) {
  static_assert(detail::dependent_false<Value>,
                "make_op: the element type cannot be told from `value`, which is not a Tensor "
                "(an xtensor expression?): write make_op<double>(...) or make_op<float>(...), "
                "or pass TensorD(expression) / Tensor(expression) as the value");
  return {};
}

// --- elementwise, two inputs (broadcasting) ---
namespace detail {
/// An input of a two-input elementwise op: a Var, or a plain number that the op keeps in its
/// own node instead of a constant node (Note [numbers in ops] in node.hpp).
template <class T>
class Operand {
 public:
  Operand(const BasicVar<T>& var) : var_(&var) {}  // NOLINT(google-explicit-constructor)
  Operand(T number) : number_(number) {}           // NOLINT(google-explicit-constructor)
  /// The Var, or null for a number.
  const BasicVar<T>* var() const { return var_; }
  /// The number (when var() is null).
  T number() const { return number_; }

 private:
  const BasicVar<T>* var_ = nullptr;
  T number_ = T(0);
};

template <class T>
BasicVar<T> add(Operand<T> a, Operand<T> b);
template <class T>
BasicVar<T> sub(Operand<T> a, Operand<T> b);
template <class T>
BasicVar<T> mul(Operand<T> a, Operand<T> b);
template <class T>
BasicVar<T> div(Operand<T> a, Operand<T> b);
template <class T>
BasicVar<T> maximum(Operand<T> a, Operand<T> b);
template <class T>
BasicVar<T> minimum(Operand<T> a, Operand<T> b);
}  // namespace detail

/// a + b elementwise.
template <class T>
BasicVar<T> add(const BasicVar<T>& a, const BasicVar<T>& b) {
  return detail::add<T>(a, b);
}
/// a - b elementwise.
template <class T>
BasicVar<T> sub(const BasicVar<T>& a, const BasicVar<T>& b) {
  return detail::sub<T>(a, b);
}
/// a * b elementwise.
template <class T>
BasicVar<T> mul(const BasicVar<T>& a, const BasicVar<T>& b) {
  return detail::mul<T>(a, b);
}
/// a / b; throws std::domain_error when b holds a zero.
template <class T>
BasicVar<T> div(const BasicVar<T>& a, const BasicVar<T>& b) {
  return detail::div<T>(a, b);
}
/// Elementwise max. Note [ties]: where a == b the whole gradient goes to b, so that
/// maximum(x, 0) and relu(x) have the same gradient at 0.
template <class T>
BasicVar<T> maximum(const BasicVar<T>& a, const BasicVar<T>& b) {
  return detail::maximum<T>(a, b);
}
/// Elementwise min; ties send the gradient to b, as in maximum.
template <class T>
BasicVar<T> minimum(const BasicVar<T>& a, const BasicVar<T>& b) {
  return detail::minimum<T>(a, b);
}
/// a ** b elementwise. Throws std::domain_error naming the element for a negative base with a
/// non-integer exponent, and for a base <= 0 when b requires a gradient (it is b's gradient,
/// a^b ln a, that needs a > 0).
template <class T>
BasicVar<T> pow(const BasicVar<T>& a, const BasicVar<T>& b);
/// x ** p for a constant exponent, as pow(x, constant(p)): a negative base with a non-integer
/// p throws std::domain_error.
template <class T>
BasicVar<T> pow(const BasicVar<T>& x, detail::identity_t<T> p);

// --- elementwise, one input ---
/// -x.
template <class T>
BasicVar<T> neg(const BasicVar<T>& x);
/// max(x, 0); relu'(0) = 0.
template <class T>
BasicVar<T> relu(const BasicVar<T>& x);
/// 1 / (1 + exp(-x)); the gradient is written in the output, y (1 - y).
template <class T>
BasicVar<T> sigmoid(const BasicVar<T>& x);
/// tanh(x); the gradient is written in the output, 1 - y^2.
template <class T>
BasicVar<T> tanh(const BasicVar<T>& x);
/// e^x.
template <class T>
BasicVar<T> exp(const BasicVar<T>& x);
/// Natural log; throws std::domain_error for a negative input (log 0 = -inf is allowed).
template <class T>
BasicVar<T> log(const BasicVar<T>& x);
/// |x|; abs'(0) = 0.
template <class T>
BasicVar<T> abs(const BasicVar<T>& x);

// --- linear algebra and shape ---
/// Matrix product of 2-d tensors [m, k] x [k, n] through BLAS; the backward passes transpose
/// flags to BLAS instead of copying transposes.
template <class T>
BasicVar<T> matmul(const BasicVar<T>& a, const BasicVar<T>& b);
/// x W + b for x [n, in], W [in, out], b [out]: a dense layer's affine map as one node (the bias
/// is written first and BLAS accumulates onto it), equal to add(matmul(x, W), b).
template <class T>
BasicVar<T> linear(const BasicVar<T>& x, const BasicVar<T>& w, const BasicVar<T>& b);
/// The activations `linear` can apply inside its own node.
enum class LinearActivation { none, relu, sigmoid, tanh };
/// activation(x W + b) as one node, equal to relu(linear(x, W, b)) and so on: the activation
/// runs in place on the product while it is still in cache, and in backward its derivative and
/// the bias gradient share one pass over the upstream gradient. Named "linear_relu",
/// "linear_sigmoid", "linear_tanh" ("linear" for none).
template <class T>
BasicVar<T> linear(const BasicVar<T>& x, const BasicVar<T>& w, const BasicVar<T>& b,
                   LinearActivation activation);
/// The value of linear(x, W, b, activation) computed on tensors, with the same checks, and no
/// graph node: what inference needs (nn::Dense::infer_tensor).
template <class T>
BasicTensor<T> linear_value(const BasicTensor<T>& x, const BasicTensor<T>& w,
                            const BasicTensor<T>& b, LinearActivation activation);
/// Reverses the axes (the matrix transpose for 2-d).
template <class T>
BasicVar<T> transpose(const BasicVar<T>& x);
/// Same values, new shape of the same size.
template <class T>
BasicVar<T> reshape(const BasicVar<T>& x, const Shape& shape);

// --- reductions ---
/// Sum of all elements (a scalar).
template <class T>
BasicVar<T> sum(const BasicVar<T>& x);
/// Sum along `axis`; keepdims keeps that axis with size 1.
template <class T>
BasicVar<T> sum(const BasicVar<T>& x, int axis, bool keepdims = false);
/// Mean of all elements; throws for an empty tensor.
template <class T>
BasicVar<T> mean(const BasicVar<T>& x);
/// Mean along `axis`; keepdims keeps that axis with size 1.
template <class T>
BasicVar<T> mean(const BasicVar<T>& x, int axis, bool keepdims = false);
/// Largest element. Note [ties]: the gradient goes to the first largest element.
template <class T>
BasicVar<T> max(const BasicVar<T>& x);
/// Largest element along `axis`; a tie's gradient goes to the first largest.
template <class T>
BasicVar<T> max(const BasicVar<T>& x, int axis, bool keepdims = false);

// --- normalisation ---
/// exp(x) / sum(exp(x)) along `axis`, computed stably (the max is subtracted first).
template <class T>
BasicVar<T> softmax(const BasicVar<T>& x, int axis = -1);
/// log(softmax(x)) along `axis`, computed stably.
template <class T>
BasicVar<T> log_softmax(const BasicVar<T>& x, int axis = -1);

// --- fused losses (stable, one pass each way); each is a scalar mean ---
/// Cross-entropy of softmax(logits) against probability rows `targets` (one-hot or soft), both
/// [n, classes]: -1/n sum_i sum_k t_ik log softmax(z_i)_k, computed through log-sum-exp so that
/// large logits neither overflow nor give log(0). Throws std::invalid_argument on other shapes.
template <class T>
BasicVar<T> softmax_cross_entropy(const BasicVar<T>& logits, const BasicVar<T>& targets);
/// As softmax_cross_entropy with class ids: `labels` is [n] or [n, 1] and holds integers in
/// [0, classes). Throws std::invalid_argument naming the row and label when one is out of range
/// or not an integer, or when the shapes do not fit. No gradient flows to the labels.
template <class T>
BasicVar<T> sparse_softmax_cross_entropy(const BasicVar<T>& logits, const BasicTensor<T>& labels);
/// The class ids held by `labels`, [n] or [n, 1] whole numbers in [0, classes), for scores of
/// shape [n, classes] that messages call `scores` ("logits", "predictions"). Throws
/// std::invalid_argument naming `op` and the row and label, or both shapes. The sparse losses
/// of ops and nn share it.
template <class T>
std::vector<std::size_t> class_ids(const char* op, const BasicTensor<T>& labels,
                                   const Shape& scores_shape, const char* scores);
/// Binary cross-entropy of sigmoid(logits) against `targets` of the same shape, the mean over
/// all elements of max(z, 0) - z t + log(1 + exp(-|z|)): exact where log(sigmoid(z)) underflows.
template <class T>
BasicVar<T> sigmoid_binary_cross_entropy(const BasicVar<T>& logits, const BasicVar<T>& targets);

// --- operators, between Vars and with plain numbers ---
/// add(a, b).
template <class T>
BasicVar<T> operator+(const BasicVar<T>& a, const BasicVar<T>& b) {
  return add(a, b);
}
/// sub(a, b).
template <class T>
BasicVar<T> operator-(const BasicVar<T>& a, const BasicVar<T>& b) {
  return sub(a, b);
}
/// mul(a, b).
template <class T>
BasicVar<T> operator*(const BasicVar<T>& a, const BasicVar<T>& b) {
  return mul(a, b);
}
/// div(a, b).
template <class T>
BasicVar<T> operator/(const BasicVar<T>& a, const BasicVar<T>& b) {
  return div(a, b);
}
/// neg(x).
template <class T>
BasicVar<T> operator-(const BasicVar<T>& x) {
  return neg(x);
}

/// A constant (no gradient) scalar Var, used when a plain number meets a Var.
template <class T>
BasicVar<T> constant(detail::identity_t<T> value) {
  return BasicVar<T>(value);
}

/// a + number.
template <class T>
BasicVar<T> operator+(const BasicVar<T>& a, detail::identity_t<T> b) {
  return detail::add<T>(a, b);
}
/// number + b.
template <class T>
BasicVar<T> operator+(detail::identity_t<T> a, const BasicVar<T>& b) {
  return detail::add<T>(a, b);
}
/// a - number.
template <class T>
BasicVar<T> operator-(const BasicVar<T>& a, detail::identity_t<T> b) {
  return detail::sub<T>(a, b);
}
/// number - b.
template <class T>
BasicVar<T> operator-(detail::identity_t<T> a, const BasicVar<T>& b) {
  return detail::sub<T>(a, b);
}
/// a * number.
template <class T>
BasicVar<T> operator*(const BasicVar<T>& a, detail::identity_t<T> b) {
  return detail::mul<T>(a, b);
}
/// number * b.
template <class T>
BasicVar<T> operator*(detail::identity_t<T> a, const BasicVar<T>& b) {
  return detail::mul<T>(a, b);
}
/// a / number.
template <class T>
BasicVar<T> operator/(const BasicVar<T>& a, detail::identity_t<T> b) {
  return detail::div<T>(a, b);
}
/// number / b.
template <class T>
BasicVar<T> operator/(detail::identity_t<T> a, const BasicVar<T>& b) {
  return detail::div<T>(a, b);
}
/// maximum(a, number); a tie sends the gradient to the number, so nothing reaches a.
template <class T>
BasicVar<T> maximum(const BasicVar<T>& a, detail::identity_t<T> b) {
  return detail::maximum<T>(a, b);
}
/// minimum(a, number).
template <class T>
BasicVar<T> minimum(const BasicVar<T>& a, detail::identity_t<T> b) {
  return detail::minimum<T>(a, b);
}

}  // namespace retrograd
