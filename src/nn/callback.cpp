#include "retrograd/nn/callback.hpp"

#include <cmath>
#include <stdexcept>

#include "retrograd/nn/sequential.hpp"

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

void EarlyStopping::on_train_begin(Sequential&) {
  best_ = std::numeric_limits<double>::infinity();
  best_epoch_ = 0;
  wait_ = 0;
  stopped_epoch_ = -1;
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(Sequential& model, std::size_t epoch, const Logs& logs) {
  // Accuracy improves upwards: watch its negation so that lower is always better.
  const double sign = monitor_.find("accuracy") != std::string::npos ? -1 : 1;
  const double value = sign * monitored(logs, monitor_);
  if (value < best_ - min_delta_) {
    best_ = value;
    best_epoch_ = epoch;
    wait_ = 0;
    if (restore_) {
      best_weights_.clear();
      for (const Var& p : model.parameters()) best_weights_.push_back(p.value());
    }
    return;
  }
  if (++wait_ >= patience_) {
    stopped_epoch_ = static_cast<long>(epoch);
    model.stop_training();
    if (restore_ && !best_weights_.empty()) {
      std::vector<Var> params = model.parameters();
      for (std::size_t i = 0; i < params.size(); ++i) params[i].value() = best_weights_[i];
    }
  }
}

}  // namespace retrograd::nn
