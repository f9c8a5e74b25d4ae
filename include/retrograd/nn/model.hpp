#pragma once
/// @file model.hpp
/// Functional models: a graph of layer calls and merges from inputs to outputs, as Keras's
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
///
/// Several inputs and outputs travel side by side in one row, so that a Model of any shape
/// is a Module of one input and one output to the Trainer, the batch sources, data-parallel
/// training and checkpoints: pack() lays the inputs' values side by side, forward() gives the
/// outputs' values side by side (unpack() takes them apart), and loss() weighs one loss per
/// output, reading each output's columns and its target's:
///
///     auto a = nn::Input({4}), b = nn::Input({3});
///     auto h = nn::concat({dense_a(a), dense_b(b)});
///     nn::Model m({a, b}, {classes(h), value(h)});
///     nn::Loss loss = m.loss({{nn::Loss::categorical_cross_entropy(true), 1.0},
///                             {nn::Loss::mse(), 0.5}});
///     // trains on rows m.pack({xa, xb}) against targets [one-hot classes, value] side by side

#include <memory>
#include <string>
#include <vector>

#include "retrograd/nn/layer_registry.hpp"
#include "retrograd/nn/loss.hpp"
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
/// The parts joined along the first axis of a sample: the features of rows, the channels of
/// feature maps ([c1, h, w] and [c2, h, w] make [c1 + c2, h, w], as DenseNet's and Inception's
/// blocks join theirs). Throws std::invalid_argument for fewer than two parts, or parts whose
/// ranks or other axes differ.
Symbol concat(const std::vector<Symbol>& parts);
/// The sample shape concat() gives for parts of these sample shapes (model files and ONNX
/// import check theirs with it). Throws std::invalid_argument, listing the shapes, for fewer
/// than two parts or parts that do not fit.
Shape concat_shape(const std::vector<Shape>& parts);

/// One step of a Model: an input, a layer call or a merge.
struct ModelStep {
  /// "input", "layer", "add", "multiply" or "concat".
  std::string kind;
  /// The layer called (an index into children()), for "layer"; the input's place among the
  /// model's inputs, for "input".
  std::size_t layer = 0;
  /// The steps it reads (earlier ones).
  std::vector<std::size_t> inputs;
  /// The shape of one sample of its value.
  Shape shape;
};

/// A graph of layer calls and merges (see the file comment).
class Model : public Module {
 public:
  /// The model computing `outputs` from `inputs`. Throws std::invalid_argument for no input or
  /// no output, an input listed twice or on which no output depends, or an output that depends
  /// on an nn::Input not listed. Layers keeping their default names are renamed "<name>_<i>"
  /// in the order they are first called.
  Model(std::vector<Symbol> inputs, std::vector<Symbol> outputs);

  /// The graph on `x`: [batch, sample shape] for one input, [batch, the inputs' values side
  /// by side] (pack()) for several; the outputs side by side as rows for several.
  Var forward(const Var& x) override;
  /// The inputs (each [batch, its sample shape]) side by side as one row per sample, as
  /// forward() takes them. Throws std::invalid_argument for a count or shape that differs.
  Tensor pack(const std::vector<Tensor>& inputs) const;
  /// forward()'s rows split back into one tensor per output, each [batch, its shape].
  std::vector<Tensor> unpack(const Tensor& outputs) const;
  /// The weighted sum of one loss per output, each reading its output's columns and as many
  /// target columns (one, class ids, for a sparse loss), for the Trainer. Throws
  /// std::invalid_argument unless there is one loss per output.
  Loss loss(const std::vector<std::pair<Loss, double>>& per_output) const;
  /// The shape of one sample of each input, in order.
  std::vector<Shape> input_shapes() const;
  /// The shape of one sample of each output, in order.
  std::vector<Shape> output_shapes() const;
  /// The steps that are the inputs, in order.
  const std::vector<std::size_t>& input_steps() const { return inputs_; }
  /// The steps that are the outputs, in order.
  const std::vector<std::size_t>& output_steps() const { return outputs_; }
  /// "Model".
  std::string type() const override { return "Model"; }
  /// The layers, each once, in the order they are first called: their parameters, buffers and
  /// engines are the model's (a shared layer's once), prefixed with the layer's name.
  std::vector<Module*> children() override;
  /// Sets every layer's mode.
  void train(bool on = true) override;
  /// [batch, output sample shape]; [batch, the outputs' values] for several outputs.
  Shape output_shape(const Shape& input) const override;
  /// The width of forward()'s rows: one input's features, or the inputs' values side by side;
  /// 0 for one input of images.
  std::size_t input_features() const override;
  /// Sum of the layers' penalties.
  Var penalty() const override;
  /// The graph: each step's kind, layer and inputs, and the output steps.
  void save_config(Record& config) const override;
  /// 2: the record lists the output steps and numbers the inputs (version 1 had one of each).
  std::int64_t config_version() const override { return 2; }
  /// The model a saved record describes.
  static std::unique_ptr<Model> from_record(const LayerRecord& record);
  /// A table of the steps: name and type, output shape, parameters and the steps it reads.
  std::string summary() const;
  /// The steps in order, each after the steps it reads (ONNX export walks them).
  const std::vector<ModelStep>& steps() const { return steps_; }

 private:
  Model(std::vector<ModelStep> steps, std::vector<std::shared_ptr<Module>> layers,
        std::vector<std::size_t> inputs, std::vector<std::size_t> outputs);
  // The sample shape forward() takes.
  Shape packed_input_shape() const;

  std::vector<ModelStep> steps_;
  std::vector<std::shared_ptr<Module>> layers_;
  std::vector<std::size_t> inputs_, outputs_;
};

RETROGRAD_REGISTER_LAYER(Model);

}  // namespace retrograd::nn
