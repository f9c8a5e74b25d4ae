#pragma once
/// @file ops.hpp
/// Every differentiable op. Forward and backward of each live side by side in src/ops/, one file
/// per family (elementwise, activation, linalg, reduce, losses); docs/ops.md lists their
/// formulas and conventions.
///
/// Binary elementwise ops broadcast with numpy rules; their gradients are summed back to each
/// input's shape. Axes may be negative (counted from the end). Element types: float and double.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
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
/// The square root; throws std::domain_error for a negative input.
template <class T>
BasicVar<T> sqrt(const BasicVar<T>& x);
/// ln(1 + x), exact for small x; throws std::domain_error below -1.
template <class T>
BasicVar<T> log1p(const BasicVar<T>& x);
/// ln(1 + e^x), computed as max(x, 0) + ln(1 + e^-|x|) so that it never overflows; its
/// derivative is sigmoid(x).
template <class T>
BasicVar<T> softplus(const BasicVar<T>& x);
/// x Phi(x) = x (1 + erf(x / sqrt 2)) / 2: the exact GELU (PyTorch's default, not the tanh
/// approximation).
template <class T>
BasicVar<T> gelu(const BasicVar<T>& x);
/// sin x (radians).
template <class T>
BasicVar<T> sin(const BasicVar<T>& x);
/// cos x (radians).
template <class T>
BasicVar<T> cos(const BasicVar<T>& x);
/// x limited to [lo, hi]; the gradient is 1 where lo <= x <= hi (bounds included, as PyTorch),
/// else 0. Throws std::invalid_argument when lo > hi.
template <class T>
BasicVar<T> clamp(const BasicVar<T>& x, detail::identity_t<T> lo, detail::identity_t<T> hi);
/// a where `condition` is nonzero, else b, element by element; the three broadcast together.
/// No gradient flows to the condition.
template <class T>
BasicVar<T> where(const BasicVar<T>& condition, const BasicVar<T>& a, const BasicVar<T>& b);

// --- linear algebra ---
/// Matrix product as numpy's matmul: [..., m, k] x [..., k, n] -> [..., m, n], the leading
/// (batch) axes broadcasting. A 1-d a [k] is a row [1, k] and a 1-d b [k] a column [k, 1],
/// whose added axis is removed from the result. Every product goes through BLAS, one call per
/// batch entry; the backward passes transpose flags instead of copying transposes. Throws
/// std::invalid_argument naming both shapes when k differs or the batch axes do not broadcast.
template <class T>
BasicVar<T> matmul(const BasicVar<T>& a, const BasicVar<T>& b);
/// matmul of op(a) and op(b), where op swaps the last two axes when its flag is set: a^T b or
/// a b^T as one BLAS call with a transpose flag, never a copied transpose. The gradients are
/// such flagged products too. Throws std::invalid_argument for a flag on a 1-d operand.
template <class T>
BasicVar<T> matmul(const BasicVar<T>& a, const BasicVar<T>& b, bool transpose_a, bool transpose_b);
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

// --- shape: the same values, arranged differently ---
/// Same values, new shape of the same size.
template <class T>
BasicVar<T> reshape(const BasicVar<T>& x, const Shape& shape);
/// Axes start..end (inclusive, negative from the end) merged into one.
template <class T>
BasicVar<T> flatten(const BasicVar<T>& x, int start = 0, int end = -1);
/// Removes `axis`, which must have size 1.
template <class T>
BasicVar<T> squeeze(const BasicVar<T>& x, int axis);
/// Inserts an axis of size 1 at `axis` (in [-(rank + 1), rank], as numpy's expand_dims).
template <class T>
BasicVar<T> unsqueeze(const BasicVar<T>& x, int axis);
/// The axes reordered: axis i of the result is axis axes[i] of x (numpy's transpose(x, axes)).
template <class T>
BasicVar<T> permute(const BasicVar<T>& x, const std::vector<int>& axes);
/// x repeated to `shape` by numpy broadcasting; the gradient sums back to x's shape.
template <class T>
BasicVar<T> broadcast_to(const BasicVar<T>& x, const Shape& shape);
/// The inputs joined along an existing axis; they must agree on every other axis.
template <class T>
BasicVar<T> concat(const std::vector<BasicVar<T>>& xs, int axis);
/// The inputs, all of one shape, joined along a new axis `axis`.
template <class T>
BasicVar<T> stack(const std::vector<BasicVar<T>>& xs, int axis);
/// x cut along `axis` into consecutive parts of the given sizes, which must add up to the
/// axis's size (PyTorch's split with a list of sizes).
template <class T>
std::vector<BasicVar<T>> split(const BasicVar<T>& x, const std::vector<std::size_t>& sizes,
                               int axis);
/// The end of `slice` that means "to the end of the axis", whatever the step's sign.
inline constexpr std::int64_t slice_end = INT64_MAX;
/// x[begin:end:step] along `axis`, as Python slices: negative begin and end count from the end,
/// both are clipped to the axis, a negative step walks backwards (end = slice_end then means
/// "down to the first element"). Throws std::invalid_argument for a step of 0.
template <class T>
BasicVar<T> slice(const BasicVar<T>& x, int axis, std::int64_t begin, std::int64_t end,
                  std::int64_t step = 1);
/// x with `widths[d] = {before, after}` elements of `value` added around each axis d (numpy's
/// pad, constant mode). widths has one pair per axis.
template <class T>
BasicVar<T> pad(const BasicVar<T>& x,
                const std::vector<std::pair<std::size_t, std::size_t>>& widths,
                detail::identity_t<T> value = 0);
