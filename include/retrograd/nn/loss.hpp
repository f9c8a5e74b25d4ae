#pragma once
/// @file loss.hpp
/// Losses: functions of (prediction, target) giving a scalar Var, each registered by name beside
/// its declaration, and `BasicLoss`, a registered loss as compile() takes it. Model files and
/// the command line know losses only through the registry, so a loss registered in one line
/// trains, saves and loads like a built-in:
///
///     template <class T>
///     BasicVar<T> mean_absolute_error(const BasicVar<T>& pred, const BasicVar<T>& target) {
///       return mean(abs(pred - target));
///     }
///     RETROGRAD_REGISTER_LOSS(mean_absolute_error);  // Loss::from_name("mean_absolute_error")
///
/// The "_with_logits" forms call the fused ops of ops.hpp. Shapes must match exactly (no
/// broadcasting): a [n] target against [n, 1] predictions throws.

#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "retrograd/nn/registry.hpp"
#include "retrograd/var.hpp"

namespace retrograd::nn {

/// What a registered loss expects.
struct LossTraits {
  /// It has a form taking logits (BasicLoss's from_logits), fused with the output activation.
  bool accepts_logits = false;
  /// Its targets are class ids ([n] or [n, 1]), not rows of the predictions' shape.
  bool sparse = false;
};

/// A registered loss: its traits and its function for each element type. `from_logits` is true
/// only for a loss whose traits accept logits.
struct LossFunction {
  /// What it expects.
  LossTraits traits;
  /// The loss on single-precision Vars.
  BasicVar<float> (*apply_float)(const BasicVar<float>& pred, const BasicVar<float>& target,
                                 bool from_logits) = nullptr;
  /// The same on double-precision Vars.
  BasicVar<double> (*apply_double)(const BasicVar<double>& pred, const BasicVar<double>& target,
                                   bool from_logits) = nullptr;
};

/// The registry of losses.
Registry<LossFunction>& loss_registry();

/// Registers the loss `Definition` under `name`: its static member template
/// `apply<T>(pred, target, from_logits)` is the loss for T = float and T = double. The macros
/// below write `Definition` for the common forms.
template <class Definition>
bool register_loss(const std::string& name, LossTraits traits = {}) {
  LossFunction function;
  function.traits = traits;
  function.apply_float = &Definition::template apply<float>;
  function.apply_double = &Definition::template apply<double>;
  return loss_registry().add(name, typeid(Definition), function);
}

}  // namespace retrograd::nn

namespace retrograd::nn {
/// A loss function template's two instances, as the macros below take them.
template <class T>
using LossFn = BasicVar<T> (*)(const BasicVar<T>& pred, const BasicVar<T>& target);
/// The registered form of a loss function template (its instances `Float` and `Double`): one
/// type per function, whichever file registers it.
template <LossFn<float> Float, LossFn<double> Double>
struct LossOf {
  /// The loss of `pred` against `target`.
  template <class T>
  static BasicVar<T> apply(const BasicVar<T>& pred, const BasicVar<T>& target, bool) {
    if constexpr (std::is_same_v<T, float>) {
      return Float(pred, target);
    } else {
      return Double(pred, target);
    }
  }
};
/// The same for a loss with a logits form (`FloatLogits`, `DoubleLogits`).
template <LossFn<float> Float, LossFn<double> Double, LossFn<float> FloatLogits,
          LossFn<double> DoubleLogits>
struct LossWithLogitsOf {
  /// The loss of `pred` against `target`; `pred` holds logits when `from_logits`.
  template <class T>
  static BasicVar<T> apply(const BasicVar<T>& pred, const BasicVar<T>& target, bool from_logits) {
    if constexpr (std::is_same_v<T, float>) {
      return from_logits ? FloatLogits(pred, target) : Float(pred, target);
    } else {
      return from_logits ? DoubleLogits(pred, target) : Double(pred, target);
    }
  }
};
}  // namespace retrograd::nn

