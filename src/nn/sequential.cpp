#include "retrograd/nn/sequential.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "random.hpp"
#include "retrograd/engine.hpp"
#include "retrograd/ops.hpp"
#include "summary_table.hpp"

namespace retrograd::nn {

Sequential::Sequential() : Module("sequential") {}

Sequential& Sequential::add(std::unique_ptr<Module> layer) {
  if (!layer) throw std::invalid_argument("Sequential::add: null layer");
  if (compiled()) {
    throw std::logic_error(
        "Sequential::add: the model is already compiled; add every layer "
        "before compile() so that the optimizer sees its parameters");
  }
  if (layer->has_default_name()) layer->set_name(layer->name() + "_" + std::to_string(size()));
  layer->train(training());
  layers_.push_back(std::move(layer));
  return *this;
}

Module& Sequential::layer(std::size_t i) {
  if (i >= layers_.size()) {
    throw std::out_of_range("Sequential::layer: index " + std::to_string(i) +
                            " but the model has " + std::to_string(layers_.size()) + " layers");
  }
  return *layers_[i];
}

void Sequential::require_layers() const {
  if (layers_.empty()) {
    throw std::logic_error("Sequential '" + name() + "': the model has no layers; add() some");
  }
}

Var Sequential::forward(const Var& x) {
  require_layers();
  Var out = x;
  for (const auto& layer : layers_) out = layer->forward(out);
  return out;
}

Tensor Sequential::infer_tensor(const Tensor& x) const {
  require_layers();
  InferenceGuard inference;
  Tensor out = layers_.front()->infer_tensor(x);
  for (std::size_t i = 1; i < layers_.size(); ++i) out = layers_[i]->infer_tensor(out);
  return out;
}

std::vector<Module*> Sequential::children() {
  std::vector<Module*> out;
  for (const auto& layer : layers_) out.push_back(layer.get());
  return out;
}

void Sequential::set_input_shape(const Shape& sample) {
  for (std::size_t d : sample) {
    if (d == 0) {
      throw std::invalid_argument("Sequential::set_input_shape: shape " + shape_string(sample) +
                                  " has an empty dimension");
    }
  }
  input_shape_ = sample;
}

void Sequential::save_config(Record& config) const {
  if (!input_shape_.empty()) {
    config.set("input_shape", std::vector<std::uint64_t>(input_shape_.begin(), input_shape_.end()));
  }
}

std::unique_ptr<Sequential> Sequential::from_record(const LayerRecord& record) {
  auto model = std::make_unique<Sequential>();
  if (record.config.has("input_shape")) {
    // Only summaries and reshapes read it, but a corrupt one must not claim absurd sizes.
    const std::vector<std::uint64_t>& dims = record.config.integers("input_shape");
    if (dims.empty() || dims.size() > 3 ||
        std::any_of(dims.begin(), dims.end(),
                    [](std::uint64_t d) { return d == 0 || d > (1u << 20); })) {
      record.config.fail("input_shape must be 1 to 3 dimensions in [1, 2^20]");
    }
    model->set_input_shape(Shape(dims.begin(), dims.end()));
  }
  for (const LayerRecord& child : record.children) {
    model->add(build_layer(child));
    // After add(): a saved name equal to the default must not be renamed "<name>_<position>".
    model->layer(model->size() - 1).set_name(child.name);
  }
  return model;
}

void Sequential::train(bool on) {
  Module::train(on);
  for (const auto& layer : layers_) layer->train(on);
}

Shape Sequential::output_shape(const Shape& input) const {
  Shape shape = input;
  for (const auto& layer : layers_) shape = layer->output_shape(shape);
  return shape;
}

std::size_t Sequential::input_features() const {
  if (!input_shape_.empty()) return shape_size(input_shape_);
  return layers_.empty() ? 0 : layers_.front()->input_features();
}

Var Sequential::penalty() const {
  Var total;
  for (const auto& layer : layers_) {
    const Var p = layer->penalty();
    if (!p.defined()) continue;
    total = total.defined() ? total + p : p;
  }
  return total;
}

std::string Sequential::summary() const {
  const auto shape_text = [](const Shape& s) {
    std::string out = "(None";
    for (std::size_t d = 1; d < s.size(); ++d) out += ", " + (s[d] ? std::to_string(s[d]) : "?");
    return out + ")";
  };
  // label, output shape, parameter count
  std::vector<std::vector<std::string>> rows;
  Shape shape = {0, input_features()};
  if (!input_shape_.empty()) {
    shape.resize(input_shape_.size() + 1);
    std::copy(input_shape_.begin(), input_shape_.end(), shape.begin() + 1);
  }
  std::size_t trainable = 0, fixed = 0;
  for (const auto& layer : layers_) {
    shape = layer->output_shape(shape);
    const std::size_t params = layer->parameter_count();
    trainable += params;
    fixed += layer->buffer_count();
    rows.push_back(
        {layer->name() + " (" + layer->type() + ")", shape_text(shape), std::to_string(params)});
  }
  // Keras's column widths, at least.
  const detail::SummaryTable table(rows, {28, 26, 10});
  const std::string rule(table.width(), '_'), double_rule(table.width(), '=');
  std::ostringstream out;
  out << "Model: \"" << name() << "\"\n"
      << rule << "\n"
      << table.line({"Layer (type)", "Output Shape", "Param #"}) << double_rule << "\n";
  for (const auto& row : rows) out << table.line(row);
  out << double_rule << "\n"
      << "Total params: " << trainable + fixed << "\n"
      << "Trainable params: " << trainable << "\n"
      << "Non-trainable params: " << fixed << "\n"
      << rule << "\n";
  return out.str();
}

void Sequential::compile(Loss loss, std::unique_ptr<Optimizer> optimizer,
                         std::vector<std::string> metrics) {
  if (!optimizer) throw std::invalid_argument("Sequential::compile: null optimizer");
  bool accuracy = false;
  for (const std::string& m : metrics) {
    if (m != "accuracy" && m != "acc") {
      throw std::invalid_argument("Sequential::compile: unknown metric '" + m +
                                  "' (known: accuracy)");
    }
    accuracy = true;
  }
  optimizer->attach(parameters());
  loss_ = std::move(loss);
  optimizer_ = std::move(optimizer);
  accuracy_ = accuracy;
}

void Sequential::require_compiled(const char* what) const {
  if (!compiled()) {
    throw std::logic_error(std::string("Sequential::") + what +
                           ": the model is not compiled; call compile(loss, optimizer) first");
  }
}

Optimizer& Sequential::optimizer() {
  require_compiled("optimizer");
  return *optimizer_;
}

const Loss& Sequential::loss() const {
  require_compiled("loss");
  return *loss_;
}

Var Sequential::compute_loss(const Var& pred, const Var& target) const {
  require_compiled("compute_loss");
  Var total = (*loss_)(pred, target);
  const Var extra = penalty();
  return extra.defined() ? total + extra : total;
}

History Sequential::fit(const Tensor& x, const Tensor& y, const FitOptions& options) {
  return fit(TensorBatchSource(x, y), options);
}

History Sequential::fit(const BatchSource& train_data, const FitOptions& options) {
  require_compiled("fit");
  Trainer trainer(*this, *loss_, *optimizer_, options, accuracy_);
  return trainer.fit(train_data);
}

Logs Sequential::evaluate(const BatchSource& data, std::size_t batch_size) const {
  require_compiled("evaluate");
  return evaluate_model(*this, *loss_, accuracy_, data, retrograd::detail::iota(data.size()),
                        batch_size);
}

Logs Sequential::evaluate(const Tensor& x, const Tensor& y, std::size_t batch_size) const {
  return evaluate(TensorBatchSource(x, y), batch_size);
}

Tensor Sequential::predict(const Tensor& x, std::size_t batch_size) const {
  if (batch_size == 0) {
    throw std::invalid_argument("Sequential::predict: batch_size must be positive (got 0)");
  }
  if (x.dimension() < 2) {
    throw std::invalid_argument("Sequential::predict: x of shape " + shape_string(x.shape()) +
                                " must be [samples, features]");
  }
  const std::size_t n = x.shape()[0];
  if (n == 0) {
    // No row reaches forward(), which would have checked the width: check it here.
    const std::size_t inputs = input_features();
    if (inputs != 0 && x.shape()[1] != inputs) {
      throw std::invalid_argument("Sequential::predict: x of shape " + shape_string(x.shape()) +
                                  " but the model takes " + std::to_string(inputs) + " features");
    }
    return Tensor::from_shape(output_shape(x.shape()));
  }
  // One batch: x itself is the batch, and the model's output the result (no copies).
  if (n <= batch_size) return infer_tensor(x);
  const std::vector<std::size_t> indices = retrograd::detail::iota(n);
  Tensor x_in;
  Tensor result;
  for (std::size_t start = 0; start < n; start += batch_size) {
    const std::size_t count = std::min(batch_size, n - start);
    gather_rows(x, indices.data() + start, count, x_in);
    const Tensor pred = infer_tensor(x_in);
    if (start == 0) {
      Shape shape = pred.shape();
      shape[0] = n;
      result.resize(shape);
    }
    const std::size_t width = pred.size() / count;
    std::copy_n(pred.data(), pred.size(), result.data() + start * width);
  }
  return result;
}

Tensor Sequential::predict_proba(const Tensor& x, std::size_t batch_size) const {
  require_compiled("predict_proba");
  const std::string& loss = loss_->base_name();
  const bool rows =
      loss == "categorical_cross_entropy" || loss == "sparse_categorical_cross_entropy";
  if (!rows && loss != "binary_cross_entropy") {
    throw std::logic_error("Sequential::predict_proba: the model's loss " + loss_->name() +
                           " does not make its outputs class probabilities (categorical, sparse "
                           "categorical or binary cross-entropy do)");
  }
  Tensor outputs = predict(x, batch_size);
  // No rows: [0, outputs], as predict() gives (the ops refuse empty tensors).
  if (!loss_->from_logits() || outputs.size() == 0) return outputs;
  InferenceGuard inference;
  const Var logits(std::move(outputs));
  return (rows ? softmax(logits) : sigmoid(logits)).value();
}

}  // namespace retrograd::nn
