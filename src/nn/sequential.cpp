#include "retrograd/nn/sequential.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "progress.hpp"
#include "retrograd/engine.hpp"
#include "retrograd/nn/init.hpp"
#include "retrograd/nn/metrics.hpp"
#include "retrograd/ops.hpp"

namespace retrograd::nn {

namespace {
/// Restores a module's train/eval mode when leaving a scope.
class ModeGuard {
 public:
  ModeGuard(Module& module, bool training) : module_(module), previous_(module.training()) {
    module_.train(training);
  }
  ~ModeGuard() { module_.train(previous_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  Module& module_;
  bool previous_;
};

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  std::ostringstream out;
  out << v;
  return out.str();
}
}  // namespace

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

Var Sequential::forward(const Var& x) {
  if (layers_.empty()) {
    throw std::logic_error("Sequential '" + name() + "': the model has no layers; add() some");
  }
  Var out = x;
  for (const auto& layer : layers_) out = layer->forward(out);
  return out;
}

std::vector<NamedParameter<float>> Sequential::named_parameters() const {
  std::vector<NamedParameter<float>> out;
  for (const auto& layer : layers_) {
    for (NamedParameter<float>& p : layer->named_parameters()) {
      out.push_back({layer->name() + "." + p.name, std::move(p.var)});
    }
  }
  return out;
}

std::vector<NamedBuffer<float>> Sequential::named_buffers() {
  std::vector<NamedBuffer<float>> out;
  for (const auto& layer : layers_) {
    for (const NamedBuffer<float>& b : layer->named_buffers()) {
      out.push_back({layer->name() + "." + b.name, b.tensor});
    }
  }
  return out;
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
  std::ostringstream out;
  const std::string rule(65, '_'), double_rule(65, '=');
  char row[128];
  out << "Model: \"" << name() << "\"\n" << rule << "\n";
  std::snprintf(row, sizeof row, " %-28s%-26s%s\n", "Layer (type)", "Output Shape", "Param #");
  out << row << double_rule << "\n";
  Shape shape = {0, input_features()};
  std::size_t trainable = 0, fixed = 0;
  for (const auto& layer : layers_) {
    shape = layer->output_shape(shape);
    const std::size_t params = layer->parameter_count();
    trainable += params;
    fixed += layer->buffer_count();
    const std::string label = layer->name() + " (" + layer->type() + ")";
    std::snprintf(row, sizeof row, " %-28s%-26s%zu\n", label.c_str(), shape_text(shape).c_str(),
                  params);
    out << row;
  }
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
  if (x.dimension() == 0 || y.dimension() == 0 || x.shape()[0] != y.shape()[0]) {
    throw std::invalid_argument("Sequential::fit: x of shape " + shape_string(x.shape()) +
                                " and y of shape " + shape_string(y.shape()) +
                                " must have the same number of rows (one per sample)");
  }
  return fit(TensorBatchSource(x, y), options);
}

History Sequential::fit(const BatchSource& train_data, const FitOptions& o) {
  require_compiled("fit");
  if (o.batch_size == 0) {
    throw std::invalid_argument("Sequential::fit: batch_size must be positive (got 0)");
  }
  if (!(o.validation_split >= 0 && o.validation_split < 1)) {
    throw std::invalid_argument("Sequential::fit: validation_split must be in [0, 1) (got " +
                                number(o.validation_split) + ")");
  }
  const std::size_t n = train_data.size();
  const std::size_t n_val =
      o.validation_data ? 0 : static_cast<std::size_t>(std::floor(n * o.validation_split));
  const std::size_t n_train = n - n_val;
  if (n_train == 0) {
    throw std::invalid_argument("Sequential::fit: no training samples (" + std::to_string(n) +
                                " samples, validation_split " + number(o.validation_split) + ")");
  }
  // Keras takes the validation split from the end, before any shuffling.
  std::vector<std::size_t> order(n_train), val_order(n_val);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::iota(val_order.begin(), val_order.end(), n_train);
  std::vector<std::size_t> external_val;
  if (o.validation_data) {
    external_val.resize(o.validation_data->size());
    std::iota(external_val.begin(), external_val.end(), std::size_t{0});
  }
  const BatchSource* val_source = o.validation_data ? o.validation_data : &train_data;
  const std::vector<std::size_t>& val_indices = o.validation_data ? external_val : val_order;
  const bool validate = !val_indices.empty();

  Engine engine(o.seed ? *o.seed : default_engine()());
  std::ostream& out = o.out ? *o.out : std::cout;
  const bool terminal = (o.out == nullptr || o.out == &std::cout) && isatty(STDOUT_FILENO);
  const std::size_t batches = (n_train + o.batch_size - 1) / o.batch_size;

  // The batch leaves live across steps: fill_batch writes into their values in place, and each
  // step's graph (which holds them) is freed by backward before the next fill.
  Var x_in{Tensor()}, y_in{Tensor()};
  History history;
  Logs batch_logs;  // reused: after the first batch, assigning its entries allocates nothing
  stop_requested_ = false;
  ModeGuard mode(*this, true);
  for (Callback* c : o.callbacks) c->on_train_begin(*this);
  for (std::size_t epoch = 0; epoch < o.epochs && !stop_requested_; ++epoch) {
    for (Callback* c : o.callbacks) c->on_epoch_begin(*this, epoch);
    if (o.shuffle) std::shuffle(order.begin(), order.end(), engine);
    detail::Progress progress(out, o.verbose, terminal, epoch, o.epochs, batches);
    double loss_sum = 0;
    std::size_t correct = 0, seen = 0;
    Logs logs;
    for (std::size_t b = 0; b < batches; ++b) {
      const std::size_t start = b * o.batch_size;
      const std::size_t count = std::min(o.batch_size, n_train - start);
      train_data.fill_batch(order.data() + start, count, x_in.value(), y_in.value());
      const Var pred = forward(x_in);
      const Var loss = compute_loss(pred, y_in);
      const double value = loss.item();
      if (!std::isfinite(value)) {
        progress.abort();
        throw std::runtime_error(
            "Sequential::fit: the loss is " + number(value) + " at epoch " +
            std::to_string(epoch + 1) + "/" + std::to_string(o.epochs) + ", batch " +
            std::to_string(b + 1) + "/" + std::to_string(batches) +
            "; training stopped before that batch's update, so the weights are those after the "
            "previous batch (lower the learning rate, or check the data for NaN or inf)");
      }
      optimizer_->zero_grad();
      loss.backward();
      optimizer_->step();

      batch_logs["loss"] = value;
      loss_sum += value * count;
      seen += count;
      logs["loss"] = loss_sum / seen;
      if (accuracy_) {
        const std::size_t right = count_correct(pred.value(), y_in.value(), loss_->from_logits());
        correct += right;
        batch_logs["accuracy"] = static_cast<double>(right) / count;
        logs["accuracy"] = static_cast<double>(correct) / seen;
      }
      for (Callback* c : o.callbacks) c->on_batch_end(*this, b, batch_logs);
      progress.update(b + 1, logs);
    }
    history.loss.push_back(logs["loss"]);
    if (accuracy_) history.accuracy.push_back(logs["accuracy"]);
    if (validate) {
      const Logs val = evaluate_indices(*val_source, val_indices, o.batch_size);
      logs["val_loss"] = val.at("loss");
      history.val_loss.push_back(logs["val_loss"]);
      if (accuracy_) {
        logs["val_accuracy"] = val.at("accuracy");
        history.val_accuracy.push_back(logs["val_accuracy"]);
      }
    }
    progress.finish(logs);
    for (Callback* c : o.callbacks) c->on_epoch_end(*this, epoch, logs);
  }
  for (Callback* c : o.callbacks) c->on_train_end(*this);
  return history;
}

Logs Sequential::evaluate_indices(const BatchSource& data, const std::vector<std::size_t>& indices,
                                  std::size_t batch_size) {
  require_compiled("evaluate");
  if (batch_size == 0) {
    throw std::invalid_argument("Sequential::evaluate: batch_size must be positive (got 0)");
  }
  if (indices.empty()) throw std::invalid_argument("Sequential::evaluate: no samples");
  NoGradGuard no_grad;
  ModeGuard mode(*this, false);
  Var x_in{Tensor()}, y_in{Tensor()};
  double loss_sum = 0;
  std::size_t correct = 0;
  for (std::size_t start = 0; start < indices.size(); start += batch_size) {
    const std::size_t count = std::min(batch_size, indices.size() - start);
    data.fill_batch(indices.data() + start, count, x_in.value(), y_in.value());
    const Var pred = forward(x_in);
    loss_sum += compute_loss(pred, y_in).item() * count;
    if (accuracy_) correct += count_correct(pred.value(), y_in.value(), loss_->from_logits());
  }
  Logs logs{{"loss", loss_sum / indices.size()}};
  if (accuracy_) logs["accuracy"] = static_cast<double>(correct) / indices.size();
  return logs;
}

Logs Sequential::evaluate(const BatchSource& data, std::size_t batch_size) {
  std::vector<std::size_t> indices(data.size());
  std::iota(indices.begin(), indices.end(), std::size_t{0});
  return evaluate_indices(data, indices, batch_size);
}

Logs Sequential::evaluate(const Tensor& x, const Tensor& y, std::size_t batch_size) {
  if (x.dimension() == 0 || y.dimension() == 0 || x.shape()[0] != y.shape()[0]) {
    throw std::invalid_argument("Sequential::evaluate: x of shape " + shape_string(x.shape()) +
                                " and y of shape " + shape_string(y.shape()) +
                                " must have the same number of rows (one per sample)");
  }
  return evaluate(TensorBatchSource(x, y), batch_size);
}

Tensor Sequential::predict(const Tensor& x, std::size_t batch_size) {
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
                                  " but the model takes " + std::to_string(inputs) +
                                  " features");
    }
    return Tensor::from_shape(output_shape(x.shape()));
  }
  NoGradGuard no_grad;
  ModeGuard mode(*this, false);
  std::vector<std::size_t> indices(n);
  std::iota(indices.begin(), indices.end(), std::size_t{0});
  Var x_in{Tensor()};
  Tensor result;
  for (std::size_t start = 0; start < n; start += batch_size) {
    const std::size_t count = std::min(batch_size, n - start);
    gather_rows(x, indices.data() + start, count, x_in.value());
    const Var pred = forward(x_in);
    if (start == 0) {
      Shape shape = pred.shape();
      shape[0] = n;
      result.resize(shape);
    }
    const std::size_t width = pred.size() / count;
    std::copy_n(pred.value().data(), pred.size(), result.data() + start * width);
  }
  return result;
}

}  // namespace retrograd::nn