/// Registers the loss function template `function(pred, target)` under its name as written
/// (a qualified name `my::mae` registers "my::mae"): no logits form, targets of the
/// predictions' shape. Write it at namespace scope beside the function.
#define RETROGRAD_REGISTER_LOSS(function) RETROGRAD_REGISTER_LOSS_AS(function, #function)
/// Registers `function(pred, target)` (a qualified name is fine) under `name`.
#define RETROGRAD_REGISTER_LOSS_AS(function, name)                                                 \
  [[maybe_unused]] static const bool RETROGRAD_REGISTRATION_NAME = ::retrograd::nn::register_loss< \
      ::retrograd::nn::LossOf<&function<float>, &function<double>>>(name)
/// Registers `function(probabilities, target)` with its logits form
/// `function_with_logits(logits, target)` as one loss under the name of `function`.
#define RETROGRAD_REGISTER_LOSS_WITH_LOGITS(function)                          \
  [[maybe_unused]] static const bool RETROGRAD_REGISTRATION_NAME =             \
      ::retrograd::nn::register_loss<::retrograd::nn::LossWithLogitsOf<        \
          &function<float>, &function<double>, &function##_with_logits<float>, \
          &function##_with_logits<double>>>(                                   \
          #function, ::retrograd::nn::LossTraits{/*accepts_logits=*/true, /*sparse=*/false})

namespace retrograd::nn {

/// Mean squared error over all elements: mean((pred - target)^2).
template <class T>
BasicVar<T> mse(const BasicVar<T>& pred, const BasicVar<T>& target);
RETROGRAD_REGISTER_LOSS(mse);

/// The course's quadratic cost 1/(2n) sum_i ||target_i - pred_i||^2 over the n rows.
template <class T>
BasicVar<T> quadratic_cost(const BasicVar<T>& pred, const BasicVar<T>& target);
RETROGRAD_REGISTER_LOSS_AS(quadratic_cost, "quadratic");

/// -1/n sum_i sum_k t_ik log p_ik for probability rows `probs` (a softmax output), [n, c].
/// Probabilities are clipped to [1e-7, 1] first, as Keras does, so a 0 gives a large loss rather
/// than infinity.
template <class T>
BasicVar<T> categorical_cross_entropy(const BasicVar<T>& probs, const BasicVar<T>& target);
/// The same from logits, fused with the softmax (exact, stable): softmax_cross_entropy.
template <class T>
BasicVar<T> categorical_cross_entropy_with_logits(const BasicVar<T>& logits,
                                                  const BasicVar<T>& target);
RETROGRAD_REGISTER_LOSS_WITH_LOGITS(categorical_cross_entropy);

/// categorical_cross_entropy with class ids `labels` ([n] or [n, 1]) instead of one-hot rows.
template <class T>
BasicVar<T> sparse_categorical_cross_entropy(const BasicVar<T>& probs,
                                             const BasicTensor<T>& labels);
/// The same from logits: sparse_softmax_cross_entropy.
template <class T>
BasicVar<T> sparse_categorical_cross_entropy_with_logits(const BasicVar<T>& logits,
                                                         const BasicTensor<T>& labels);
/// The registered form of the two above: the target Var holds the class ids.
struct SparseCategoricalCrossEntropy {
  /// The loss of `pred` against the class ids in `target`.
  template <class T>
  static BasicVar<T> apply(const BasicVar<T>& pred, const BasicVar<T>& target, bool from_logits) {
    return from_logits ? sparse_categorical_cross_entropy_with_logits(pred, target.value())
                       : sparse_categorical_cross_entropy(pred, target.value());
  }
};
[[maybe_unused]] inline const bool retrograd_registered_loss_sparse_categorical_cross_entropy =
    register_loss<SparseCategoricalCrossEntropy>("sparse_categorical_cross_entropy",
                                                 LossTraits{/*accepts_logits=*/true,
                                                            /*sparse=*/true});

/// -mean(t log p + (1 - t) log(1 - p)) for probabilities (a sigmoid output), clipped to
/// [1e-7, 1 - 1e-7].
template <class T>
BasicVar<T> binary_cross_entropy(const BasicVar<T>& probs, const BasicVar<T>& target);
/// The same from logits, fused with the sigmoid: sigmoid_binary_cross_entropy.
template <class T>
BasicVar<T> binary_cross_entropy_with_logits(const BasicVar<T>& logits, const BasicVar<T>& target);
RETROGRAD_REGISTER_LOSS_WITH_LOGITS(binary_cross_entropy);

/// A registered loss and the form it is used in (from logits or not), as compile() takes it.
/// Copies are cheap: it refers to the registry's entry.
template <class T>
class BasicLoss {
 public:
  /// mse().
  static BasicLoss mse() { return from_name("mse"); }
  /// quadratic_cost(): the course's 1/(2n) form.
  static BasicLoss quadratic() { return from_name("quadratic"); }
  /// Categorical cross-entropy against one-hot (or probability) rows.
  static BasicLoss categorical_cross_entropy(bool from_logits = false) {
    return from_name("categorical_cross_entropy", from_logits);
  }
  /// Categorical cross-entropy against class ids, [n] or [n, 1].
  static BasicLoss sparse_categorical_cross_entropy(bool from_logits = false) {
    return from_name("sparse_categorical_cross_entropy", from_logits);
  }
  /// Binary cross-entropy against 0/1 targets of the predictions' shape.
  static BasicLoss binary_cross_entropy(bool from_logits = false) {
    return from_name("binary_cross_entropy", from_logits);
  }
  /// The loss registered as `name`, taking logits when `from_logits`. Throws
  /// std::invalid_argument for an unknown name (listing the registered ones) and for
  /// `from_logits` on a loss without a logits form (listing the losses that have one).
  static BasicLoss from_name(const std::string& name, bool from_logits = false);
  /// The weighted sum of `losses` for a model of several outputs lying side by side along
  /// axis 1 (nn::Model::loss): loss k reads the next `widths[k]` columns of the prediction and
  /// as many of the target (one, class ids, for a sparse loss), times `weights[k]`. Throws
  /// std::invalid_argument for lists of different lengths, no loss, a width of 0 or a weight
  /// that is negative or not finite.
  static BasicLoss per_output(std::vector<BasicLoss> losses, std::vector<double> weights,
                              std::vector<std::size_t> widths);

