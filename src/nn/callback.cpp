#include "retrograd/nn/callback.hpp"

#include <cmath>
#include <stdexcept>

#include "retrograd/nn/trainer.hpp"

namespace retrograd::nn {

namespace {
/// The monitored value, or "loss" when it is missing (no validation data for "val_loss").
double monitored(const Logs& logs, const std::string& monitor) {
  auto it = logs.find(monitor);
  if (it == logs.end()) it = logs.find("loss");
  return it == logs.end() ? NAN : it->second;
}
}  // namespace

EarlyStopping::EarlyStopping(std::string monitor, std::size_t patience, double min_delta,
                             bool restore_best_weights)
    : monitor_(std::move(monitor)),
      patience_(patience),
      min_delta_(min_delta),
      restore_(restore_best_weights) {
  if (!(min_delta >= 0)) {
    throw std::invalid_argument("EarlyStopping: min_delta must be >= 0 (got " +
                                std::to_string(min_delta) + ")");
  }
}

void EarlyStopping::on_train_begin(Trainer& trainer) {
  if (!trainer.state().fresh()) return;
  best_ = std::numeric_limits<double>::infinity();
  best_epoch_ = 0;
  wait_ = 0;
  stopped_epoch_ = -1;
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(Trainer& trainer, std::size_t epoch, const Logs& logs) {
  // Accuracy improves upwards: watch its negation so that lower is always better.
  const double sign = monitor_.find("accuracy") != std::string::npos ? -1 : 1;
  const double value = sign * monitored(logs, monitor_);
  if (value < best_ - min_delta_) {
    best_ = value;
    best_epoch_ = epoch;
    wait_ = 0;
    if (restore_) {
      best_weights_.clear();
      for (const Var& p : trainer.model().parameters()) best_weights_.push_back(p.value());
    }
    return;
  }
  if (++wait_ >= patience_) {
    stopped_epoch_ = static_cast<long>(epoch);
    trainer.stop();
    if (restore_ && !best_weights_.empty()) {
      std::vector<Var> params = trainer.model().parameters();
      for (std::size_t i = 0; i < params.size(); ++i) params[i].value() = best_weights_[i];
    }
  }
}

void EarlyStopping::save_state(Record& state) const {
  state.set("best", best_);
  state.set("best_epoch", static_cast<std::int64_t>(best_epoch_));
  state.set("wait", static_cast<std::int64_t>(wait_));
  state.set("stopped_epoch", static_cast<std::int64_t>(stopped_epoch_));
  std::vector<Record> weights;
  for (const Tensor& w : best_weights_) weights.emplace_back().set("value", w);
  state.set("best_weights", std::move(weights));
}

void EarlyStopping::load_state(const Record& state) {
  best_ = state.number("best");
  best_epoch_ = state.count("best_epoch", std::numeric_limits<std::int64_t>::max());
  wait_ = state.count("wait", std::numeric_limits<std::int64_t>::max());
  stopped_epoch_ = static_cast<long>(state.integer("stopped_epoch"));
  best_weights_.clear();
  for (const Record& w : state.records("best_weights")) best_weights_.push_back(w.tensor("value"));
}

}  // namespace retrograd::nn
