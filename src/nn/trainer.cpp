#include "retrograd/nn/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "finite.hpp"
#include "progress.hpp"
#include "random.hpp"
#include "retrograd/anomaly.hpp"
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

/// The group of a run without FitOptions::shards: this process alone. It keeps no state, so
/// one object serves every trainer on every thread.
class Alone final : public ShardGroup {
 public:
  std::size_t rank() const override { return 0; }
  std::size_t size() const override { return 1; }
  void sum(double* /*values*/, std::size_t /*count*/) override {}
};

Alone alone;

constexpr auto max_count = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

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
  record.set_count("epochs", epochs);
  record.set_count("batch_size", batch_size);
  record.set("validation_split", validation_split);
  record.set("shuffle", std::int64_t{shuffle});
  record.set("seed", std::to_string(seed));
  record.set_count("epoch", epoch);
  record.set_count("batch", batch);
  record.set("step", std::to_string(step));
  record.set("order", std::vector<std::uint64_t>(order.begin(), order.end()));
  record.set("shuffle_engine", engine_text(shuffle_engine));
  record.set("loss_sum", loss_sum);
  record.set_count("correct", correct);
  record.set_count("seen", seen);
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

Trainer::Trainer(Module& model, Loss loss, Optimizer& optimizer, FitOptions options, bool accuracy)
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
  if (options_.shards && options_.shards->size() == 0) {
    throw std::invalid_argument("Trainer: the shard group has no process (size 0)");
  }
  if (optimizer_.parameters().empty()) optimizer_.attach(model_.parameters());
  if (options_.shards) callbacks_.push_back(options_.shards);
  group_ = options_.shards ? options_.shards : &alone;
  callbacks_.insert(callbacks_.end(), options_.callbacks.begin(), options_.callbacks.end());
  state_.epochs = options_.epochs;
  state_.batch_size = options_.batch_size;
  state_.validation_split = options_.validation_split;
  state_.shuffle = options_.shuffle;
  state_.seed = options_.seed ? *options_.seed : default_engine()();
  state_.shuffle_engine.seed(state_.seed);
}

void Trainer::restore_state(TrainState state) {
  check_restorable(state);
  state.epochs = options_.epochs;
  state_ = std::move(state);
}

void Trainer::check_restorable(const TrainState& state) const {
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
}