  /// The loss of `pred` against `target` (class ids in `target` for a sparse loss).
  BasicVar<T> operator()(const BasicVar<T>& pred, const BasicVar<T>& target) const;
  /// True when predictions are logits rather than probabilities (false for per_output()).
  bool from_logits() const { return from_logits_; }
  /// True when targets are class ids (false for per_output()).
  bool sparse() const { return traits().sparse; }
  /// What the registered loss expects (nothing special for per_output()).
  const LossTraits& traits() const;
  /// "mse", "categorical_cross_entropy(from_logits)", ...; "per_output(mse * 1, ...)".
  std::string name() const;
  /// The registered name: "categorical_cross_entropy", without "(from_logits)".
  const std::string& base_name() const { return name_; }

 private:
  BasicLoss(std::string name, const LossFunction* function, bool from_logits)
      : name_(std::move(name)), function_(function), from_logits_(from_logits) {}
  struct Part;
  std::string name_;
  const LossFunction* function_;
  bool from_logits_;
  std::shared_ptr<const std::vector<Part>> parts_;  // per_output() only
};

/// One output's loss of BasicLoss::per_output().
template <class T>
struct BasicLoss<T>::Part {
  BasicLoss<T> loss;
  double weight;
  std::size_t width;
};

/// Single-precision loss choice.
using Loss = BasicLoss<float>;

extern template class BasicLoss<float>;
extern template class BasicLoss<double>;

}  // namespace retrograd::nn
