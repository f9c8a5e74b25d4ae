#pragma once
/// @file sequential.hpp
/// `Sequential`: layers applied in order, with Keras's compile / fit / evaluate / predict.
/// fit() is the Trainer's loop (trainer.hpp); the model keeps only the loss, optimizer and
/// metric given to compile(). evaluate() and predict() are const: many threads may run them on
/// one model at once.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "retrograd/nn/batch_source.hpp"
#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/layer_registry.hpp"
#include "retrograd/nn/loss.hpp"
#include "retrograd/nn/module.hpp"
#include "retrograd/nn/optimizer.hpp"
#include "retrograd/nn/trainer.hpp"

namespace retrograd::nn {

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
  /// Each layer's infer_tensor() in turn, under one InferenceGuard. Throws std::logic_error for
  /// a model with no layers.
  Tensor infer_tensor(const Tensor& x) const override;
  /// "Sequential".
  std::string type() const override { return "Sequential"; }
  /// Sets the mode of every layer.
  void train(bool on = true) override;
  /// The layers' output shapes in turn.
  Shape output_shape(const Shape& input) const override;
  /// The number of values in input_shape() when set, else the first layer's.
  std::size_t input_features() const override;
  /// Sum of the layers' penalties (empty Var when none has one).
  Var penalty() const override;
  /// The layers: their parameters, buffers and engines are the model's, prefixed with each
  /// layer's name ("dense_0.W").
  std::vector<Module*> children() override;
  /// A model of the saved layers (their records are its children).
  static std::unique_ptr<Sequential> from_record(const LayerRecord& record);

  /// Names of the output classes, in order (saved with the model; empty when not set).
  const std::vector<std::string>& class_names() const { return class_names_; }
  /// Sets the class names.
  void set_class_names(std::vector<std::string> names) { class_names_ = std::move(names); }

  /// The shape of one input sample ({1, 28, 28} for images; saved with the model), or {} when
  /// not set: then the first layer's input_features() stands for it.
  const Shape& input_shape() const { return input_shape_; }
  /// Sets the shape of one input sample. Throws std::invalid_argument for a 0 dimension.
  void set_input_shape(const Shape& sample);
  /// The input shape, when set.
  void save_config(Record& config) const override;

  /// A Keras-like table: each layer's name and type, output shape and parameter count, then the
  /// totals. Shapes start from input_shape() (`(None, 32, 14, 14)` after a convolution).
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
  /// True when compiled with the "accuracy" metric.
  bool measures_accuracy() const { return accuracy_; }
  /// The compiled optimizer (for schedules and saving). Throws std::logic_error before compile.
  Optimizer& optimizer();
  /// The compiled loss. Throws std::logic_error before compile.
  const Loss& loss() const;
  /// The loss of predictions `pred` against `target`, plus the layers' penalties: what fit()
  /// minimizes, for hand-written loops too. Throws std::logic_error before compile.
  Var compute_loss(const Var& pred, const Var& target) const;

  /// Trains on `train` with a Trainer (see FitOptions). Throws std::logic_error when not
  /// compiled, std::invalid_argument for a batch size of 0 or a bad split, and
  /// std::runtime_error naming the epoch and batch when the loss becomes NaN or infinite (the
  /// update of that batch is not applied, so the weights are those after the previous batch).
  History fit(const BatchSource& train, const FitOptions& options = {});
  /// Trains on the rows of `x` and `y`.
  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  /// Loss (with penalties) and, when compiled with it, accuracy over `data`, in evaluation
  /// mode under no-grad: {"loss", "accuracy"}.
  Logs evaluate(const BatchSource& data, std::size_t batch_size = 32) const;
  /// evaluate() on the rows of `x` and `y`.
  Logs evaluate(const Tensor& x, const Tensor& y, std::size_t batch_size = 32) const;
  /// Outputs for the rows of `x` ([samples, features]; 0 samples give [0, outputs]), in
  /// evaluation mode under no-grad, `batch_size` rows at once.
  Tensor predict(const Tensor& x, std::size_t batch_size = 256) const;
  /// Class probabilities for the rows of `x`: predict() through the output function that the
  /// compiled loss fuses with the logits. Categorical and sparse categorical cross-entropy from
  /// logits: the softmax of each row ([n, classes], rows summing to 1). Binary cross-entropy
  /// from logits: the sigmoid of each output, independently (a single-output model gives
  /// P(class 1) per row, [n, 1]). A loss on probabilities (from_logits false) means the model
  /// outputs them already: predict() unchanged. No rows give [0, outputs]. Throws
  /// std::logic_error when the model is not compiled or its loss is none of these three (mse:
  /// its outputs are not probabilities).
  Tensor predict_proba(const Tensor& x, std::size_t batch_size = 256) const;

 private:
  void require_compiled(const char* what) const;
  void require_layers() const;

  std::vector<std::unique_ptr<Module>> layers_;
  std::optional<Loss> loss_;
  std::unique_ptr<Optimizer> optimizer_;
  bool accuracy_ = false;
  std::vector<std::string> class_names_;
  Shape input_shape_;
};

RETROGRAD_REGISTER_LAYER(Sequential);

}  // namespace retrograd::nn