void Trainer::save_callbacks(Record& record) const {
  for (const Callback* c : callbacks_) {
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

std::string Trainer::callbacks_differ(const Record& record) const {
  std::string saved, here;
  bool differ = false;
  for (const auto& field : record.fields()) {
    const std::string& name = field.first;
    saved += (saved.empty() ? "" : ", ") + name;
    differ |= std::none_of(callbacks_.begin(), callbacks_.end(),
                           [&](const Callback* c) { return c->state_name() == name; });
  }
  for (const Callback* c : callbacks_) {
    const std::string name = c->state_name();
    if (name.empty()) continue;
    here += (here.empty() ? "" : ", ") + name;
  }
  if (!differ) return "";
  return "was saved by a run with the callbacks that keep state " +
         (saved.empty() ? std::string("(none)") : saved) + ", this run has " +
         (here.empty() ? std::string("none") : here) + ": give the restored run the same callbacks";
}

void Trainer::restore_callbacks(const Record& record) {
  const std::string differ = callbacks_differ(record);
  if (!differ.empty())
    throw std::invalid_argument("Trainer::restore_callbacks: the state " + differ);
  for (Callback* c : callbacks_) {
    const std::string name = c->state_name();
    if (!name.empty()) c->load_state(record.record(name));
  }
}

namespace {
struct EvaluationSums {
  double loss = 0;
  std::size_t correct = 0;
};

EvaluationSums evaluation_sums(const Module& model, const Loss& loss, bool accuracy,
                               const BatchSource& data, const std::size_t* indices,
                               std::size_t count, std::size_t batch_size) {
  InferenceGuard inference;
  Var x_in{Tensor()}, y_in{Tensor()};
  EvaluationSums sums;
  for (std::size_t start = 0; start < count; start += batch_size) {
    const std::size_t n = std::min(batch_size, count - start);
    data.fill_batch(indices + start, n, x_in.value(), y_in.value());
    const Var pred = model.infer(x_in);
    Var total = loss(pred, y_in);
    const Var penalty = model.penalty();
    if (penalty.defined()) total = total + penalty;
    sums.loss += total.item() * n;
    if (accuracy) sums.correct += count_correct(pred.value(), y_in.value(), loss.from_logits());
  }
  return sums;
}

/// The first parameter that holds a NaN or an infinity, or null.
const NamedParameter<float>* first_non_finite(
    const std::vector<NamedParameter<float>>& parameters) {
  for (const NamedParameter<float>& p : parameters) {
    if (!detail::all_finite(p.var.value().data(), p.var.value().size())) return &p;
  }
  return nullptr;
}

/// The error for parameter `name` whose `value` holds a NaN or an infinity `when` ("when fit
/// began"); `undone` says what became of the step.
std::runtime_error non_finite_parameter(const std::string& name, const Tensor& value,
                                        const std::string& when, const std::string& undone) {
  std::size_t i = 0;
  while (std::isfinite(value.data()[i])) ++i;
  return std::runtime_error(
      "Trainer::fit: parameter " + name + " (shape " + shape_string(value.shape()) + ") holds " +
      number(value.data()[i]) + " at " + index_string(i, value.shape()) + " " + when +
      "; training stopped" + undone +
      " (lower the learning rate, check the data for NaN or inf, or find the op that made it "
      "with a DetectAnomalyGuard or retrograd train --detect-anomaly)");
}

/// What a training step changes besides the parameters and the optimizer (which refuses a
/// non-finite step itself): the buffers (BatchNorm's running statistics, updated by the
/// forward pass) and the random engines (Dropout's masks). Copied before each step into
/// tensors kept across steps, so that a failed step is undone whole; nothing is allocated
/// after the first step, and a model without buffers or engines copies nothing.
class StepUndo {
 public:
  explicit StepUndo(Module& model)
      : buffers_(model.named_buffers()),
        engines_(model.named_engines()),
        saved_buffers_(buffers_.size()),
        saved_engines_(engines_.size()) {}
  void save() {
    for (std::size_t i = 0; i < buffers_.size(); ++i) saved_buffers_[i] = *buffers_[i].tensor;
    for (std::size_t i = 0; i < engines_.size(); ++i) saved_engines_[i] = *engines_[i].engine;
  }
  void undo() {
    for (std::size_t i = 0; i < buffers_.size(); ++i) *buffers_[i].tensor = saved_buffers_[i];
    for (std::size_t i = 0; i < engines_.size(); ++i) *engines_[i].engine = saved_engines_[i];
  }

 private:
  std::vector<NamedBuffer<float>> buffers_;
  std::vector<NamedEngine> engines_;
  std::vector<Tensor> saved_buffers_;
  std::vector<std::mt19937_64> saved_engines_;
};

/// Shard 0's `values` on every shard (the others add zeros).
std::vector<double> values_of_first_shard(ShardGroup& group, std::vector<double> values) {
  if (group.rank() != 0) std::fill(values.begin(), values.end(), 0.0);
  group.sum(values.data(), values.size());
  return values;
}
}  // namespace

Logs evaluate_model(const Module& model, const Loss& loss, bool accuracy, const BatchSource& data,
                    const std::vector<std::size_t>& indices, std::size_t batch_size) {
  if (batch_size == 0) {
    throw std::invalid_argument("evaluate: batch_size must be positive (got 0)");
  }
  if (indices.empty()) throw std::invalid_argument("evaluate: no samples");
  const EvaluationSums sums =
      evaluation_sums(model, loss, accuracy, data, indices.data(), indices.size(), batch_size);
  Logs logs{{"loss", sums.loss / indices.size()}};
  if (accuracy) logs["accuracy"] = static_cast<double>(sums.correct) / indices.size();
  return logs;
}

void Trainer::agree_with_shards(std::size_t n_train) {
  ShardGroup& group = *options_.shards;
  TrainState& s = state_;
  // Shard 0's seed in 16-bit pieces: each is exact in a double, whatever the seed.
  if (s.fresh() && !options_.seed) {
    std::vector<double> pieces(4);
    for (std::size_t i = 0; i < 4; ++i) {
      pieces[i] = static_cast<double>((s.seed >> (16 * i)) & 0xffff);
    }
    pieces = values_of_first_shard(group, std::move(pieces));
    s.seed = 0;
    for (std::size_t i = 0; i < 4; ++i) s.seed |= static_cast<std::uint64_t>(pieces[i]) << (16 * i);
    s.shuffle_engine.seed(s.seed);
  }
  // Every shard must walk the same batches: the same data size, plan and position.
  const std::vector<std::pair<const char*, double>> mine = {
      {"training samples", static_cast<double>(n_train)},
      {"batch_size", static_cast<double>(s.batch_size)},
      {"epochs", static_cast<double>(s.epochs)},
      {"shuffle", s.shuffle ? 1.0 : 0.0},
      {"epoch", static_cast<double>(s.epoch)},
      {"batch", static_cast<double>(s.batch)},
      {"step", static_cast<double>(s.step)},
      {"seed's low 32 bits", static_cast<double>(s.seed & 0xffffffff)},
      {"seed's high 32 bits", static_cast<double>(s.seed >> 32)}};
  std::vector<double> values;
  for (const auto& [what, value] : mine) values.push_back(value);
  const std::vector<double> first = values_of_first_shard(group, values);
  std::string difference;
  for (std::size_t i = 0; i < mine.size() && difference.empty(); ++i) {
    if (first[i] != values[i]) {
      const auto text = [](double v) { return std::to_string(static_cast<std::uint64_t>(v)); };
      difference = std::string(mine[i].first) + " is " + text(values[i]) + " on shard " +
                   std::to_string(group.rank()) + " and " + text(first[i]) + " on shard 0";
    }
  }
  double differing = difference.empty() ? 0 : 1;
  group.sum(&differing, 1);
  if (differing > 0) {
    throw std::invalid_argument(
        "Trainer::fit: the " + std::to_string(group.size()) +
        " processes of the data-parallel group do not train alike: " +
        (difference.empty() ? std::string("another shard differs from shard 0") : difference) +
        " (give every process the same data and options, and resume every one from the same "
        "checkpoint)");
  }
}

std::size_t Trainer::plan_batches(const BatchSource& train) {
  const FitOptions& o = options_;
  const TrainState& s = state_;
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
                                std::to_string(s.order.size()) +
                                " training samples, this data has " + std::to_string(n_train));
  }
  batches_ = (n_train + o.batch_size - 1) / o.batch_size;
  if (s.batch > batches_) {
    throw std::invalid_argument("Trainer::fit: the restored run is at batch " +
                                std::to_string(s.batch) + " of an epoch of " +
                                std::to_string(batches_));
  }

  if (o.shards) agree_with_shards(n_train);
  return n_train;
}

