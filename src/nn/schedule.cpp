#include "retrograd/nn/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace retrograd::nn {

Registry<ScheduleFactory>& schedule_registry() {
  static Registry<ScheduleFactory> registry("schedule");
  return registry;
}

std::unique_ptr<Schedule> build_schedule(OptimizerBase& optimizer, const std::string& name,
                                         const Record& config) {
  const ScheduleFactory& factory = schedule_registry().get(name);
  Record settings = config;
  settings.set_context("schedule " + name);
  std::unique_ptr<Schedule> schedule;
  try {
    schedule = factory(optimizer, settings);
  } catch (const MissingFieldError& e) {
    // A misspelt setting first shows up as a required one missing: name what was given.
    if (settings.fields().empty()) throw;
    std::string given;
    for (const auto& field : settings.fields()) given += (given.empty() ? "" : ", ") + field.first;
    throw MissingFieldError(std::string(e.what()) + " (settings given: " + given + ")");
  }
  if (schedule->name() != name) {
    throw std::logic_error("the schedule registered as '" + name + "' calls itself '" +
                           schedule->name() + "': register it under its name()");
  }
  Record known;
  schedule->save_config(known);
  for (const auto& field : settings.fields()) {
    if (known.has(field.first)) continue;
    std::string keys;
    for (const auto& k : known.fields()) keys += (keys.empty() ? "" : ", ") + k.first;
    throw std::invalid_argument("schedule " + name + " has no setting '" + field.first +
                                "' (its settings: " + keys + ")");
  }
  return schedule;
}

namespace {
/// "2" as an integer, "0.5" as a number, anything else as text.
Record::Value spec_value(const std::string& text) {
  const std::size_t digits = text[0] == '-' ? 1 : 0;
  if (text.size() > digits && text.size() - digits <= 18 &&
      text.find_first_not_of("0123456789", digits) == std::string::npos) {
    return static_cast<std::int64_t>(std::stoll(text));
  }
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (end == text.c_str() + text.size() && std::isfinite(number)) return number;
  return text;
}

/// The shortest text that reads back as `v`.
std::string number_text(double v) {
  std::ostringstream out;
  for (int digits = 6; digits <= 17; ++digits) {
    out.str("");
    out.precision(digits);
    out << v;
    if (std::strtod(out.str().c_str(), nullptr) == v) break;
  }
  return out.str();
}
}  // namespace

std::pair<std::string, Record> parse_schedule_spec(const std::string& spec) {
  const auto fail = [&](const std::string& what) {
    throw std::invalid_argument("'" + spec + "': " + what +
                                " (expected NAME or NAME:KEY=VALUE,KEY=VALUE, e.g. "
                                "step_lr:step_size=2,gamma=0.5)");
  };
  const std::size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  if (name.empty()) fail("no schedule name");
  Record config("schedule " + name);
  if (colon == std::string::npos) return {name, config};
  const std::string settings = spec.substr(colon + 1);
  if (settings.empty()) fail("no settings after ':'");
  std::size_t begin = 0;
  while (begin <= settings.size()) {
    const std::size_t comma = std::min(settings.find(',', begin), settings.size());
    const std::string part = settings.substr(begin, comma - begin);
    const std::size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == part.size()) {
      fail("'" + part + "' is not KEY=VALUE");
    }
    const std::string key = part.substr(0, eq);
    if (config.has(key)) fail("'" + key + "' is given twice");
    config.set(key, spec_value(part.substr(eq + 1)));
    begin = comma + 1;
  }
  return {name, config};
}

std::string schedule_spec(const Schedule& schedule) {
  Record config;
  schedule.save_config(config);
  std::string spec = schedule.name();
  char separator = ':';
  for (const auto& [key, value] : config.fields()) {
    spec += separator + key + "=";
    separator = ',';
    if (const auto* i = std::get_if<std::int64_t>(&value)) {
      spec += std::to_string(*i);
    } else if (const auto* d = std::get_if<double>(&value)) {
      spec += number_text(*d);
    } else if (const auto* t = std::get_if<std::string>(&value)) {
      spec += *t;
    } else {
      throw std::logic_error("schedule " + schedule.name() + ": setting '" + key +
                             "' is neither a number nor text");
    }
  }
  return spec;
}

