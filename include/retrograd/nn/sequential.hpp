#pragma once
/// @file sequential.hpp
/// `Sequential`: layers applied in order, with Keras's compile / fit / evaluate / predict.
/// fit() only strings together what a hand-written loop uses (forward, the loss, the layers'
/// penalties, backward, optimizer step and zero_grad); it keeps no training state of its own
/// besides the loss and optimizer given to compile().

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "retrograd/nn/batch_source.hpp"
#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/loss.hpp"
#include "retrograd/nn/module.hpp"
#include "retrograd/nn/optimizer.hpp"

namespace retrograd::nn {

/// Options of fit(). Set the fields you need: `FitOptions o; o.epochs = 10;`.
struct FitOptions {
  /// Passes over the training samples.
  std::size_t epochs = 1;
  /// Samples per update; the last batch of an epoch may be smaller. Must be positive.
  std::size_t batch_size = 32;
  /// Fraction in [0, 1) of the samples, taken from the end before any shuffling (as Keras
  /// does), held out for validation. Ignored when validation_data is set.
  double validation_split = 0;
  /// Separate validation samples (not owned; must outlive fit()).
  const BatchSource* validation_data = nullptr;
  /// Reshuffle the training order every epoch.
  bool shuffle = true;
  /// Called per batch and per epoch, in order (not owned).
  std::vector<Callback*> callbacks;
  /// 0: silent. 1: a progress bar per epoch, redrawn in place on a terminal and printed once
  /// per epoch otherwise. 2: one line per epoch.
  int verbose = 1;
  /// Seed of the shuffling engine; without one it is seeded from default_engine().
  std::optional<std::uint64_t> seed;
  /// Where progress goes; std::cout when null.
  std::ostream* out = nullptr;
};

/// Per-epoch results of fit(). Lists stay empty for what was not measured (accuracy without the
/// metric, validation without validation data).
struct History {
  /// Mean training loss of each epoch (including penalties).
  std::vector<double> loss;
  /// Training accuracy of each epoch.
  std::vector<double> accuracy;
  /// Validation loss after each epoch.
  std::vector<double> val_loss;
  /// Validation accuracy after each epoch.
  std::vector<double> val_accuracy;
  /// Number of epochs run.
  std::size_t epochs() const { return loss.size(); }
};

/// Layers applied in order. A Module itself: its parameters are its layers' parameters, named
/// "<layer name>.<parameter>" ("dense_0.W").
class Sequential : public Module {
 public:
  /// An empty model named "sequential".
  Sequential();

  /// Appends a layer (moved in). A layer still carrying its default name is renamed
  /// "<name>_<position>" ("dense_0"). Returns *this for chaining.
  template <class Layer>
  Sequential& add(Layer layer) {
    static_assert(std::is_base_of_v<Module, Layer>, "Sequential::add takes an nn::Module");
    return add(std::unique_ptr<Module>(new Layer(std::move(layer))));
  }
  /// Appends a layer.
  Sequential& add(std::unique_ptr<Module> layer);
  /// Number of layers.
  std::size_t size() const { return layers_.size(); }
  /// Layer i. Throws std::out_of_range.
  Module& layer(std::size_t i);

  /// Each layer in turn. Throws std::logic_error for a model with no layers.
  Var forward(const Var& x) override;
  /// "Sequential".
  std::string type() const override { return "Sequential"; }
  /// Every layer's parameters, prefixed with the layer's name.
  std::vector<NamedParameter<float>> named_parameters() const override;
  /// Every layer's buffers, prefixed with the layer's name.
  std::vector<NamedBuffer<float>> named_buffers() override;
  /// Sets the mode of every layer.
  void train(bool on = true) override;
  /// The layers' output shapes in turn.
  Shape output_shape(const Shape& input) const override;
  /// The first layer's.
  std::size_t input_features() const override;
  /// Sum of the layers' penalties (empty Var when none has one).
  Var penalty() const override;

  /// A Keras-like table: each layer's name and type, output shape and parameter count, then the
  /// totals.
  std::string summary() const;

  /// Chooses the loss, the optimizer (attached to this model's parameters now) and the metrics
  /// ("accuracy" is the only one). Throws std::invalid_argument for an unknown metric.
  void compile(Loss loss, std::unique_ptr<Optimizer> optimizer,
               std::vector<std::string> metrics = {});
  /// As above, taking any optimizer by value: `compile(Loss::mse(), SGD(0.1))`.
  template <class Opt>
  void compile(Loss loss, Opt optimizer, std::vector<std::string> metrics = {}) {
    static_assert(std::is_base_of_v<Optimizer, Opt>, "compile takes an nn::Optimizer");
    compile(std::move(loss), std::unique_ptr<Optimizer>(new Opt(std::move(optimizer))),
            std::move(metrics));
  }
  /// True after compile().
  bool compiled() const { return optimizer_ != nullptr; }
  /// The compiled optimizer (for schedules and saving). Throws std::logic_error before compile.
  Optimizer& optimizer();
  /// The compiled loss. Throws std::logic_error before compile.
  const Loss& loss() const;
  /// The loss of predictions `pred` against `target`, plus the layers' penalties: what fit()
  /// minimizes, for hand-written loops too. Throws std::logic_error before compile.
  Var compute_loss(const Var& pred, const Var& target) const;

  /// Trains on `train` (see FitOptions). Throws std::logic_error when not compiled,
  /// std::invalid_argument for a batch size of 0 or a bad split, and std::runtime_error naming
  /// the epoch and batch when the loss becomes NaN or infinite (the update of that batch is not
  /// applied, so the weights are those after the previous batch).
  History fit(const BatchSource& train, const FitOptions& options = {});
  /// Trains on the rows of `x` and `y`.
  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  /// Loss (with penalties) and, when compiled with it, accuracy over `data`, in evaluation
  /// mode under no-grad: {"loss", "accuracy"}.
  Logs evaluate(const BatchSource& data, std::size_t batch_size = 32);
  /// evaluate() on the rows of `x` and `y`.
  Logs evaluate(const Tensor& x, const Tensor& y, std::size_t batch_size = 32);
  /// Outputs for the rows of `x`, in evaluation mode under no-grad, `batch_size` rows at once.
  /// No rows give no rows: [0, features] gives [0, outputs].
  Tensor predict(const Tensor& x, std::size_t batch_size = 256);

  /// Asks fit() to stop after the current epoch (callbacks call it).
  void stop_training() { stop_requested_ = true; }
  /// True once stop_training() was called during the current fit().
  bool stop_requested() const { return stop_requested_; }

 private:
  Logs evaluate_indices(const BatchSource& data, const std::vector<std::size_t>& indices,
                        std::size_t batch_size);
  void require_compiled(const char* what) const;

  std::vector<std::unique_ptr<Module>> layers_;
  std::optional<Loss> loss_;
  std::unique_ptr<Optimizer> optimizer_;
  bool accuracy_ = false;
  bool stop_requested_ = false;
};

}  // namespace retrograd::nn
