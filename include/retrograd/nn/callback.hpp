#pragma once
/// @file callback.hpp
/// Callbacks that fit() calls per batch and per epoch, the logs it passes them, and
/// EarlyStopping.

#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "retrograd/tensor.hpp"

namespace retrograd::nn {

class Sequential;

/// Named numbers of a batch or an epoch: "loss", "accuracy", "val_loss", "val_accuracy".
using Logs = std::map<std::string, double>;

/// Hooks into fit(). Every method does nothing unless overridden. Callbacks may call
/// model.stop_training() to end fit() after the current epoch.
class Callback {
 public:
  virtual ~Callback() = default;
  /// Before the first epoch.
  virtual void on_train_begin(Sequential& /*model*/) {}
  /// Before each epoch (counted from 0).
  virtual void on_epoch_begin(Sequential& /*model*/, std::size_t /*epoch*/) {}
  /// After each batch's update, with that batch's "loss" (and "accuracy" when compiled with it).
  virtual void on_batch_end(Sequential& /*model*/, std::size_t /*batch*/, const Logs& /*logs*/) {}
  /// After each epoch, with the epoch's means and the validation results.
  virtual void on_epoch_end(Sequential& /*model*/, std::size_t /*epoch*/, const Logs& /*logs*/) {}
  /// After the last epoch.
  virtual void on_train_end(Sequential& /*model*/) {}
};

/// A callback made of functions (any may be empty).
class LambdaCallback : public Callback {
 public:
  /// Called after each batch.
  std::function<void(Sequential&, std::size_t, const Logs&)> batch_end;
  /// Called after each epoch.
  std::function<void(Sequential&, std::size_t, const Logs&)> epoch_end;

  /// Calls batch_end.
  void on_batch_end(Sequential& model, std::size_t batch, const Logs& logs) override {
    if (batch_end) batch_end(model, batch, logs);
  }
  /// Calls epoch_end.
  void on_epoch_end(Sequential& model, std::size_t epoch, const Logs& logs) override {
    if (epoch_end) epoch_end(model, epoch, logs);
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
  /// Resets the watch.
  void on_train_begin(Sequential& model) override;
  /// Compares, counts, and stops (restoring the best weights if asked).
  void on_epoch_end(Sequential& model, std::size_t epoch, const Logs& logs) override;
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