namespace {
std::size_t as_size(const Record& r, const char* key) {
  return static_cast<std::size_t>(r.count(key, std::numeric_limits<std::int64_t>::max()));
}
double number_or(const Record& r, const char* key, double fallback) {
  return r.has(key) ? r.number(key) : fallback;
}
std::size_t size_or(const Record& r, const char* key, std::size_t fallback) {
  return r.has(key) ? as_size(r, key) : fallback;
}
}  // namespace

StepLR::StepLR(OptimizerBase& optimizer, std::size_t step_size, double gamma)
    : Schedule("step_lr", optimizer),
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
  optimizer().set_learning_rate(initial_ *
                                std::pow(gamma_, static_cast<double>(epochs_ / step_size_)));
}

ExponentialLR::ExponentialLR(OptimizerBase& optimizer, double gamma)
    : Schedule("exponential_lr", optimizer), gamma_(gamma), initial_(optimizer.learning_rate()) {
  if (!(gamma > 0)) {
    throw std::invalid_argument("ExponentialLR: gamma must be > 0 (got " + std::to_string(gamma) +
                                ")");
  }
}

void ExponentialLR::step() {
  ++epochs_;
  optimizer().set_learning_rate(initial_ * std::pow(gamma_, static_cast<double>(epochs_)));
}

ReduceLROnPlateau::ReduceLROnPlateau(OptimizerBase& optimizer, std::string monitor, double factor,
                                     std::size_t patience, double min_lr, double min_delta,
                                     std::size_t cooldown)
    : Schedule("reduce_lr_on_plateau", optimizer),
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
    const double lowered = std::max(optimizer().learning_rate() * factor_, min_lr_);
    // set_learning_rate rejects 0: a min_lr of 0 keeps the smallest positive rate reached.
    if (lowered > 0) optimizer().set_learning_rate(lowered);
    wait_ = 0;
    cooldown_left_ = cooldown_;
  }
}

void ReduceLROnPlateau::on_epoch_end(Trainer&, std::size_t, const Logs& logs) {
  auto it = logs.find(monitor_);
  if (it == logs.end()) it = logs.find("loss");
  if (it != logs.end()) step(it->second);
}

void StepLR::save_state(Record& state) const {
  state.set("initial_lr", initial_);
  state.set_count("epochs", epochs_);
}

void StepLR::load_state(const Record& state) {
  initial_ = state.number("initial_lr");
  epochs_ = as_size(state, "epochs");
}

void ExponentialLR::save_state(Record& state) const {
  state.set("initial_lr", initial_);
  state.set_count("epochs", epochs_);
}

void ExponentialLR::load_state(const Record& state) {
  initial_ = state.number("initial_lr");
  epochs_ = as_size(state, "epochs");
}

void ReduceLROnPlateau::save_state(Record& state) const {
  state.set("best", best_);
  state.set_count("wait", wait_);
  state.set_count("cooldown_left", cooldown_left_);
}

void ReduceLROnPlateau::load_state(const Record& state) {
  best_ = state.number("best");
  wait_ = as_size(state, "wait");
  cooldown_left_ = as_size(state, "cooldown_left");
}

void StepLR::save_config(Record& config) const {
  config.set_count("step_size", step_size_);
  config.set("gamma", gamma_);
}

std::unique_ptr<StepLR> StepLR::from_config(OptimizerBase& optimizer, const Record& config) {
  return std::make_unique<StepLR>(optimizer, as_size(config, "step_size"),
                                  number_or(config, "gamma", 0.1));
}

void ExponentialLR::save_config(Record& config) const { config.set("gamma", gamma_); }

std::unique_ptr<ExponentialLR> ExponentialLR::from_config(OptimizerBase& optimizer,
                                                          const Record& config) {
  return std::make_unique<ExponentialLR>(optimizer, config.number("gamma"));
}

void ReduceLROnPlateau::save_config(Record& config) const {
  config.set("monitor", monitor_);
  config.set("factor", factor_);
  config.set_count("patience", patience_);
  config.set("min_lr", min_lr_);
  config.set("min_delta", min_delta_);
  config.set_count("cooldown", cooldown_);
}

std::unique_ptr<ReduceLROnPlateau> ReduceLROnPlateau::from_config(OptimizerBase& optimizer,
                                                                  const Record& config) {
  return std::make_unique<ReduceLROnPlateau>(
      optimizer, config.has("monitor") ? config.text("monitor") : "val_loss",
      number_or(config, "factor", 0.1), size_or(config, "patience", 10),
      number_or(config, "min_lr", 0), number_or(config, "min_delta", 1e-4),
      size_or(config, "cooldown", 0));
}

}  // namespace retrograd::nn