History Trainer::fit(const BatchSource& train) {
  const FitOptions& o = options_;
  TrainState& s = state_;
  const std::size_t n_train = plan_batches(train);
  ShardGroup& group = *group_;
  const int verbose = group.rank() == 0 ? o.verbose : 0;
  std::ostream& out = o.out ? *o.out : std::cout;
  const bool terminal = (o.out == nullptr || o.out == &std::cout) && isatty(STDOUT_FILENO);
  // The batch leaves live across steps: fill_batch writes into their values in place, and each
  // step's graph (which holds them) is freed by backward before the next fill.
  Var x_in{Tensor()}, y_in{Tensor()};
  Logs batch_logs;  // reused: after the first batch, assigning its entries allocates nothing
  ModeGuard mode(model_, true);
  for (Callback* c : callbacks_) c->on_train_begin(*this);
  // Checked after on_train_begin: a data-parallel group has given every process shard 0's
  // weights by then, so every process stops at the same check.
  const std::vector<NamedParameter<float>> parameters = model_.named_parameters();
  if (const NamedParameter<float>* bad = first_non_finite(parameters)) {
    throw non_finite_parameter(bad->name, bad->var.value(), "when fit began", "");
  }
  StepUndo undo(model_);
  const auto position = [&](std::size_t epoch, std::size_t batch) {
    return "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(s.epochs) + ", batch " +
           std::to_string(batch + 1) + "/" + std::to_string(batches_);
  };
  // Anomaly mode's errors name the step; the text is made only when one is reported.
  const AnomalyContext anomaly_context([&] {
    if (s.batch < batches_) {
      return "training " + position(s.epoch, s.batch) + " (step " + std::to_string(s.step + 1) +
             ")";
    }
    return "validation after epoch " + std::to_string(s.epoch + 1) + "/" + std::to_string(s.epochs);
  });
  while (s.epoch < s.epochs && !s.stop_requested) {
    const std::size_t epoch = s.epoch;
    if (s.order.empty()) {
      for (Callback* c : callbacks_) c->on_epoch_begin(*this, epoch);
      s.order = retrograd::detail::iota(n_train);
      if (o.shuffle) retrograd::detail::shuffle(s.order, s.shuffle_engine);
    }
    detail::Progress progress(out, verbose, terminal, epoch, s.epochs, batches_);
    Logs logs;
    const auto epoch_means = [&] {
      logs["loss"] = s.seen ? s.loss_sum / s.seen : NAN;
      if (accuracy_) logs["accuracy"] = s.seen ? static_cast<double>(s.correct) / s.seen : NAN;
    };
    for (std::size_t b = s.batch; b < batches_; ++b) {
      const auto require_finite = [&](double value) {
        if (std::isfinite(value)) return;
        undo.undo();
        progress.abort();
        throw std::runtime_error(
            "Trainer::fit: the loss is " + number(value) + " at " + position(epoch, b) +
            "; training stopped before that batch's update, so the weights are those after "
            "the previous batch, and so are the buffers and the optimizer state (lower the "
            "learning rate, or check the data for NaN or inf)");
      };
      undo.save();
      for (Callback* c : callbacks_) c->on_batch_begin(*this, b);
      // This shard's loss sum, correct predictions and samples; the batch's after the sum.
      double totals[3] = {0, 0, 0};
      const Var loss = forward_share(train, n_train, b, x_in, y_in, totals);
      // One process stops before a NaN reaches the gradients; a group stops after the sum
      // below, at the same batch on every process.
      if (!o.shards) require_finite(totals[0] / totals[2]);
      optimizer_.zero_grad();
      const std::size_t count = std::min(o.batch_size, n_train - b * o.batch_size);
      if (loss.defined()) backward_share(loss, static_cast<std::size_t>(totals[2]), count);
      for (Callback* c : callbacks_) c->on_after_backward(*this, b);
      group.sum(totals, 3);
      const double value = totals[0] / totals[2];
      require_finite(value);
      if (const std::optional<std::size_t> bad = group.step(optimizer_)) {
        undo.undo();
        progress.abort();
        const Var& rejected = optimizer_.parameters()[*bad];
        std::string name = "#" + std::to_string(*bad);
        for (const NamedParameter<float>& p : parameters) {
          if (p.var.node() == rejected.node()) name = p.name;
        }
        throw non_finite_parameter(
            name, optimizer_.rejected_value(*bad),
            "after the update of " + position(epoch, b) + " (step " + std::to_string(s.step + 1) +
                ")",
            "; that step was undone: the parameters, buffers and optimizer state are those "
            "after step " +
                std::to_string(s.step));
      }

      batch_logs["loss"] = value;
      s.loss_sum += totals[0];
      s.seen += count;
      if (accuracy_) {
        const auto right = static_cast<std::size_t>(totals[1]);
        s.correct += right;
        batch_logs["accuracy"] = static_cast<double>(right) / count;
      }
      s.batch = b + 1;
      ++s.step;
      epoch_means();
      for (Callback* c : callbacks_) c->on_batch_end(*this, b, batch_logs);
      progress.update(b + 1, logs);
      for (Callback* c : callbacks_) c->on_checkpoint(*this, false);
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
    for (Callback* c : callbacks_) c->on_epoch_end(*this, epoch, logs);
    s.epoch = epoch + 1;
    s.batch = 0;
    s.order.clear();
    s.loss_sum = 0;
    s.correct = 0;
    s.seen = 0;
    for (Callback* c : callbacks_) c->on_checkpoint(*this, true);
  }
  group.synchronize(optimizer_);
  for (Callback* c : callbacks_) c->on_train_end(*this);
  return s.history;
}

Var Trainer::forward_share(const BatchSource& train, std::size_t n_train, std::size_t b, Var& x_in,
                           Var& y_in, double* totals) {
  const std::size_t start = b * options_.batch_size;
  const std::size_t count = std::min(options_.batch_size, n_train - start);
  const auto [first, last] = group_->share(start, count);
  totals[2] = static_cast<double>(last - first);
  if (last == first) return Var();  // no sample here: the group gives the gradients the sum
  const std::size_t* order = state_.order.data();
  train.fill_batch(order + first, last - first, x_in.value(), y_in.value());
  if (b + 1 < batches_) {
    const std::size_t next = start + count;
    const auto [next_first, next_last] =
        group_->share(next, std::min(options_.batch_size, n_train - next));
    train.prefetch(order + next_first, next_last - next_first);
  }
  const Var pred = model_.forward(x_in);
  Var loss = loss_(pred, y_in);
  const Var penalty = model_.penalty();
  if (penalty.defined()) loss = loss + penalty;
  totals[0] = loss.item() * static_cast<double>(last - first);
  if (accuracy_) {
    // Read through a const reference: a write access would count as a change of y_in, which
    // the graph (before backward) refuses.
    totals[1] = static_cast<double>(
        count_correct(pred.value(), std::as_const(y_in).value(), loss_.from_logits()));
  }
  return loss;
}

void Trainer::backward_share(const Var& loss, std::size_t share, std::size_t count) {
  if (share == count) {
    loss.backward();
    return;
  }
  // The share's mean weighed by its part of the batch: the group's sum of gradients is then the
  // gradient of the whole batch's mean.
  loss.backward(scalar_tensor(static_cast<float>(share) / count));
}

Logs Trainer::validate(const BatchSource& train) {
  const FitOptions& o = options_;
  const BatchSource* data = o.validation_data;
  std::vector<std::size_t> indices;
  if (data) {
    indices = retrograd::detail::iota(data->size());
  } else {
    data = &train;
    const std::size_t n = train.size();
    const std::size_t n_val = static_cast<std::size_t>(std::floor(n * o.validation_split));
    // Keras takes the validation split from the end, before any shuffling.
    indices = retrograd::detail::iota(n_val);
    for (std::size_t& i : indices) i += n - n_val;
  }
  if (indices.empty()) return {};
  // Each shard evaluates its share of the samples; the sums make the whole set's means.
  const auto [first, last] = group_->share(0, indices.size());
  const EvaluationSums sums = evaluation_sums(model_, loss_, accuracy_, *data,
                                              indices.data() + first, last - first, o.batch_size);
  double totals[2] = {sums.loss, static_cast<double>(sums.correct)};
  group_->sum(totals, 2);
  Logs logs{{"loss", totals[0] / indices.size()}};
  if (accuracy_) logs["accuracy"] = totals[1] / indices.size();
  return logs;
}

}  // namespace retrograd::nn
