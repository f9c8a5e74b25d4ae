#include "retrograd/nn/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "progress.hpp"
#include "random.hpp"
#include "retrograd/engine.hpp"
#include "retrograd/nn/init.hpp"
#include "retrograd/nn/metrics.hpp"
#include "retrograd/ops.hpp"

namespace retrograd::nn {

namespace {
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  std::ostringstream out;
  out << v;
  return out.str();
}

/// Sets a module's train/eval flag for a scope and restores it.
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

constexpr auto max_count = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::int64_t as_integer(std::size_t v) { return static_cast<std::int64_t>(v); }

std::string engine_text(const std::mt19937_64& engine) {
  // The standard fixes mt19937_64's textual state: it restores on any library.
  std::ostringstream out;
  out << engine;
  return out.str();
}

std::mt19937_64 engine_from(const Record& record, const std::string& key) {
  std::istringstream in(record.text(key));
  std::mt19937_64 engine;
  in >> engine;
  if (!in) record.fail("field '" + key + "' is not a random engine's state");
  return engine;
}
}  // namespace

void History::save(Record& record) const {
  record.set("loss", loss);
  record.set("accuracy", accuracy);
  record.set("val_loss", val_loss);
  record.set("val_accuracy", val_accuracy);
}

History History::load(const Record& record) {
  History h;
  h.loss = record.numbers("loss");
  h.accuracy = record.numbers("accuracy");
  h.val_loss = record.numbers("val_loss");
  h.val_accuracy = record.numbers("val_accuracy");
  return h;
}

void TrainState::save(Record& record) const {
  record.set("epochs", as_integer(epochs));
  record.set("batch_size", as_integer(batch_size));
  record.set("validation_split", validation_split);
  record.set("shuffle", std::int64_t{shuffle});
  record.set("seed", std::to_string(seed));
  record.set("epoch", as_integer(epoch));
  record.set("batch", as_integer(batch));
  record.set("step", std::to_string(step));
  record.set("order", std::vector<std::uint64_t>(order.begin(), order.end()));
  record.set("shuffle_engine", engine_text(shuffle_engine));
  record.set("loss_sum", loss_sum);
  record.set("correct", as_integer(correct));
  record.set("seen", as_integer(seen));
  Record h("history");
  history.save(h);
  record.set("history", nested(std::move(h)));
  record.set("stop_requested", std::int64_t{stop_requested});
  record.set("run_info", nested(run_info));
}

TrainState TrainState::load(const Record& record) {
  TrainState s;
  s.epochs = record.count("epochs", max_count);
  s.batch_size = record.count("batch_size", max_count);
  s.validation_split = record.number("validation_split");
  s.shuffle = record.flag("shuffle");
  try {
    s.seed = std::stoull(record.text("seed"));
    s.step = std::stoull(record.text("step"));
  } catch (const std::logic_error&) {
    record.fail("seed or step is not an unsigned integer");
  }
  s.epoch = record.count("epoch", max_count);
  s.batch = record.count("batch", max_count);
  const auto& order = record.integers("order");
  s.order.assign(order.begin(), order.end());
  s.shuffle_engine = engine_from(record, "shuffle_engine");
  s.loss_sum = record.number("loss_sum");
  s.correct = record.count("correct", max_count);
  s.seen = record.count("seen", max_count);
  s.history = History::load(record.record("history"));
  s.stop_requested = record.flag("stop_requested");
  s.run_info = record.record("run_info");
  return s;
}

Trainer::Trainer(Module& model, Loss loss, Optimizer& optimizer, FitOptions options,
                 bool accuracy)
    : model_(model),
      loss_(std::move(loss)),
      optimizer_(optimizer),
      options_(std::move(options)),
      accuracy_(accuracy) {
  if (options_.batch_size == 0) {
    throw std::invalid_argument("Trainer: batch_size must be positive (got 0)");
  }
  if (!(options_.validation_split >= 0 && options_.validation_split < 1)) {
    throw std::invalid_argument("Trainer: validation_split must be in [0, 1) (got " +
                                number(options_.validation_split) + ")");
  }
  if (optimizer_.parameters().empty()) optimizer_.attach(model_.parameters());
  state_.epochs = options_.epochs;
  state_.batch_size = options_.batch_size;
  state_.validation_split = options_.validation_split;
  state_.shuffle = options_.shuffle;
  state_.seed = options_.seed ? *options_.seed : default_engine()();
  state_.shuffle_engine.seed(state_.seed);
}

