#pragma once
/// @file schedule.hpp
/// Learning-rate schedules. Each changes an optimizer's learning rate when step() is called,
/// so it serves a hand-written loop (call step() once per epoch) and, being a Callback, fit()
/// (pass it in FitOptions::callbacks; it steps after each epoch).
///
/// Every schedule registers by name beside its class, with a factory from the optimizer and a
/// config Record (what its save_config() writes), so the command line builds any registered
/// schedule from a spec such as "step_lr:step_size=2,gamma=0.5":
///
///     class Halving : public nn::Schedule { ...
///       static std::unique_ptr<Halving> from_config(nn::OptimizerBase& o, const nn::Record& c);
///       void save_config(nn::Record& config) const override;  // what from_config reads
///     };
///     RETROGRAD_REGISTER_SCHEDULE(Halving, "halving");

#include <functional>
#include <memory>
#include <string>
#include <typeinfo>
#include <utility>

#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/optimizer.hpp"
#include "retrograd/nn/record.hpp"
#include "retrograd/nn/registry.hpp"

namespace retrograd::nn {

/// A learning-rate schedule: a callback that sets its optimizer's learning rate.
class Schedule : public Callback {
 public:
  /// The registered name ("step_lr").
  const std::string& name() const { return name_; }
  /// The optimizer whose learning rate it sets.
  OptimizerBase& optimizer() const { return optimizer_; }
  /// Writes its settings: what the registered factory reads back.
  virtual void save_config(Record& config) const = 0;
  /// name(): its counters go into checkpoints under it.
  std::string state_name() const override { return name_; }

 protected:
  /// A schedule registered as `name`, setting the learning rate of `optimizer`.
  Schedule(std::string name, OptimizerBase& optimizer)
      : name_(std::move(name)), optimizer_(optimizer) {}

 private:
  std::string name_;
  OptimizerBase& optimizer_;
};

/// Builds a schedule on an optimizer from save_config()'s record.
using ScheduleFactory =
    std::function<std::unique_ptr<Schedule>(OptimizerBase& optimizer, const Record& config)>;
/// The registry of schedules, by name() ("step_lr").
Registry<ScheduleFactory>& schedule_registry();

/// Registers `S` under `name`; `S::from_config(optimizer, config)` builds it.
template <class S>
bool register_schedule(const std::string& name) {
  return schedule_registry().add(name, typeid(S), [](OptimizerBase& optimizer, const Record& c) {
    return std::unique_ptr<Schedule>(S::from_config(optimizer, c));
  });
}

/// The schedule registered as `name`, on `optimizer`, with the settings of `config` (a setting
/// left out takes the schedule's default, where it has one). Throws std::invalid_argument for
/// an unknown name (listing the registered ones), a setting the schedule does not have
/// (listing those it has) or a value it refuses, and RecordError for a value of the wrong type.
std::unique_ptr<Schedule> build_schedule(OptimizerBase& optimizer, const std::string& name,
                                         const Record& config);

/// The name and settings of a spec "name" or "name:key=value,key=value", as build_schedule
/// takes them: a value is an integer when it is one ("2"), else a number when it is one
/// ("0.5", "1e-3"), else text ("val_loss"). Throws std::invalid_argument naming the part of
/// the spec that is not of this form.
std::pair<std::string, Record> parse_schedule_spec(const std::string& spec);
/// The spec of `schedule`: its name and its save_config() settings, which parse_schedule_spec
/// and build_schedule turn back into the same schedule.
std::string schedule_spec(const Schedule& schedule);

}  // namespace retrograd::nn

/// Registers a schedule class (a qualified name is fine) under `name`, which its name() must
/// return. Write it at namespace scope beside the class.
#define RETROGRAD_REGISTER_SCHEDULE(S, name)                       \
  [[maybe_unused]] static const bool RETROGRAD_REGISTRATION_NAME = \
      ::retrograd::nn::register_schedule<S>(name)

namespace retrograd::nn {

/// lr = initial * gamma^floor(epochs / step_size).
class StepLR : public Schedule {
 public:
  /// Throws std::invalid_argument for step_size 0 or gamma <= 0.
  StepLR(OptimizerBase& optimizer, std::size_t step_size, double gamma = 0.1);
  /// Ends one epoch.
  void step();
  /// Calls step().
  void on_epoch_end(Trainer&, std::size_t, const Logs&) override { step(); }

  /// step_size and gamma.
  void save_config(Record& config) const override;
  /// A StepLR with the settings of `config` (step_size needed; gamma 0.1 by default).
  static std::unique_ptr<StepLR> from_config(OptimizerBase& optimizer, const Record& config);
  /// Its counters and the initial rate.
  void save_state(Record& state) const override;
  /// Reads what save_state() wrote.
  void load_state(const Record& state) override;

 private:
  std::size_t step_size_;
  double gamma_;
  double initial_;
  std::size_t epochs_ = 0;
};
RETROGRAD_REGISTER_SCHEDULE(StepLR, "step_lr");

/// lr = initial * gamma^epochs.
class ExponentialLR : public Schedule {
 public:
  /// Throws std::invalid_argument for gamma <= 0.
  ExponentialLR(OptimizerBase& optimizer, double gamma);
  /// Ends one epoch.
  void step();
  /// Calls step().
  void on_epoch_end(Trainer&, std::size_t, const Logs&) override { step(); }

  /// gamma.
  void save_config(Record& config) const override;
  /// An ExponentialLR with the gamma of `config`.
  static std::unique_ptr<ExponentialLR> from_config(OptimizerBase& optimizer, const Record& config);
  /// Its counters and the initial rate.
  void save_state(Record& state) const override;
  /// Reads what save_state() wrote.
  void load_state(const Record& state) override;

 private:
  double gamma_;
  double initial_;
  std::size_t epochs_ = 0;
};
RETROGRAD_REGISTER_SCHEDULE(ExponentialLR, "exponential_lr");

/// Multiplies the learning rate by `factor` (not below `min_lr`) when `monitor` has not
/// decreased by more than `min_delta` for `patience` epochs, then waits `cooldown` epochs.
class ReduceLROnPlateau : public Schedule {
 public:
  /// Throws std::invalid_argument unless 0 < factor < 1 and min_lr >= 0.
  ReduceLROnPlateau(OptimizerBase& optimizer, std::string monitor = "val_loss", double factor = 0.1,
                    std::size_t patience = 10, double min_lr = 0, double min_delta = 1e-4,
                    std::size_t cooldown = 0);
  /// Ends one epoch whose monitored value was `metric`.
  void step(double metric);
  /// Calls step() with logs[monitor] (or logs["loss"] when the monitor is missing).
  void on_epoch_end(Trainer& trainer, std::size_t epoch, const Logs& logs) override;

  /// monitor, factor, patience, min_lr, min_delta and cooldown.
  void save_config(Record& config) const override;
  /// A ReduceLROnPlateau with the settings of `config`, each defaulting as in the constructor.
  static std::unique_ptr<ReduceLROnPlateau> from_config(OptimizerBase& optimizer,
                                                        const Record& config);
  /// Its counters and the initial rate.
  void save_state(Record& state) const override;
  /// Reads what save_state() wrote.
  void load_state(const Record& state) override;

 private:
  std::string monitor_;
  double factor_;
  std::size_t patience_;
  double min_lr_;
  double min_delta_;
  std::size_t cooldown_;
  double best_;
  std::size_t wait_ = 0;
  std::size_t cooldown_left_ = 0;
};
RETROGRAD_REGISTER_SCHEDULE(ReduceLROnPlateau, "reduce_lr_on_plateau");

}  // namespace retrograd::nn
