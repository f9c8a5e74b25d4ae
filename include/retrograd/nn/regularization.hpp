#pragma once
/// @file regularization.hpp
/// L1 / L2 weight penalties, Dropout and BatchNorm. Penalties are ops added to the loss;
/// Dropout and BatchNorm are layers whose behaviour depends on train() / eval().

#include <cstdint>
#include <vector>

#include "retrograd/nn/init.hpp"
#include "retrograd/nn/layer_registry.hpp"
#include "retrograd/nn/module.hpp"

namespace retrograd::nn {

/// l1 * sum |w| + l2 * sum w^2 over every tensor in `params` (a scalar Var). Throws
/// std::invalid_argument for a negative or non-finite coefficient.
template <class T>
BasicVar<T> weight_penalty(const std::vector<BasicVar<T>>& params, double l1, double l2);
/// lambda * sum |w| over `params`.
template <class T>
BasicVar<T> l1_penalty(const std::vector<BasicVar<T>>& params, double lambda) {
  return weight_penalty(params, lambda, 0.0);
}
/// lambda * sum w^2 over `params`.
template <class T>
BasicVar<T> l2_penalty(const std::vector<BasicVar<T>>& params, double lambda) {
  return weight_penalty(params, 0.0, lambda);
}

/// Penalty coefficients a layer applies to its weights (not its bias), as Keras's
/// kernel_regularizer: the layer's penalty() adds l1 * sum |W| + l2 * sum W^2 to the loss.
struct Regularizer {
  /// Coefficient of sum |W|.
  double l1 = 0;
  /// Coefficient of sum W^2.
  double l2 = 0;
  /// True when either coefficient is non-zero.
  bool active() const { return l1 != 0 || l2 != 0; }
};

/// Inverted dropout on a batch of any shape: in training mode each element is zeroed with
/// probability `rate` and the survivors are scaled by 1 / (1 - rate); in evaluation mode the input
/// passes unchanged.
template <class T>
class BasicDropout : public BasicModule<T> {
 public:
  /// Draws masks from an engine seeded from default_engine(). Throws std::invalid_argument
  /// unless 0 <= rate < 1.
  explicit BasicDropout(double rate);
  /// Draws masks from its own engine seeded with `seed`.
  BasicDropout(double rate, std::uint64_t seed);
  /// x * mask in training mode (a new mask each call), x in evaluation mode.
  BasicVar<T> forward(const BasicVar<T>& x) override;
  /// "Dropout".
  std::string type() const override { return "Dropout"; }
  /// The drop probability.
  double rate() const { return rate_; }
  /// The engine the masks come from, as "engine".
  std::vector<NamedEngine> named_engines() override { return {{"engine", &engine_}}; }
  /// The rate.
  void save_config(Record& config) const override { config.set("rate", rate_); }
  /// A layer with the saved rate (its engine is restored by checkpoints, not model files).
  static std::unique_ptr<BasicDropout> from_record(const LayerRecord& record);

 private:
  double rate_;
  Engine engine_;
};

/// Batch normalization over the rows of a [n, features] batch, or over the batch and pixels of
/// each channel of [n, features, h, w] images (PyTorch's BatchNorm2d):
/// y = gamma * (x - mean) / sqrt(var + eps) + beta. Training mode uses the batch's mean and
/// (biased) variance and updates the running statistics,
/// running = (1 - momentum) * running + momentum * batch (the variance unbiased, n / (n - 1));
/// evaluation mode uses the running statistics. PyTorch's conventions.
template <class T>
class BasicBatchNorm : public BasicModule<T> {
 public:
  /// Throws std::invalid_argument for 0 features, momentum outside [0, 1] or eps <= 0.
  explicit BasicBatchNorm(std::size_t features, double momentum = 0.1, double eps = 1e-5);
  /// Normalizes `x` ([n, features] or [n, features, h, w]). Throws std::invalid_argument naming
  /// the layer for another width or rank, or in training for one value per feature.
  BasicVar<T> forward(const BasicVar<T>& x) override;
  /// "BatchNorm".
  std::string type() const override { return "BatchNorm"; }
  /// "gamma" (scale, starts at 1) and "beta" (shift, starts at 0).
  std::vector<NamedParameter<T>> named_parameters() const override;
  /// "running_mean" and "running_var".
  std::vector<NamedBuffer<T>> named_buffers() override;
  /// The required width.
  std::size_t input_features() const override { return features_; }

  /// Scale, [features].
  const BasicVar<T>& gamma() const { return gamma_; }
  /// Shift, [features].
  const BasicVar<T>& beta() const { return beta_; }
  /// Running mean, [features] (starts at 0).
  const BasicTensor<T>& running_mean() const { return running_mean_; }
  /// Running variance, [features] (starts at 1).
  const BasicTensor<T>& running_var() const { return running_var_; }
  /// The number of features.
  std::size_t features() const { return features_; }
  /// Weight of the batch statistics in the running update.
  double momentum() const { return momentum_; }
  /// Term added to the variance before the square root.
  double eps() const { return eps_; }
  /// Momentum and eps (the width comes from the saved gamma).
  void save_config(Record& config) const override;
  /// A layer of the saved gamma's width with the saved momentum and eps.
  static std::unique_ptr<BasicBatchNorm> from_record(const LayerRecord& record);

 private:
  std::size_t features_;
  double momentum_;
  double eps_;
  BasicVar<T> gamma_;
  BasicVar<T> beta_;
  BasicTensor<T> running_mean_;
  BasicTensor<T> running_var_;
};

/// Single-precision Dropout.
using Dropout = BasicDropout<float>;
/// Single-precision BatchNorm.
using BatchNorm = BasicBatchNorm<float>;

extern template class BasicDropout<float>;
extern template class BasicDropout<double>;
extern template class BasicBatchNorm<float>;
extern template class BasicBatchNorm<double>;

RETROGRAD_REGISTER_LAYER(Dropout);
RETROGRAD_REGISTER_LAYER(BatchNorm);

}  // namespace retrograd::nn