void Trainer::restore_state(TrainState state) {
  const auto differs = [](const char* what, const std::string& saved, const std::string& now) {
    throw std::invalid_argument("Trainer::restore_state: the saved run has " + std::string(what) +
                                " " + saved + ", this trainer " + now);
  };
  if (state.batch_size != state_.batch_size) {
    differs("batch_size", std::to_string(state.batch_size), std::to_string(state_.batch_size));
  }
  if (state.validation_split != state_.validation_split) {
    differs("validation_split", number(state.validation_split), number(state_.validation_split));
  }
  if (state.shuffle != state_.shuffle) {
    differs("shuffle", state.shuffle ? "on" : "off", state_.shuffle ? "on" : "off");
  }
  if (options_.seed && state.seed != *options_.seed) {
    differs("seed", std::to_string(state.seed), std::to_string(*options_.seed));
  }
  state.epochs = options_.epochs;
  state_ = std::move(state);
}

void Trainer::save_callbacks(Record& record) const {
  for (const Callback* c : options_.callbacks) {
    const std::string name = c->state_name();
    if (name.empty()) continue;
    if (record.has(name)) {
      throw std::invalid_argument("Trainer: two callbacks keep state under the name '" + name +
                                  "'");
    }
    Record state("callback '" + name + "'");
    c->save_state(state);
    record.set(name, nested(std::move(state)));
  }
}

void Trainer::restore_callbacks(const Record& record) {
  std::size_t restored = 0;
  for (Callback* c : options_.callbacks) {
    const std::string name = c->state_name();
    if (name.empty() || !record.has(name)) continue;
    c->load_state(record.record(name));
    ++restored;
  }
  if (restored != record.size()) {
    std::string names;
    for (const auto& [name, value] : record.fields()) names += (names.empty() ? "" : ", ") + name;
    record.fail("the saved run had callbacks with state " + names +
                "; give the restored run the same callbacks");
  }
}

Logs evaluate_model(const Module& model, const Loss& loss, bool accuracy, const BatchSource& data,
                    const std::vector<std::size_t>& indices, std::size_t batch_size) {
  if (batch_size == 0) {
    throw std::invalid_argument("evaluate: batch_size must be positive (got 0)");
  }
  if (indices.empty()) throw std::invalid_argument("evaluate: no samples");
  InferenceGuard inference;
  Var x_in{Tensor()}, y_in{Tensor()};
  double loss_sum = 0;
  std::size_t correct = 0;
  for (std::size_t start = 0; start < indices.size(); start += batch_size) {
    const std::size_t count = std::min(batch_size, indices.size() - start);
    data.fill_batch(indices.data() + start, count, x_in.value(), y_in.value());
    const Var pred = model.infer(x_in);
    Var total = loss(pred, y_in);
    const Var penalty = model.penalty();
    if (penalty.defined()) total = total + penalty;
    loss_sum += total.item() * count;
    if (accuracy) correct += count_correct(pred.value(), y_in.value(), loss.from_logits());
  }
  Logs logs{{"loss", loss_sum / indices.size()}};
  if (accuracy) logs["accuracy"] = static_cast<double>(correct) / indices.size();
  return logs;
}

