#pragma once
/// @file dense.hpp
/// The fully connected layer of the course: Y = act(X W + b), rows are samples.

#include <cstdint>

#include "retrograd/nn/activation.hpp"
#include "retrograd/nn/init.hpp"
#include "retrograd/nn/layer_registry.hpp"
#include "retrograd/nn/module.hpp"
#include "retrograd/nn/regularization.hpp"

namespace retrograd::nn {

/// Y = act(X W + b): X is [n, in], W is [in, out], b has out entries (broadcast over rows).
/// One `linear` node, with relu, sigmoid and tanh applied inside it; any other activation
/// follows as an op of its own.
template <class T>
class BasicDense : public BasicModule<T> {
 public:
  /// W filled by `weights` drawing from `engine` (default_engine() unless given), b zeros.
  /// Throws std::invalid_argument when `in` or `out` is 0.
  BasicDense(std::size_t in, std::size_t out, Activation activation = Activation::linear(),
             Initializer weights = Initializer::glorot_uniform(),
             Engine& engine = default_engine());
  /// As above with a fresh engine seeded with `seed`.
  BasicDense(std::size_t in, std::size_t out, Activation activation, Initializer weights,
             std::uint64_t seed);

  /// A layer over given parameters (shared, not copied): hand-set weights such as the course's
  /// XOR net, or leaves a gradient check perturbs. Throws std::invalid_argument unless `weight`
  /// is a non-empty [in, out] matrix and `bias` has out entries.
  BasicDense(BasicVar<T> weight, BasicVar<T> bias, Activation activation = Activation::linear());

  /// act(x W + b). Throws std::invalid_argument naming the layer when `x` is not [n, in].
  /// relu, sigmoid, tanh and linear run inside the one linear node (`linear_relu`, ...).
  BasicVar<T> forward(const BasicVar<T>& x) override;
  /// act(x W + b) in evaluation mode, computed on tensors without recording a node: the same
  /// BLAS call and activation as the graph's linear node, so the same bits as infer(). Under
  /// a DetectAnomalyGuard it takes the graph path, which checks each node. Throws like
  /// forward().
  BasicTensor<T> infer_tensor(const BasicTensor<T>& x) const override;
  /// x W + b, before the activation (losses from logits use it).
  BasicVar<T> pre_activation(const BasicVar<T>& x) const;
  /// "Dense".
  std::string type() const override { return "Dense"; }
  /// "W" then "b".
  std::vector<NamedParameter<T>> named_parameters() const override;
  /// [n, out] for [n, in].
  Shape output_shape(const Shape& input) const override;
  /// in.
  std::size_t input_features() const override { return in_; }
  /// The regularizer's penalty on W, or an empty Var without one.
  BasicVar<T> penalty() const override;

  /// Sets the L1 / L2 penalty on W. Throws std::invalid_argument for negative coefficients.
  BasicDense& set_regularizer(Regularizer regularizer);
  /// The activation and the regularizer (the widths come from the saved W).
  void save_config(Record& config) const override;
  /// A layer of the saved W's shape with the saved activation and regularizer.
  static std::unique_ptr<BasicDense> from_record(const LayerRecord& record);
  /// The L1 / L2 penalty on W (inactive by default).
  const Regularizer& regularizer() const { return regularizer_; }
  /// Refills W by `weights` from `engine` and zeroes b.
  void reset_parameters(const Initializer& weights, Engine& engine);

  /// Weights, [in, out].
  const BasicVar<T>& weight() const { return W_; }
  /// Bias, [out].
  const BasicVar<T>& bias() const { return b_; }
  /// The activation applied after x W + b.
  const Activation& activation() const { return activation_; }
  /// Input width.
  std::size_t in_features() const { return in_; }
  /// Output width.
  std::size_t out_features() const { return out_; }

 private:
  void check_input(const Shape& s) const;
  std::size_t in_;
  std::size_t out_;
  Activation activation_;
  Regularizer regularizer_;
  BasicVar<T> W_;
  BasicVar<T> b_;
};

/// Single-precision Dense: training.
using Dense = BasicDense<float>;
/// Double-precision Dense: gradient checks and exact examples.
using DenseD = BasicDense<double>;

extern template class BasicDense<float>;
extern template class BasicDense<double>;

RETROGRAD_REGISTER_LAYER(Dense);

}  // namespace retrograd::nn
