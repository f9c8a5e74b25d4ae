#include "retrograd/nn/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace retrograd::nn {

StepLR::StepLR(OptimizerBase& optimizer, std::size_t step_size, double gamma)
    : optimizer_(optimizer),
      step_size_(step_size),
      gamma_(gamma),
      initial_(optimizer.learning_rate()) {
  if (step_size == 0 || !(gamma > 0)) {
    throw std::invalid_argument("StepLR: step_size must be positive and gamma > 0 (got " +
                                std::to_string(step_size) + ", " + std::to_string(gamma) + ")");
  }
}

void StepLR::step() {
  ++epochs_;
  optimizer_.set_learning_rate(initial_ *
                               std::pow(gamma_, static_cast<double>(epochs_ / step_size_)));
}

ExponentialLR::ExponentialLR(OptimizerBase& optimizer, double gamma)
    : optimizer_(optimizer), gamma_(gamma), initial_(optimizer.learning_rate()) {
  if (!(gamma > 0)) {
    throw std::invalid_argument("ExponentialLR: gamma must be > 0 (got " + std::to_string(gamma) +
                                ")");
  }
}

void ExponentialLR::step() {
  ++epochs_;
  optimizer_.set_learning_rate(initial_ * std::pow(gamma_, static_cast<double>(epochs_)));
}

ReduceLROnPlateau::ReduceLROnPlateau(OptimizerBase& optimizer, std::string monitor, double factor,
                                     std::size_t patience, double min_lr, double min_delta,
                                     std::size_t cooldown)
    : optimizer_(optimizer),
      monitor_(std::move(monitor)),
      factor_(factor),
      patience_(patience),
      min_lr_(min_lr),
      min_delta_(min_delta),
      cooldown_(cooldown),
      best_(std::numeric_limits<double>::infinity()) {
  if (!(factor > 0 && factor < 1) || !(min_lr >= 0)) {
    throw std::invalid_argument("ReduceLROnPlateau: needs 0 < factor < 1 and min_lr >= 0 (got " +
                                std::to_string(factor) + ", " + std::to_string(min_lr) + ")");
  }
}

void ReduceLROnPlateau::step(double metric) {
  if (metric < best_ - min_delta_) {
    best_ = metric;
    wait_ = 0;
  } else if (cooldown_left_ == 0) {
    ++wait_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    return;
  }
  if (wait_ > patience_) {
    const double lowered = std::max(optimizer_.learning_rate() * factor_, min_lr_);
    // set_learning_rate rejects 0: a min_lr of 0 keeps the smallest positive rate reached.
    if (lowered > 0) optimizer_.set_learning_rate(lowered);
    wait_ = 0;
    cooldown_left_ = cooldown_;
  }
}

void ReduceLROnPlateau::on_epoch_end(Trainer&, std::size_t, const Logs& logs) {
  auto it = logs.find(monitor_);
  if (it == logs.end()) it = logs.find("loss");
  if (it != logs.end()) step(it->second);
}

namespace {
std::int64_t as_integer(std::size_t v) { return static_cast<std::int64_t>(v); }
std::size_t as_size(const Record& r, const char* key) {
  return static_cast<std::size_t>(r.count(key, std::numeric_limits<std::int64_t>::max()));
}
}  // namespace

void StepLR::save_state(Record& state) const {
  state.set("initial_lr", initial_);
  state.set("epochs", as_integer(epochs_));
}

void StepLR::load_state(const Record& state) {
  initial_ = state.number("initial_lr");
  epochs_ = as_size(state, "epochs");
}

void ExponentialLR::save_state(Record& state) const {
  state.set("initial_lr", initial_);
  state.set("epochs", as_integer(epochs_));
}

void ExponentialLR::load_state(const Record& state) {
  initial_ = state.number("initial_lr");
  epochs_ = as_size(state, "epochs");
}

void ReduceLROnPlateau::save_state(Record& state) const {
  state.set("best", best_);
  state.set("wait", as_integer(wait_));
  state.set("cooldown_left", as_integer(cooldown_left_));
}

void ReduceLROnPlateau::load_state(const Record& state) {
  best_ = state.number("best");
  wait_ = as_size(state, "wait");
  cooldown_left_ = as_size(state, "cooldown_left");
}

}  // namespace retrograd::nn
