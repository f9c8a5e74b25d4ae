#pragma once
/// @file callback.hpp
/// Callbacks: hooks into the Trainer's loop, the logs it passes them, and EarlyStopping. A
/// callback with state to resume (counters, best values) saves it in checkpoints through
/// save_state / load_state under its state_name().

#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "retrograd/nn/record.hpp"
#include "retrograd/tensor.hpp"

namespace retrograd::nn {

class Trainer;

/// Named numbers of a batch or an epoch: "loss", "accuracy", "val_loss", "val_accuracy".
using Logs = std::map<std::string, double>;

/// Hooks into the Trainer's loop (trainer.hpp shows where each runs). Every method does nothing
/// unless overridden. Callbacks may call trainer.stop() to end the run after the current epoch.
class Callback {
 public:
  virtual ~Callback() = default;
  /// Before the first epoch, also when a restored run continues.
  virtual void on_train_begin(Trainer& /*trainer*/) {}
  /// Before each epoch (counted from 0).
  virtual void on_epoch_begin(Trainer& /*trainer*/, std::size_t /*epoch*/) {}
  /// Before each batch (counted from 0 in its epoch).
  virtual void on_batch_begin(Trainer& /*trainer*/, std::size_t /*batch*/) {}
  /// After backward and before the optimizer step: every gradient is complete.
  virtual void on_after_backward(Trainer& /*trainer*/, std::size_t /*batch*/) {}
  /// After each batch's update, with that batch's "loss" (and "accuracy" when measured).
  virtual void on_batch_end(Trainer& /*trainer*/, std::size_t /*batch*/, const Logs& /*logs*/) {}
  /// After each epoch, with the epoch's means and the validation results.
  virtual void on_epoch_end(Trainer& /*trainer*/, std::size_t /*epoch*/, const Logs& /*logs*/) {}
  /// After every batch and every epoch, once all callbacks ran and the TrainState is complete:
  /// the points where a run can be saved and resumed. `epoch_end` tells which.
  virtual void on_checkpoint(Trainer& /*trainer*/, bool /*epoch_end*/) {}
  /// After the last epoch.
  virtual void on_train_end(Trainer& /*trainer*/) {}

  /// Name of this callback's state in checkpoints, unique among a run's callbacks; empty (the
  /// default) when it keeps none.
  virtual std::string state_name() const { return {}; }
  /// Writes the state a resumed run needs.
  virtual void save_state(Record& /*state*/) const {}
  /// Reads what save_state() wrote.
  virtual void load_state(const Record& /*state*/) {}
};

/// A callback made of functions (any may be empty).
class LambdaCallback : public Callback {
 public:
  /// Called after each batch.
  std::function<void(Trainer&, std::size_t, const Logs&)> batch_end;
  /// Called after each epoch.
  std::function<void(Trainer&, std::size_t, const Logs&)> epoch_end;
  /// Called after backward, before the optimizer step.
  std::function<void(Trainer&, std::size_t)> after_backward;

  /// Calls batch_end.
  void on_batch_end(Trainer& trainer, std::size_t batch, const Logs& logs) override {
    if (batch_end) batch_end(trainer, batch, logs);
  }
  /// Calls epoch_end.
  void on_epoch_end(Trainer& trainer, std::size_t epoch, const Logs& logs) override {
    if (epoch_end) epoch_end(trainer, epoch, logs);
  }
  /// Calls after_backward.
  void on_after_backward(Trainer& trainer, std::size_t batch) override {
    if (after_backward) after_backward(trainer, batch);
  }
};

/// Stops training when `monitor` has not improved by more than `min_delta` for `patience`
/// epochs in a row (Keras's rule; patience 0 stops at the first epoch without improvement).
/// Improvement means lower, except for metrics containing "accuracy" (higher). When the monitored
/// value is missing (no validation data for "val_loss") it watches "loss".
class EarlyStopping : public Callback {
 public:
  /// Throws std::invalid_argument for a negative min_delta.
  explicit EarlyStopping(std::string monitor = "val_loss", std::size_t patience = 0,
                         double min_delta = 0, bool restore_best_weights = false);
  /// Resets the watch at the start of a fresh run (a restored run keeps its counters).
  void on_train_begin(Trainer& trainer) override;
  /// Compares, counts, and stops (restoring the best weights if asked).
  void on_epoch_end(Trainer& trainer, std::size_t epoch, const Logs& logs) override;
  /// "early_stopping".
  std::string state_name() const override { return "early_stopping"; }
  /// Best value, its epoch, the wait, the stop epoch and the best weights.
  void save_state(Record& state) const override;
  /// Reads what save_state() wrote.
  void load_state(const Record& state) override;
  /// The epoch (from 0) at which it stopped training, or -1 when it did not.
  long stopped_epoch() const { return stopped_epoch_; }
  /// The best value seen.
  double best() const { return best_; }
  /// The epoch (from 0) of the best value.
  std::size_t best_epoch() const { return best_epoch_; }

 private:
  std::string monitor_;
  std::size_t patience_;
  double min_delta_;
  bool restore_;
  double best_ = std::numeric_limits<double>::infinity();
  std::size_t best_epoch_ = 0;
  std::size_t wait_ = 0;
  long stopped_epoch_ = -1;
  std::vector<Tensor> best_weights_;
};

}  // namespace retrograd::nn
