#pragma once
/// @file trainer.hpp
/// `Trainer`: the training loop for any Module, a loss and an optimizer — epochs, shuffled
/// batches, validation, metrics, callbacks and progress — with everything a run needs to
/// continue kept in one `TrainState`. A checkpoint (io/checkpoint.hpp) saves that state with the
/// model and the optimizer, and a run restored from it continues bit for bit as if it had not
/// stopped. Sequential::fit is this loop.
///
/// One step, and where the hooks run (Callback):
///
///     on_batch_begin -> fill batch -> forward -> loss (+ penalties) -> zero_grad -> backward
///       -> on_after_backward (gradients complete: clipping, checks, allreduce)
///       -> optimizer step -> parameters checked finite -> on_batch_end -> on_checkpoint
///
/// With FitOptions::shards, "fill batch" takes this process's share of the batch, backward
/// weighs the share's loss by its part of the batch, the batch's statistics are summed over the
/// group after on_after_backward, and the group applies the optimizer step (nn/shard_group.hpp).
/// Without, the same loop runs as a group of one.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "retrograd/nn/batch_source.hpp"
#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/loss.hpp"
#include "retrograd/nn/module.hpp"
#include "retrograd/nn/optimizer.hpp"
#include "retrograd/nn/record.hpp"
#include "retrograd/nn/shard_group.hpp"

namespace retrograd::nn {

/// Options of a training run. Set the fields you need: `FitOptions o; o.epochs = 10;`.
struct FitOptions {
  /// Passes over the training samples.
  std::size_t epochs = 1;
  /// Samples per update; the last batch of an epoch may be smaller. Must be positive.
  std::size_t batch_size = 32;
  /// Fraction in [0, 1) of the samples, taken from the end before any shuffling (as Keras
  /// does), held out for validation. Ignored when validation_data is set.
  double validation_split = 0;
  /// Separate validation samples (not owned; must outlive the run).
  const BatchSource* validation_data = nullptr;
  /// Reshuffle the training order every epoch.
  bool shuffle = true;
  /// Called per batch and per epoch, in order (not owned).
  std::vector<Callback*> callbacks;
  /// 0: silent. 1: a progress bar per epoch, redrawn in place on a terminal and printed once
  /// per epoch otherwise. 2: one line per epoch. Only shard 0 of a data-parallel group prints.
  int verbose = 1;
  /// Seed of the shuffling engine; without one it is seeded from default_engine().
  std::optional<std::uint64_t> seed;
  /// Where progress goes; std::cout when null.
  std::ostream* out = nullptr;
  /// Data-parallel training (nn/shard_group.hpp, not owned): this process computes only its
  /// shard of every batch, whose size stays the global batch_size, and the group sums the
  /// gradients and statistics, so the run follows the one-process run on the same batches.
  /// The group runs as the first callback. Null: one process.
  ShardGroup* shards = nullptr;
};

/// Per-epoch results. Lists stay empty for what was not measured (accuracy without the metric,
/// validation without validation data).
struct History {
  /// Mean training loss of each epoch (including penalties).
  std::vector<double> loss;
  /// Training accuracy of each epoch.
  std::vector<double> accuracy;
  /// Validation loss after each epoch.
  std::vector<double> val_loss;
  /// Validation accuracy after each epoch.
  std::vector<double> val_accuracy;
  /// Number of epochs run.
  std::size_t epochs() const { return loss.size(); }
  /// Writes the four lists.
  void save(Record& record) const;
  /// Reads what save() wrote.
  static History load(const Record& record);
};

/// Everything a run needs to continue besides the model's parameters and buffers and the
/// optimizer's state: the plan, the position, the shuffle engine and order, the running sums
/// of the current epoch and the history. Positions count completed work: `batch` batches of
/// epoch `epoch` (from 0) are done; batch == batches_per_epoch means only the epoch's end
/// (validation, on_epoch_end) is left.
struct TrainState {
  /// The plan (from FitOptions; a restored run must be given the same, epochs aside).
  std::size_t epochs = 1;
  /// Samples per update.
  std::size_t batch_size = 32;
  /// Held-out fraction.
  double validation_split = 0;
  /// Reshuffle every epoch.
  bool shuffle = true;
  /// The shuffle engine's seed.
  std::uint64_t seed = 0;

  /// Epochs completed.
  std::size_t epoch = 0;
  /// Batches completed in the current epoch.
  std::size_t batch = 0;
  /// Optimizer steps taken in this run.
  std::uint64_t step = 0;
  /// The current epoch's order of training samples (empty between epochs).
  std::vector<std::size_t> order;
  /// Draws each epoch's order.
  std::mt19937_64 shuffle_engine;
  /// Sums over the current epoch's batches so far: loss x samples, correct predictions, samples.
  double loss_sum = 0;
  /// Correct predictions so far this epoch.
  std::size_t correct = 0;
  /// Samples so far this epoch.
  std::size_t seen = 0;
  /// Results of the completed epochs.
  History history;
  /// A callback asked to stop after the current epoch.
  bool stop_requested = false;
  /// The application's own settings, saved with the state (the command line keeps its flags
  /// here so that `retrograd train --resume` needs none of them again).
  Record run_info;

