#pragma once
/// @file checkpoint.hpp
/// Checkpoints: a model file (docs/io.md) that also holds a Trainer's whole state — the
/// TrainState, the optimizer, every random engine and the callbacks' states — so that a run
/// restored from it continues bit for bit (same seed and thread count) as if it had not stopped.
/// `Checkpoint` writes them during training; restore_checkpoint() puts one back.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "retrograd/io/model_io.hpp"
#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/trainer.hpp"

namespace retrograd::io {

/// The trainer's model, optimizer and state as bytes of a model file: load_model() reads its
/// model (compiled), restore_checkpoint() its state.
std::vector<std::uint8_t> serialize_checkpoint(nn::Trainer& trainer);

/// Writes serialize_checkpoint(trainer) to `path` (atomically, like save_model).
void save_checkpoint(nn::Trainer& trainer, const std::string& path);

/// Restores a checkpoint into `trainer`: the model's parameters, buffers and random engines by
/// name, the optimizer's state, the TrainState (whose plan must match the trainer's options,
/// epochs aside) and the callbacks' states. The trainer's model must have the saved layout
/// (load it with load_model from the same file). Throws ModelFileError for a damaged file or
/// one without a training state, and std::invalid_argument naming what differs.
void restore_checkpoint(nn::Trainer& trainer, const std::string& path);

/// The TrainState a checkpoint holds (to read its run_info before building a trainer).
nn::TrainState read_train_state(const std::string& path);

/// A checkpoint read from its file and decoded once, its model built once: what resuming a run
/// needs, without reading the file again for each part.
///
///     io::LoadedCheckpoint saved(path);
///     const nn::Record& info = saved.train_state().run_info;   // the application's settings
///     nn::Sequential model = saved.take_model();               // compiled
///     nn::Trainer trainer(model, model.loss(), model.optimizer(), options);
///     io::restore_checkpoint(trainer, saved);
class LoadedCheckpoint {
 public:
  /// Reads `path`. Throws ModelFileError for a damaged file or one without a training state.
  explicit LoadedCheckpoint(const std::string& path);
  /// The file it was read from.
  const std::string& path() const { return path_; }
  /// The saved run's TrainState.
  const nn::TrainState& train_state() const { return state_; }
  /// The saved model, compiled (load_model's result), moved out of this object: once. Throws
  /// ModelFileError when the file holds a model that is not a Sequential, and std::logic_error
  /// when it was taken already.
  nn::Sequential take_model();

 private:
  friend void restore_checkpoint(nn::Trainer& trainer, const LoadedCheckpoint& checkpoint);
  std::string path_;
  nn::Record root_;
  nn::TrainState state_;
  std::unique_ptr<nn::Module> model_;
  bool taken_ = false;
  /// The saved model's parameters and buffers, captured when it was built: they stay those of
  /// the model taken out.
  std::vector<nn::NamedParameter<float>> parameters_;
  std::vector<nn::NamedBuffer<float>> buffers_;
};

/// restore_checkpoint(trainer, path) from a checkpoint already loaded. When the trainer's model
/// is the one taken from `checkpoint`, its parameters and buffers are the saved ones already and
/// are not copied; that model must still live.
void restore_checkpoint(nn::Trainer& trainer, const LoadedCheckpoint& checkpoint);

/// The checkpoint files in `dir`, oldest first (by the step in their names).
std::vector<std::string> list_checkpoints(const std::string& dir);
/// The newest checkpoint in `dir`, if any.
std::optional<std::string> latest_checkpoint(const std::string& dir);

/// Writes a checkpoint into a directory every `every_batches` batches (0: at the end of every
/// epoch only) and at the end of every epoch, named `checkpoint-<step>.rg` by the number of
/// optimizer steps taken, keeping the newest `keep` files. In a data-parallel run
/// (FitOptions::shards) only shard 0 writes. Throws std::invalid_argument for a `keep` of 0.
class Checkpoint : public nn::Callback {
 public:
  /// Checkpoints of the run into `dir` (created if missing).
  explicit Checkpoint(std::string dir, std::size_t every_batches = 0, std::size_t keep = 3);
  /// Refuses to start a fresh run in a directory that holds another run's checkpoints (throws
  /// std::invalid_argument): they would crowd this run's out of the newest `keep`.
  void on_train_begin(nn::Trainer& trainer) override;
  /// Saves when a batch count or an epoch end is due.
  void on_checkpoint(nn::Trainer& trainer, bool epoch_end) override;
  /// The last file written ("" before the first).
  const std::string& last_path() const { return last_; }

 private:
  std::string dir_;
  std::size_t every_;
  std::size_t keep_;
  std::string last_;
};

}  // namespace retrograd::io
