#pragma once
/// @file model.hpp
/// Functional models: a graph of layer calls and merges from an input to an output, as Keras's
/// functional API builds one.
///
///     auto x = nn::Input({784});
///     nn::Layer d1 = nn::Dense(784, 64, nn::Activation::relu());
///     nn::Layer d2 = nn::Dense(64, 64, nn::Activation::relu());
///     auto h = d1(x);
///     auto y = nn::add(d2(h), h);      // a residual connection
///     nn::Model model({x}, {y});
///
/// A Layer called twice is one layer (shared weights, gradients summed by backward). A Model
/// is a Module: it trains with nn::Trainer, saves and loads with io::save_model /
/// io::load_module (its graph in its record, every registered layer inside), and its weights
/// go to `.npz` like a Sequential's.

#include <memory>
#include <string>
#include <vector>

#include "retrograd/nn/layer_registry.hpp"
#include "retrograd/nn/module.hpp"

namespace retrograd::nn {

namespace detail {
struct SymbolNode;
}

/// A value of a functional model under construction: an input, a layer's output or a merge.
/// Its shape is per sample (the batch dimension left out).
class Symbol {
 public:
  /// The shape of one sample.
  const Shape& shape() const;
  /// The graph node (shared by every Symbol that refers to it).
  const std::shared_ptr<const detail::SymbolNode>& node() const { return node_; }
  /// A symbol for `node`.
  explicit Symbol(std::shared_ptr<const detail::SymbolNode> node) : node_(std::move(node)) {}

 private:
  std::shared_ptr<const detail::SymbolNode> node_;
};

/// A model input of per-sample shape `sample_shape` ({784}: rows of 784 features). Throws
/// std::invalid_argument for an empty shape or a zero dimension.
Symbol Input(Shape sample_shape);

/// A layer that functional models call: `nn::Layer dense = nn::Dense(3, 4); dense(x);`. Copies
/// share the one layer.
class Layer {
 public:
  /// Takes `layer` (moved in).
  template <class L, class = std::enable_if_t<std::is_base_of_v<Module, L>>>
  Layer(L layer) : module_(std::make_shared<L>(std::move(layer))) {}
  /// Shares `module`.
  explicit Layer(std::shared_ptr<Module> module);
  /// The layer applied to `x`. Throws std::invalid_argument when the layer does not take x's
  /// shape (its input_features() differ).
  Symbol operator()(const Symbol& x) const;
  /// The layer.
  Module& module() const { return *module_; }

 private:
  std::shared_ptr<Module> module_;
};

/// a + b, elementwise. Throws std::invalid_argument for different shapes.
Symbol add(const Symbol& a, const Symbol& b);
/// a * b, elementwise. Throws std::invalid_argument for different shapes.
Symbol multiply(const Symbol& a, const Symbol& b);
/// The parts side by side along the feature axis (rank-1 samples). Throws
/// std::invalid_argument for fewer than two parts or parts that are not rank 1.
Symbol concat(const std::vector<Symbol>& parts);

/// One step of a Model: its input, a layer call or a merge.
struct ModelStep {
  /// "input", "layer", "add", "multiply" or "concat".
  std::string kind;
  /// The layer called (an index into children()), for "layer".
  std::size_t layer = 0;
  /// The steps it reads (earlier ones).
  std::vector<std::size_t> inputs;
  /// The shape of one sample of its value.
  Shape shape;
};

/// A graph of layer calls and merges (see the file comment). This version takes one input and
/// one output.
class Model : public Module {
 public:
  /// The model computing `outputs` from `inputs`. Throws std::invalid_argument unless there is
  /// one of each, or when the output does not depend on the input alone (naming the other
  /// input it reaches). Layers keeping their default names are renamed "<name>_<i>" in the
  /// order they are first called.
  Model(std::vector<Symbol> inputs, std::vector<Symbol> outputs);

  /// The graph on `x` ([batch, features]).
  Var forward(const Var& x) override;
  /// "Model".
  std::string type() const override { return "Model"; }
  /// Every layer's parameters (a shared layer once), prefixed with its name.
  std::vector<NamedParameter<float>> named_parameters() const override;
  /// Every layer's buffers, prefixed with its name.
  std::vector<NamedBuffer<float>> named_buffers() override;
  /// Every layer's engines, prefixed with its name.
  std::vector<NamedEngine> named_engines() override;
  /// The layers, each once, in the order they are first called.
  std::vector<Module*> children() override;
  /// Sets every layer's mode.
  void train(bool on = true) override;
  /// [batch, output features] for [batch, input features].
  Shape output_shape(const Shape& input) const override;
  /// The input's width.
  std::size_t input_features() const override;
  /// Sum of the layers' penalties.
  Var penalty() const override;
  /// The graph: each step's kind, layer and inputs.
  void save_config(Record& config) const override;
  /// The model a saved record describes.
  static std::unique_ptr<Model> from_record(const LayerRecord& record);
  /// A table of the steps: name and type, output shape, parameters and the steps it reads.
  std::string summary() const;
  /// The steps in order, the input first and the output last (ONNX export walks them).
  const std::vector<ModelStep>& steps() const { return steps_; }

 private:
  Model(std::vector<ModelStep> steps, std::vector<std::shared_ptr<Module>> layers);

  std::vector<ModelStep> steps_;
  std::vector<std::shared_ptr<Module>> layers_;
};

RETROGRAD_REGISTER_LAYER(Model);

}  // namespace retrograd::nn