  /// Writes every field.
  void save(Record& record) const;
  /// Reads what save() wrote. Throws RecordError for a missing or malformed field.
  static TrainState load(const Record& record);
  /// True before the first batch.
  bool fresh() const { return epoch == 0 && batch == 0 && order.empty(); }
};

/// The training loop (see the file comment).
class Trainer {
 public:
  /// Trains `model` (not owned) with `loss` and `optimizer` (not owned; attached to the
  /// model's parameters, or attached here when it has none). `accuracy` adds the metric.
  /// Throws std::invalid_argument for bad options.
  Trainer(Module& model, Loss loss, Optimizer& optimizer, FitOptions options = {},
          bool accuracy = false);

  /// Runs from the current state until the planned epochs are done or a callback stops it,
  /// and returns the history of the whole run. Throws std::runtime_error naming the epoch and
  /// batch when the loss becomes NaN or infinite, and naming the parameter (as
  /// named_parameters() names it), the epoch and the batch when an update would leave a NaN or
  /// an infinity in a parameter (checked by the optimizer's step_if_finite() at every step,
  /// and once after on_train_begin). Either way the failed step is undone first: parameters,
  /// buffers, engines and optimizer state are those after the last good step, so the model
  /// predicts, saves and resumes as it did then. Under a DetectAnomalyGuard, an AnomalyError
  /// from an op names the step too.
  History fit(const BatchSource& train);

  /// Asks the loop to stop after the current epoch.
  void stop() { state_.stop_requested = true; }
  /// The run's state (a checkpoint saves it; restore_state() puts one back).
  const TrainState& state() const { return state_; }
  /// The run's state, for the application's run_info.
  TrainState& state() { return state_; }
  /// Continues from `state`: its plan must match this trainer's options (epochs may differ),
  /// else std::invalid_argument names the first difference (check_restorable()).
  void restore_state(TrainState state);
  /// Throws what restore_state(state) would throw, changing nothing.
  void check_restorable(const TrainState& state) const;
  /// Saves the callbacks' states, each under its state_name().
  void save_callbacks(Record& record) const;
  /// Restores the callbacks' states; every saved one must find its callback (else
  /// std::invalid_argument with callbacks_differ()'s text).
  void restore_callbacks(const Record& record);
  /// Why the callbacks' states saved in `record` do not fit this trainer's callbacks (the
  /// names on each side), or an empty string when each saved state has its callback (a
  /// callback of this trainer without a saved state starts afresh).
  std::string callbacks_differ(const Record& record) const;

  /// The model.
  Module& model() { return model_; }
  /// The loss.
  const Loss& loss() const { return loss_; }
  /// The optimizer.
  Optimizer& optimizer() { return optimizer_; }
  /// The options.
  const FitOptions& options() const { return options_; }
  /// True when accuracy is measured.
  bool measures_accuracy() const { return accuracy_; }
  /// Batches per epoch of the current run (0 before fit()).
  std::size_t batches_per_epoch() const { return batches_; }

 private:
  Logs validate(const BatchSource& train);
  void agree_with_shards(std::size_t n_train);
  /// Checks the data against the state, sets batches_ and agrees with the group: returns the
  /// number of training samples.
  std::size_t plan_batches(const BatchSource& train);
  /// This shard's samples of batch `b` through forward and the loss; writes the share's loss
  /// sum, correct predictions and sample count to totals[0..3). Returns the loss to
  /// differentiate (undefined when the share is empty).
  Var forward_share(const BatchSource& train, std::size_t n_train, std::size_t b, Var& x_in,
                    Var& y_in, double* totals);
  /// Backward of a share of `share` samples of a batch of `count`.
  void backward_share(const Var& loss, std::size_t share, std::size_t count);

  Module& model_;
  Loss loss_;
  Optimizer& optimizer_;
  FitOptions options_;
  bool accuracy_;
  TrainState state_;
  std::size_t batches_ = 0;
  /// options_.shards (if any), then options_.callbacks.
  std::vector<Callback*> callbacks_;
  /// options_.shards, or a group of this process alone.
  ShardGroup* group_ = nullptr;
};

/// Loss (with the model's penalties) and, with `accuracy`, the accuracy of `model` over the
/// samples `indices` of `data`, in evaluation mode without a graph: {"loss", "accuracy"}. Safe
/// to call from many threads on one model.
Logs evaluate_model(const Module& model, const Loss& loss, bool accuracy, const BatchSource& data,
                    const std::vector<std::size_t>& indices, std::size_t batch_size);

}  // namespace retrograd::nn