History Trainer::fit(const BatchSource& train) {
  const FitOptions& o = options_;
  TrainState& s = state_;
  const std::size_t n = train.size();
  const std::size_t n_val =
      o.validation_data ? 0 : static_cast<std::size_t>(std::floor(n * o.validation_split));
  const std::size_t n_train = n - n_val;
  if (n_train == 0) {
    throw std::invalid_argument("Trainer::fit: no training samples (" + std::to_string(n) +
                                " samples, validation_split " + number(o.validation_split) + ")");
  }
  if (!s.order.empty() && s.order.size() != n_train) {
    throw std::invalid_argument("Trainer::fit: the restored run shuffled " +
                                std::to_string(s.order.size()) + " training samples, this data has " +
                                std::to_string(n_train));
  }
  batches_ = (n_train + o.batch_size - 1) / o.batch_size;
  if (s.batch > batches_) {
    throw std::invalid_argument("Trainer::fit: the restored run is at batch " +
                                std::to_string(s.batch) + " of an epoch of " +
                                std::to_string(batches_));
  }

  std::ostream& out = o.out ? *o.out : std::cout;
  const bool terminal = (o.out == nullptr || o.out == &std::cout) && isatty(STDOUT_FILENO);
  // The batch leaves live across steps: fill_batch writes into their values in place, and each
  // step's graph (which holds them) is freed by backward before the next fill.
  Var x_in{Tensor()}, y_in{Tensor()};
  Logs batch_logs;  // reused: after the first batch, assigning its entries allocates nothing
  ModeGuard mode(model_, true);
  for (Callback* c : o.callbacks) c->on_train_begin(*this);
  while (s.epoch < s.epochs && !s.stop_requested) {
    const std::size_t epoch = s.epoch;
    if (s.order.empty()) {
      for (Callback* c : o.callbacks) c->on_epoch_begin(*this, epoch);
      s.order = retrograd::detail::iota(n_train);
      if (o.shuffle) retrograd::detail::shuffle(s.order, s.shuffle_engine);
    }
    detail::Progress progress(out, o.verbose, terminal, epoch, s.epochs, batches_);
    Logs logs;
    const auto epoch_means = [&] {
      logs["loss"] = s.seen ? s.loss_sum / s.seen : NAN;
      if (accuracy_) logs["accuracy"] = s.seen ? static_cast<double>(s.correct) / s.seen : NAN;
    };
    for (std::size_t b = s.batch; b < batches_; ++b) {
      for (Callback* c : o.callbacks) c->on_batch_begin(*this, b);
      const std::size_t start = b * o.batch_size;
      const std::size_t count = std::min(o.batch_size, n_train - start);
      train.fill_batch(s.order.data() + start, count, x_in.value(), y_in.value());
      const Var pred = model_.forward(x_in);
      Var loss = loss_(pred, y_in);
      const Var penalty = model_.penalty();
      if (penalty.defined()) loss = loss + penalty;
      const double value = loss.item();
      if (!std::isfinite(value)) {
        progress.abort();
        throw std::runtime_error(
            "Trainer::fit: the loss is " + number(value) + " at epoch " +
            std::to_string(epoch + 1) + "/" + std::to_string(s.epochs) + ", batch " +
            std::to_string(b + 1) + "/" + std::to_string(batches_) +
            "; training stopped before that batch's update, so the weights are those after the "
            "previous batch (lower the learning rate, or check the data for NaN or inf)");
      }
      optimizer_.zero_grad();
      loss.backward();
      for (Callback* c : o.callbacks) c->on_after_backward(*this, b);
      optimizer_.step();

      batch_logs["loss"] = value;
      s.loss_sum += value * count;
      s.seen += count;
      if (accuracy_) {
        const std::size_t right = count_correct(pred.value(), y_in.value(), loss_.from_logits());
        s.correct += right;
        batch_logs["accuracy"] = static_cast<double>(right) / count;
      }
      s.batch = b + 1;
      ++s.step;
      epoch_means();
      for (Callback* c : o.callbacks) c->on_batch_end(*this, b, batch_logs);
      progress.update(b + 1, logs);
      for (Callback* c : o.callbacks) c->on_checkpoint(*this, false);
    }
    epoch_means();
    s.history.loss.push_back(logs["loss"]);
    if (accuracy_) s.history.accuracy.push_back(logs["accuracy"]);
    const Logs val = validate(train);
    if (!val.empty()) {
      logs["val_loss"] = val.at("loss");
      s.history.val_loss.push_back(logs["val_loss"]);
      if (accuracy_) {
        logs["val_accuracy"] = val.at("accuracy");
        s.history.val_accuracy.push_back(logs["val_accuracy"]);
      }
    }
    progress.finish(logs);
    for (Callback* c : o.callbacks) c->on_epoch_end(*this, epoch, logs);
    s.epoch = epoch + 1;
    s.batch = 0;
    s.order.clear();
    s.loss_sum = 0;
    s.correct = 0;
    s.seen = 0;
    for (Callback* c : o.callbacks) c->on_checkpoint(*this, true);
  }
  for (Callback* c : o.callbacks) c->on_train_end(*this);
  return s.history;
}

Logs Trainer::validate(const BatchSource& train) {
  const FitOptions& o = options_;
  if (o.validation_data) {
    if (o.validation_data->size() == 0) return {};
    return evaluate_model(model_, loss_, accuracy_, *o.validation_data,
                          retrograd::detail::iota(o.validation_data->size()), o.batch_size);
  }
  const std::size_t n = train.size();
  const std::size_t n_val = static_cast<std::size_t>(std::floor(n * o.validation_split));
  if (n_val == 0) return {};
  // Keras takes the validation split from the end, before any shuffling.
  std::vector<std::size_t> indices = retrograd::detail::iota(n_val);
  for (std::size_t& i : indices) i += n - n_val;
  return evaluate_model(model_, loss_, accuracy_, train, indices, o.batch_size);
}

}  // namespace retrograd::nn
