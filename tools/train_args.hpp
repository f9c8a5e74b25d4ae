#pragma once
// The flags of `retrograd train`, shared by the command (train_command.cpp) and the record a
// checkpoint keeps of them (train_resume.cpp).

#include <cstdint>
#include <retrograd/data/mnist.hpp>
#include <string>

#include "cli_data.hpp"

namespace retrograd::cli {

/// Every flag of `retrograd train`, as given (or, for a resumed run, as its checkpoint recorded
/// them).
struct TrainArgs {
  DataArgs data{std::string(data::fashion_mnist_dir)};
  std::string layers;
  /// --model: mlp, cnn or a spec of layers (model_spec.hpp); empty: mlp.
  std::string model;
  /// --input-shape: CxHxW of one sample, for CSV rows fed to a convolutional model.
  std::string input_shape;
  /// --early-stopping: patience=N[,monitor=...,min_delta=...,restore_best_weights=...].
  std::string early_stopping;
  std::string activation = "relu";
  std::string loss = "cross_entropy";
  std::string optimizer = "adam";
  /// 0 until resolved: the optimizer's default (default_lr).
  double lr = 0;
  double momentum = 0.9;
  /// 0 until resolved: without --schedule, default_lr_decay(epochs).
  double lr_decay = 0;
  std::string schedule;
  std::size_t epochs = 5;
  std::size_t batch_size = 64;
  std::uint64_t seed = 1;
  double validation_split = 0.1;
  // Nothing is written unless asked for (docs/cli.md, "What train writes").
  std::string save;
  std::string history;
  std::string plot;
  bool overwrite = false;
  std::string checkpoint_dir;
  std::size_t checkpoint_every = 0;
  std::string resume;
  int verbose = 1;
  bool detect_anomaly = false;
};

/// The learning rate --optimizer `name` trains with when --lr is not given. Throws UsageError
/// for an unknown name.
double default_lr(const std::string& optimizer);

/// The factor per epoch that brings the learning rate to 1/16 of --lr by the last of `epochs`
/// (1 for a single epoch): --lr-decay when not given.
double default_lr_decay(std::size_t epochs);

/// The shortest text that reads back as `v` exactly ("0.9", not "0.90000000000000002").
std::string text_of(double v);

}  // namespace retrograd::cli
