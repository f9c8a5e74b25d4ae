#pragma once
/// @file schedule.hpp
/// Learning-rate schedules. Each changes an optimizer's learning rate when step() is called,
/// so it serves a hand-written loop (call step() once per epoch) and, being a Callback, fit()
/// (pass it in FitOptions::callbacks; it steps after each epoch).

#include <string>

#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/optimizer.hpp"

namespace retrograd::nn {

/// lr = initial * gamma^floor(epochs / step_size).
class StepLR : public Callback {
 public:
  /// Throws std::invalid_argument for step_size 0 or gamma <= 0.
  StepLR(OptimizerBase& optimizer, std::size_t step_size, double gamma = 0.1);
  /// Ends one epoch.
  void step();
  /// Calls step().
  void on_epoch_end(Trainer&, std::size_t, const Logs&) override { step(); }

  /// "step_lr".
  std::string state_name() const override { return "step_lr"; }
  /// Its counters and the initial rate.
  void save_state(Record& state) const override;
  /// Reads what save_state() wrote.
  void load_state(const Record& state) override;

 private:
  OptimizerBase& optimizer_;
  std::size_t step_size_;
  double gamma_;
  double initial_;
  std::size_t epochs_ = 0;
};

/// lr = initial * gamma^epochs.
class ExponentialLR : public Callback {
 public:
  /// Throws std::invalid_argument for gamma <= 0.
  ExponentialLR(OptimizerBase& optimizer, double gamma);
  /// Ends one epoch.
  void step();
  /// Calls step().
  void on_epoch_end(Trainer&, std::size_t, const Logs&) override { step(); }

  /// "exponential_lr".
  std::string state_name() const override { return "exponential_lr"; }
  /// Its counters and the initial rate.
  void save_state(Record& state) const override;
  /// Reads what save_state() wrote.
  void load_state(const Record& state) override;

 private:
  OptimizerBase& optimizer_;
  double gamma_;
  double initial_;
  std::size_t epochs_ = 0;
};

/// Multiplies the learning rate by `factor` (not below `min_lr`) when `monitor` has not
/// decreased by more than `min_delta` for `patience` epochs, then waits `cooldown` epochs.
class ReduceLROnPlateau : public Callback {
 public:
  /// Throws std::invalid_argument unless 0 < factor < 1 and min_lr >= 0.
  ReduceLROnPlateau(OptimizerBase& optimizer, std::string monitor = "val_loss", double factor = 0.1,
                    std::size_t patience = 10, double min_lr = 0, double min_delta = 1e-4,
                    std::size_t cooldown = 0);
  /// Ends one epoch whose monitored value was `metric`.
  void step(double metric);
  /// Calls step() with logs[monitor] (or logs["loss"] when the monitor is missing).
  void on_epoch_end(Trainer& trainer, std::size_t epoch, const Logs& logs) override;

  /// "reduce_lr_on_plateau".
  std::string state_name() const override { return "reduce_lr_on_plateau"; }
  /// Its counters and the initial rate.
  void save_state(Record& state) const override;
  /// Reads what save_state() wrote.
  void load_state(const Record& state) override;

 private:
  OptimizerBase& optimizer_;
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

}  // namespace retrograd::nn
