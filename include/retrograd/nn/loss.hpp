#pragma once
/// @file loss.hpp
/// Losses: functions of (prediction, target) giving a scalar Var, and `BasicLoss`, the choice
/// of one that compile() takes. The "_with_logits" forms call the fused ops of ops.hpp.
/// Shapes must match exactly (no broadcasting): a [n] target against [n, 1] predictions throws.

#include <string>

#include "retrograd/var.hpp"

namespace retrograd::nn {

/// Mean squared error over all elements: mean((pred - target)^2).
template <class T>
BasicVar<T> mse(const BasicVar<T>& pred, const BasicVar<T>& target);
/// The course's quadratic cost 1/(2n) sum_i ||target_i - pred_i||^2 over the n rows.
template <class T>
BasicVar<T> quadratic_cost(const BasicVar<T>& pred, const BasicVar<T>& target);
/// -1/n sum_i sum_k t_ik log p_ik for probability rows `probs` (a softmax output), [n, c].
/// Probabilities are clipped to [1e-7, 1] first, as Keras does, so a 0 gives a large loss rather
/// than infinity.
template <class T>
BasicVar<T> categorical_cross_entropy(const BasicVar<T>& probs, const BasicVar<T>& target);
/// The same from logits, fused with the softmax (exact, stable): softmax_cross_entropy.
template <class T>
BasicVar<T> categorical_cross_entropy_with_logits(const BasicVar<T>& logits,
                                                  const BasicVar<T>& target);
/// categorical_cross_entropy with class ids `labels` ([n] or [n, 1]) instead of one-hot rows.
template <class T>
BasicVar<T> sparse_categorical_cross_entropy(const BasicVar<T>& probs,
                                             const BasicTensor<T>& labels);
/// The same from logits: sparse_softmax_cross_entropy.
template <class T>
BasicVar<T> sparse_categorical_cross_entropy_with_logits(const BasicVar<T>& logits,
                                                         const BasicTensor<T>& labels);
/// -mean(t log p + (1 - t) log(1 - p)) for probabilities (a sigmoid output), clipped to
/// [1e-7, 1 - 1e-7].
template <class T>
BasicVar<T> binary_cross_entropy(const BasicVar<T>& probs, const BasicVar<T>& target);
/// The same from logits, fused with the sigmoid: sigmoid_binary_cross_entropy.
template <class T>
BasicVar<T> binary_cross_entropy_with_logits(const BasicVar<T>& logits, const BasicVar<T>& target);

/// A loss chosen by kind, as compile() takes it.
template <class T>
class BasicLoss {
 public:
  /// Which loss.
  enum class Kind {
    mse,
    quadratic,
    categorical_cross_entropy,
    sparse_categorical_cross_entropy,
    binary_cross_entropy
  };

  /// mse().
  static BasicLoss mse() { return BasicLoss(Kind::mse, false); }
  /// quadratic_cost(): the course's 1/(2n) form.
  static BasicLoss quadratic() { return BasicLoss(Kind::quadratic, false); }
  /// Categorical cross-entropy against one-hot (or probability) rows.
  static BasicLoss categorical_cross_entropy(bool from_logits = false) {
    return BasicLoss(Kind::categorical_cross_entropy, from_logits);
  }
  /// Categorical cross-entropy against class ids, [n] or [n, 1].
  static BasicLoss sparse_categorical_cross_entropy(bool from_logits = false) {
    return BasicLoss(Kind::sparse_categorical_cross_entropy, from_logits);
  }
  /// Binary cross-entropy against 0/1 targets of the predictions' shape.
  static BasicLoss binary_cross_entropy(bool from_logits = false) {
    return BasicLoss(Kind::binary_cross_entropy, from_logits);
  }

  /// The loss of `pred` against `target` (class ids in `target` for the sparse kind).
  BasicVar<T> operator()(const BasicVar<T>& pred, const BasicVar<T>& target) const;
  /// Which loss.
  Kind kind() const { return kind_; }
  /// True when predictions are logits rather than probabilities.
  bool from_logits() const { return from_logits_; }
  /// True when targets are class ids.
  bool sparse() const { return kind_ == Kind::sparse_categorical_cross_entropy; }
  /// "mse", "categorical_cross_entropy(from_logits)", ...
  std::string name() const;
  /// "categorical_cross_entropy", without "(from_logits)".
  std::string base_name() const;
  /// The loss named `name` (base_name()'s form). Throws std::invalid_argument for an unknown
  /// name, listing the known ones.
  static BasicLoss from_name(const std::string& name, bool from_logits = false);

 private:
  BasicLoss(Kind kind, bool from_logits) : kind_(kind), from_logits_(from_logits) {}
  Kind kind_;
  bool from_logits_;
};

/// Single-precision loss choice.
using Loss = BasicLoss<float>;

extern template class BasicLoss<float>;
extern template class BasicLoss<double>;

}  // namespace retrograd::nn