/// x's value as a constant: no gradient flows through it (PyTorch's detach).
template <class T>
BasicVar<T> detach(const BasicVar<T>& x);

// --- indexing ---
/// Integer indices for take and take_along_axis. Negative indices count from the end.
using IndexTensor = xt::xarray<std::int64_t>;
/// The elements of x at `indices` along `axis` (numpy's take): the result's shape is x's with
/// that axis replaced by the indices' shape. The gradient scatter-adds into x, so an index
/// that appears twice collects both gradients; an embedding lookup is take(table, ids, 0).
/// Throws std::out_of_range naming the index, the axis and its size.
template <class T>
BasicVar<T> take(const BasicVar<T>& x, const IndexTensor& indices, int axis);
/// Refuses float indices with std::invalid_argument: convert them with to_indices, which checks
/// that each is a whole number.
template <class T>
BasicVar<T> take(const BasicVar<T>& x, const BasicTensor<T>& indices, int axis);
/// Along `axis`, the element of x at each index (numpy's take_along_axis): `indices` has x's
/// rank and x's sizes off the axis; the result has the indices' shape. The gradient
/// scatter-adds. Throws std::out_of_range naming the index, the axis and its size.
template <class T>
BasicVar<T> take_along_axis(const BasicVar<T>& x, const IndexTensor& indices, int axis);
/// Refuses float indices, as take does.
template <class T>
BasicVar<T> take_along_axis(const BasicVar<T>& x, const BasicTensor<T>& indices, int axis);
/// `values` as indices; throws std::invalid_argument naming the first value that is not a
/// whole number.
template <class T>
IndexTensor to_indices(const BasicTensor<T>& values);
/// The position of the largest element along `axis` (the first one on a tie), as a constant
/// Var of whole numbers: no gradient, for metrics. The axis is removed from the shape.
template <class T>
BasicVar<T> argmax(const BasicVar<T>& x, int axis);

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

/// log(sum(exp(x))) along `axis`, computed stably (the max is subtracted first); the gradient
/// is softmax(x) times the upstream gradient.
template <class T>
BasicVar<T> logsumexp(const BasicVar<T>& x, int axis, bool keepdims = false);

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

// --- images, NCHW (src/ops/conv.cpp) ---
/// A height and width pair: a kernel size, stride, padding or dilation. One number means the
/// same value along both axes, as in PyTorch.
struct Size2 {
  /// Along the height axis.
  std::size_t h;
  /// Along the width axis.
  std::size_t w;
  Size2(std::size_t both) : h(both), w(both) {}  // NOLINT(google-explicit-constructor)
  Size2(std::size_t h_, std::size_t w_) : h(h_), w(w_) {}
};
/// "3x3", for messages and summaries.
std::string size2_string(const Size2& s);
/// The output extent of a window sliding along one `axis` ("height", "width") of `input`
/// elements: floor((input + 2 padding - dilation (kernel - 1) - 1) / stride) + 1. Throws
/// std::invalid_argument naming `op` and the axis when the stride, kernel or dilation is 0 or
/// the dilated kernel is larger than the padded input.
std::size_t window_output_extent(const char* op, const char* axis, std::size_t input,
                                 std::size_t kernel, std::size_t stride, std::size_t padding,
                                 std::size_t dilation = 1);
/// 2-d cross-correlation, PyTorch's Conv2d: x [N, C, H, W], w [O, C, kh, kw], b [O] (or an
/// empty Var for none) give y [N, O, OH, OW], y[n,o,i,j] = b[o] + sum_{c,p,q} w[o,c,p,q]
/// x[n, c, i stride + p dilation - padding, j stride + q dilation - padding], zeros outside x.
/// With `groups` G the channels split into G groups, output group k reading input group k
/// only: w is [O, C / G, kh, kw] (G = C with O a multiple of C is a depthwise convolution).
/// One GEMM per group over the whole batch (im2col).
/// Throws std::invalid_argument naming the shapes for a rank other than 4, a channel mismatch,
/// a group count that does not divide both channel counts, a stride or dilation of 0, or a
/// kernel larger than the padded input.
template <class T>
BasicVar<T> conv2d(const BasicVar<T>& x, const BasicVar<T>& w, const BasicVar<T>& b,
                   Size2 stride = 1, Size2 padding = 0, Size2 dilation = 1, std::size_t groups = 1);
/// Largest value of each kernel window of x [N, C, H, W] (padding counts as -infinity), stride
/// defaulting to the kernel. The node saves each window's argmax; the gradient goes to it (the
/// first largest on ties). Throws like conv2d.
template <class T>
BasicVar<T> max_pool2d(const BasicVar<T>& x, Size2 kernel, std::optional<Size2> stride = {},
                       Size2 padding = 0);
/// Mean of each kernel window of x [N, C, H, W], stride defaulting to the kernel; padded zeros
/// count in the mean (PyTorch's count_include_pad). Throws like conv2d.
template <class T>
BasicVar<T> avg_pool2d(const BasicVar<T>& x, Size2 kernel, std::optional<Size2> stride = {},
                       Size2 padding = 0);
/// Mean over each channel's whole image: x [N, C, H, W] gives [N, C].
template <class T>
BasicVar<T> global_avg_pool2d(const BasicVar<T>& x);

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
