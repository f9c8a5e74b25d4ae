// retrograd train: an MLP on an IDX directory or a CSV file; saves the model, its history and a
// plot where asked.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <retrograd/anomaly.hpp>
#include <retrograd/data/mnist.hpp>
#include <retrograd/io/atomic_file.hpp>
#include <retrograd/io/checkpoint.hpp>
#include <retrograd/io/dataset_source.hpp>
#include <retrograd/io/model_io.hpp>
#include <retrograd/nn/callback.hpp>
#include <retrograd/nn/dense.hpp>
#include <retrograd/nn/feature_scaling.hpp>
#include <retrograd/nn/init.hpp>
#include <retrograd/nn/schedule.hpp>
#include <sstream>

#include "cli_checks.hpp"
#include "cli_data.hpp"
#include "commands.hpp"
#include "launch.hpp"
#include "model_spec.hpp"
#include "optimizer_spec.hpp"
#include "output_path.hpp"
#include "plot.hpp"
#include "suggest.hpp"
#include "train_args.hpp"
#include "train_resume.hpp"

#ifdef RETROGRAD_CLI_MPI
#include <retrograd/distributed/data_parallel.hpp>
#endif

namespace retrograd::cli {

namespace {

// Defaults measured on Fashion-MNIST (README, "The demo"): 784-256-10 with Adam at 0.002,
// halved every epoch, clears 87 % test accuracy in 5 epochs for every seed tried, in seconds.
/// Width of the hidden layer when --layers is not given.
constexpr std::size_t default_hidden = 256;
/// Adam's default learning rate.
constexpr double default_adam_lr = 0.002;
/// With the default --lr-decay the learning rate falls to this fraction of --lr by the last epoch.
constexpr double default_final_lr_fraction = 1.0 / 16;

/// The widths of --layers, each from 1 to max_layer_width, with at most max_parameters weights
/// and biases in all: a typo cannot ask for gigabytes.
std::vector<std::size_t> parse_layers(const std::string& text) {
  std::vector<std::size_t> sizes;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, '-')) {
    const bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || part.find_first_not_of('0') == std::string::npos) {
      throw UsageError("--layers: '" + part + "' in '" + text +
                       "' is not a positive width (expected e.g. 784-256-10)");
    }
    const std::string significant = part.substr(part.find_first_not_of('0'));
    if (significant.size() > 7 || std::stoull(significant) > max_layer_width) {
      throw UsageError("--layers: width " + part + " in '" + text + "' is above the limit of " +
                       std::to_string(max_layer_width));
    }
    sizes.push_back(std::stoull(significant));
  }
  if (sizes.size() < 2) {
    throw UsageError("--layers: '" + text + "' needs at least an input and an output width");
  }
  std::uint64_t parameters = 0;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    parameters += (std::uint64_t(sizes[i]) + 1) * sizes[i + 1];  // < 2^41 per layer
    if (parameters > max_parameters) {
      throw UsageError("--layers: '" + text + "' has more than " + std::to_string(max_parameters) +
                       " weights and biases (the limit)");
    }
  }
  return sizes;
}

nn::Activation parse_activation(const std::string& name) {
  try {
    return nn::Activation::from_name(name);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--activation: ") + e.what());
  }
}

/// The loss --loss names: cross_entropy, or a registered loss. The last layer stays linear, so a
/// loss with a logits form takes the logits (fused with its softmax or sigmoid: exact).
nn::Loss parse_loss(const std::string& name) {
  if (name == "cross_entropy") return nn::Loss::categorical_cross_entropy(true);
  if (!nn::loss_registry().contains(name)) {
    throw UsageError("--loss: unknown '" + name + "' (cross_entropy, or a registered loss: " +
                     nn::loss_registry().joined_names() + ")");
  }
  return nn::Loss::from_name(name, nn::loss_registry().get(name).traits.accepts_logits);
}

/// The schedule --schedule names, built on `optimizer`.
std::unique_ptr<nn::Schedule> parse_schedule(const std::string& spec,
                                             nn::OptimizerBase& optimizer) {
  try {
    const auto [name, config] = nn::parse_schedule_spec(spec);
    return nn::build_schedule(optimizer, name, config);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--schedule: ") + e.what());
  }
}

/// An --optimizer choice: plain SGD, SGD with momentum or Nesterov momentum, or Adam.
struct OptimizerChoice {
  const char* name;
  /// The learning rate without --lr.
  double default_lr;
  /// --momentum applies.
  bool uses_momentum;
  /// Any registered optimizer, NAME[:KEY=VALUE,...] (optimizer_spec.hpp).
  bool from_spec = false;
};

const std::vector<OptimizerChoice>& optimizer_choices() {
  static const std::vector<OptimizerChoice> choices = {{"sgd", 0.1, false},
                                                       {"momentum", 0.01, true},
                                                       {"nesterov", 0.01, true},
                                                       {"adam", default_adam_lr, false}};
  return choices;
}

/// The choice --optimizer names: one of the above, or a registered optimizer with its settings
/// (optimizer_spec.hpp, adamw:weight_decay=0.01), whose --lr defaults to 0.001.
OptimizerChoice optimizer_choice(const std::string& name) {
  std::vector<std::string> names;
  for (const OptimizerChoice& c : optimizer_choices()) {
    if (name == c.name) return c;
    names.emplace_back(c.name);
  }
  if (registered_optimizer(name)) return {"", 0.001, false, true};
  for (const std::string& registered : nn::optimizer_registry().names()) {
    std::string lower = registered;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (std::find(names.begin(), names.end(), lower) == names.end()) names.push_back(lower);
  }
  throw UsageError(
      "--optimizer: unknown '" + name + "' (sgd, momentum, nesterov, adam)" +
      did_you_mean(name.substr(0, name.find(':')), names) +
      "; any registered optimizer also works, with settings: " + optimizer_spec_help());
}

}  // namespace

std::string text_of(double v) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, end);
}

double default_lr(const std::string& optimizer) { return optimizer_choice(optimizer).default_lr; }

double default_lr_decay(std::size_t epochs) {
  return epochs > 1 ? std::pow(default_final_lr_fraction, 1.0 / static_cast<double>(epochs - 1))
                    : 1.0;
}

namespace {

std::unique_ptr<nn::Optimizer> make_optimizer(const TrainArgs& a) {
  if (a.optimizer == "adam") return std::make_unique<nn::Adam>(a.lr);
  const OptimizerChoice choice = optimizer_choice(a.optimizer);
  if (choice.from_spec) return optimizer_from_spec(a.optimizer, a.lr);
  return std::make_unique<nn::SGD>(a.lr, choice.uses_momentum ? a.momentum : 0.0,
                                   a.optimizer == "nesterov");
}

/// The EarlyStopping callback --early-stopping describes: "patience=3", with monitor (val_loss),
/// min_delta (0) and restore_best_weights (0) as further KEY=VALUE settings.
std::unique_ptr<nn::EarlyStopping> parse_early_stopping(const std::string& spec) {
  nn::Record settings;
  try {
    settings = nn::parse_schedule_spec("early_stopping:" + spec).second;
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--early-stopping: ") + e.what());
  }
  std::string monitor = "val_loss";
  std::int64_t patience = 0;
  double min_delta = 0;
  bool restore = false;
  try {
    for (const auto& [key, value] : settings.fields()) {
      if (key == "monitor") {
        monitor = settings.text(key);
      } else if (key == "patience") {
        patience = settings.integer(key);
      } else if (key == "min_delta") {
        min_delta = settings.number(key);
      } else if (key == "restore_best_weights") {
        restore = settings.flag(key);
      } else {
        throw UsageError("--early-stopping: unknown setting '" + key +
                         "' (patience, monitor, min_delta, restore_best_weights)");
      }
    }
    if (patience < 0 || patience > 1000000) {
      throw UsageError("--early-stopping: patience must be from 0 to 1000000, got " +
                       std::to_string(patience));
    }
    return std::make_unique<nn::EarlyStopping>(monitor, static_cast<std::size_t>(patience),
                                               min_delta, restore);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--early-stopping: ") + e.what());
  }
}

std::string percent(double fraction) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f %%", 100 * fraction);
  return buffer;
}

/// What the flags ask for, checked before any data is read.
struct TrainPlan {
  /// The flags, a resumed run's filled in from its checkpoint; --lr and --lr-decay resolved
  /// to their defaults when not given.
  TrainArgs args;
  /// The checkpoint a resumed run continues from.
  std::optional<std::string> checkpoint;
  /// What that checkpoint recorded of its run.
  nn::Record run_info;
  /// The epochs it has completed.
  std::size_t epochs_done = 0;
  nn::Activation activation;
  nn::Loss loss;
  /// --layers' widths; empty when the data decides (<features>-256-<classes>).
  std::vector<std::size_t> layers;
  /// That checkpoint, read once: its run_info, its model and its state.
  std::shared_ptr<io::LoadedCheckpoint> saved;
};

/// Checks every flag, alone and against the others, before any data is read: a typo must cost
/// no loading, and a bad output path not the trained model. Output directories (the
/// checkpoints') are created here, last.
TrainPlan check_train(const TrainArgs& given, const CLI::App& cmd) {
  TrainArgs a = given;
  std::optional<std::string> checkpoint;
  std::shared_ptr<io::LoadedCheckpoint> saved;
  nn::Record run_info;
  std::size_t epochs_done = 0;
  if (!given.resume.empty()) {
    checkpoint = io::latest_checkpoint(given.resume);
    if (!checkpoint) {
      throw UsageError("--resume: no checkpoint-<step>.rg file in " + given.resume);
    }
    saved = std::make_shared<io::LoadedCheckpoint>(*checkpoint);
    run_info = saved->train_state().run_info;
    epochs_done = saved->train_state().epoch;
    a = resumed_args(given, cmd, run_info, *checkpoint);
    if (cmd.count("--epochs") > 0 && a.epochs <= epochs_done) {
      throw UsageError("--epochs " + std::to_string(a.epochs) + ": the run being resumed has " +
                       "already trained " + std::to_string(epochs_done) + " epochs (" +
                       *checkpoint + "); give more than " + std::to_string(epochs_done) +
                       " to train further");
    }
  }
  if (a.data.label_column == "auto") {
    throw UsageError(
        "--label-column: 'auto' is for evaluate and predict, which compare the file with a "
        "model's input; train needs the column's number (-1: the last) or 'none'");
  }
  const OptimizerChoice optimizer = optimizer_choice(a.optimizer);
  if (cmd.count("--momentum") > 0 && !optimizer.uses_momentum) {
    throw UsageError("--momentum: --optimizer " + a.optimizer +
                     " has no momentum factor; for SGD with momentum use --optimizer momentum "
                     "(or nesterov) --momentum " +
                     text_of(a.momentum));
  }
  if (optimizer.from_spec) {
    optimizer_from_spec(a.optimizer, a.lr > 0 ? a.lr : optimizer.default_lr);
  }
  if (!a.early_stopping.empty()) parse_early_stopping(a.early_stopping);
  if (!a.model.empty() && a.model != "mlp" && !a.layers.empty()) {
    throw UsageError("--layers and --model both describe the network: give one");
  }
  if (!a.model.empty() && a.model != "mlp" && !model_preset(a.model, 1)) check_spec_names(a.model);
  if (!a.input_shape.empty()) parse_input_shape("--input-shape", a.input_shape);
  if (a.checkpoint_every > 0 && a.checkpoint_dir.empty()) {
    throw UsageError("--checkpoint-every: needs --checkpoint-dir");
  }
  if (!a.schedule.empty() && a.lr_decay > 0) {
    throw UsageError(
        "--schedule and --lr-decay both set how the learning rate changes: give one "
        "(--lr-decay G is --schedule exponential_lr:gamma=G)");
  }
  // The defaults resolved, so that checkpoints record (and --resume compares) real values.
  if (a.lr == 0) a.lr = optimizer.default_lr;
  if (a.schedule.empty() && a.lr_decay == 0) a.lr_decay = default_lr_decay(a.epochs);
  if (a.lr_decay < 0 || a.lr_decay > 1) {
    throw UsageError("--lr-decay: must be in [0, 1], got " + text_of(a.lr_decay));
  }
  if (a.validation_split < 0 || a.validation_split >= 1) {
    throw UsageError("--validation-split: must be in [0, 1), got " + text_of(a.validation_split));
  }
  TrainPlan plan{a,
                 checkpoint,
                 run_info,
                 epochs_done,
                 parse_activation(a.activation),
                 parse_loss(a.loss),
                 a.layers.empty() ? std::vector<std::size_t>{} : parse_layers(a.layers),
                 saved};
  if (!a.schedule.empty()) {
    nn::SGD probe(1.0);
    parse_schedule(a.schedule, probe);
  }
  if (!a.plot.empty()) check_plot_path(a.plot);
  // Under mpirun every process trains; process 0 alone writes.
  if (detect_launch().rank == 0) {
    // A resumed run may replace the files it was started to write (a kill can come after a
    // save); any other existing file only with --overwrite.
    auto replaceable = [&](const char* flag, const std::string& path) {
      return given.overwrite || (checkpoint && run_info.has(flag) &&
                                 resolved_path(path) == resolved_path(run_info.text(flag)));
    };
    check_output_path("--save", a.save, replaceable("--save", a.save));
    check_output_path("--history", a.history, replaceable("--history", a.history));
    check_output_path("--plot", a.plot, replaceable("--plot", a.plot));
    check_output_path("--checkpoint-dir", a.checkpoint_dir, true, true);
    if (!checkpoint && !a.checkpoint_dir.empty()) {
      if (const auto other = io::latest_checkpoint(a.checkpoint_dir)) {
        throw UsageError("--checkpoint-dir: " + a.checkpoint_dir +
                         " already holds the checkpoints of a run (" + *other +
                         "); continue it with --resume " + a.checkpoint_dir +
                         ", or choose another directory");
      }
    }
  }
  return plan;
}

void run_train(const TrainArgs& given, const CLI::App& cmd) {
  const auto start = std::chrono::steady_clock::now();
  const TrainPlan plan = check_train(given, cmd);
  const TrainArgs& a = plan.args;
  const std::optional<std::string>& checkpoint = plan.checkpoint;
  if (checkpoint) {
    std::cout << "resuming from " << *checkpoint << " (" << plan.epochs_done << " of " << a.epochs
              << " epochs done)\n";
    if (plan.epochs_done >= a.epochs) {
      std::cout << "the run has trained all its epochs: nothing left to train, writing its "
                   "outputs\n";
    }
  }
  const bool writer = detect_launch().rank == 0;
  // What the checkpoints record of the data, for a resumed run to check against (docs/cli.md,
  // "Resuming").
  std::vector<DataFile> data_files;
  if (checkpoint) {
    data_files = resumed_data(a.data.path, plan.run_info, *checkpoint);
  } else if (!a.checkpoint_dir.empty()) {
    data_files = data_fingerprint(a.data.path);
  }

  nn::manual_seed(a.seed);
  LoadedData loaded = load_data(a.data);
  data::Dataset& train = loaded.train;
  if (!train.has_labels()) {
    throw UsageError("--data: " + a.data.path + " has no labels to train on (--label-column)");
  }
  std::cout << "data: " << loaded.description << ", " << train.feature_count() << " features, "
            << train.num_classes() << " classes\n";

  // --model: a preset or a spec of layers (model_spec.hpp); "mlp" or nothing: --layers.
  const bool mlp = a.model.empty() || a.model == "mlp";
  const std::string spec =
      mlp ? std::string() : model_preset(a.model, train.num_classes()).value_or(a.model);
  // The shape each sample enters the model in: --input-shape, an IDX image as one channel for a
  // model that starts with images, or a row.
  Shape sample{train.feature_count()};
  if (!a.input_shape.empty()) {
    sample = parse_input_shape("--input-shape", a.input_shape);
  } else if (!mlp && spec_wants_images(spec) && train.sample_shape().size() == 2) {
    sample = Shape{1, train.sample_shape()[0], train.sample_shape()[1]};
  }
  if (sample.size() > 1) {
    try {
      train.set_batch_sample_shape(sample);
    } catch (const std::invalid_argument& e) {
      throw UsageError("--input-shape: " + a.input_shape + ": " + e.what());
    }
  }
  std::vector<std::size_t> sizes;
  if (mlp) {
    const std::string layers_text = a.layers.empty() ? std::to_string(train.feature_count()) + "-" +
                                                           std::to_string(default_hidden) + "-" +
                                                           std::to_string(train.num_classes())
                                                     : a.layers;
    sizes = plan.layers.empty() ? parse_layers(layers_text) : plan.layers;
    if (sizes.front() != train.feature_count()) {
      throw UsageError("--layers: " + layers_text + " starts with " +
                       std::to_string(sizes.front()) + " inputs but the data has " +
                       std::to_string(train.feature_count()) + " features");
    }
    if (sizes.back() != train.num_classes()) {
      throw UsageError("--layers: " + layers_text + " ends with " + std::to_string(sizes.back()) +
                       " outputs but the data has " + std::to_string(train.num_classes()) +
                       " classes");
    }
  }

  nn::Sequential model;
  if (checkpoint) {
    model = plan.saved->take_model();
  } else {
    // The model scales its own input (pixels / 255 for IDX), so that a saved model predicts
    // from raw features; the data then stays raw.
    const data::FeatureScaler& scaler = train.scaler();
    const bool identity =
        std::all_of(scaler.offset.begin(), scaler.offset.end(), [](float v) { return v == 0; }) &&
        std::all_of(scaler.scale.begin(), scaler.scale.end(), [](float v) { return v == 1; });
    if (!identity) model.add(nn::FeatureScaling(scaler.offset, scaler.scale));
    if (loaded.directory) {
      model.set_class_names(guess_class_names(a.data, true, train.num_classes()));
    } else if (!loaded.class_names.empty()) {
      model.set_class_names(loaded.class_names);
    }
    // He initialization suits the relu family; Glorot the saturating functions.
    const nn::Initializer init = plan.activation.rectifier() ? nn::Initializer::he_uniform()
                                                             : nn::Initializer::glorot_uniform();
    if (!mlp) {
      model.set_input_shape(sample);
      add_model_spec(model, spec, sample);
      const Shape expected{0, train.num_classes()};
      Shape batch(sample.size() + 1);
      std::copy(sample.begin(), sample.end(), batch.begin() + 1);
      if (model.output_shape(batch) != expected) {
        throw UsageError("--model: the last layer gives " +
                         shape_string(model.output_shape(batch)) + " per batch but the data has " +
                         std::to_string(train.num_classes()) + " classes: end with dense(" +
                         std::to_string(train.num_classes()) + ")");
      }
    }
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
      const bool last = i + 2 == sizes.size();
      model.add(nn::Dense(sizes[i], sizes[i + 1], last ? nn::Activation::linear() : plan.activation,
                          last ? nn::Initializer::glorot_uniform() : init));
    }
    model.compile(plan.loss, make_optimizer(a), {"accuracy"});
  }
  match_model_scaling(model, train);
  std::cout << model.summary();

  const io::DatasetSource source(
      train, model.loss().sparse() ? io::Targets::class_ids : io::Targets::rows);
  nn::FitOptions options;
  options.epochs = a.epochs;
  options.batch_size = a.batch_size;
  options.validation_split = a.validation_split;
  options.seed = a.seed;
  options.verbose = a.verbose;
  // Without --schedule the rate decays exponentially by --lr-decay (resolved in check_train).
  std::unique_ptr<nn::Schedule> schedule;
  if (!a.schedule.empty()) {
    schedule = parse_schedule(a.schedule, model.optimizer());
  } else if (a.lr_decay < 1) {
    schedule = std::make_unique<nn::ExponentialLR>(model.optimizer(), a.lr_decay);
  }
  if (schedule) options.callbacks.push_back(schedule.get());
  std::unique_ptr<nn::EarlyStopping> early_stopping;
  if (!a.early_stopping.empty()) {
    early_stopping = parse_early_stopping(a.early_stopping);
    options.callbacks.push_back(early_stopping.get());
  }
  std::optional<io::Checkpoint> checkpoints;
  if (!a.checkpoint_dir.empty()) {
    checkpoints.emplace(a.checkpoint_dir, a.checkpoint_every);
    options.callbacks.push_back(&*checkpoints);
  }
#ifdef RETROGRAD_CLI_MPI
  std::optional<distributed::DataParallel> group;
  if (detect_launch().size > 1) {
    group.emplace(distributed::Communicator::current("retrograd train"));
    options.shards = &*group;
    std::cout << "data parallel: " << group->size() << " processes, each on 1/" << group->size()
              << " of every batch of " << a.batch_size << "\n";
  }
#endif
  nn::Trainer trainer(model, model.loss(), model.optimizer(), options, model.measures_accuracy());
  trainer.state().run_info = run_info_of(a, data_files);
  if (checkpoint) {
    io::restore_checkpoint(trainer, *plan.saved);
    trainer.state().run_info = run_info_of(a, data_files);
  }
  std::cout << "optimizer: " << model.optimizer().name();
  if (const auto* sgd = dynamic_cast<const nn::SGD*>(&model.optimizer());
      sgd && sgd->momentum() > 0) {
    std::cout << (sgd->nesterov() ? " with Nesterov momentum " : " with momentum ")
              << sgd->momentum() << ",";
  }
  std::cout << " lr " << model.optimizer().learning_rate() << " (";
  if (a.schedule.empty()) {
    std::cout << "x" << a.lr_decay << " per epoch";
  } else {
    std::cout << "schedule " << nn::schedule_spec(*schedule);
  }
  std::cout << "), loss " << model.loss().name() << ", " << a.epochs << " epochs, batch size "
            << a.batch_size << ", seed " << a.seed << "\n";
  const auto fit_start = std::chrono::steady_clock::now();
  std::optional<DetectAnomalyGuard> anomaly;
  if (a.detect_anomaly) anomaly.emplace();
  const nn::History history = trainer.fit(source);
  const double fit_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fit_start).count();

  if (history.epochs() > 0) {
    std::cout << "final: loss " << history.loss.back() << ", accuracy "
              << percent(history.accuracy.back());
    if (!history.val_accuracy.empty()) {
      std::cout << ", val_loss " << history.val_loss.back() << ", val_accuracy "
                << percent(history.val_accuracy.back());
    }
    std::cout << "\n";
  }
  std::cout << "trained in " << fit_seconds << " s\n";
  if (!writer) return;
  if (!a.save.empty()) {
    io::save_model(model, a.save);
    std::cout << "model: " << a.save << "\n";
  } else {
    std::cout << "model: not saved (--save FILE keeps it)\n";
  }
  if (!a.history.empty()) {
    io::save_history_csv(history, a.history);
    std::cout << "history: " << a.history << "\n";
  }
  if (!a.plot.empty()) std::cout << plot_history(history, a.plot) << "\n";
  if (loaded.directory && !a.save.empty()) {
    std::cout << "next: retrograd evaluate --model " << a.save << " --data " << a.data.path << "\n";
  }
  std::cout << "total "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train a classifier (linear output, softmax cross-entropy): an MLP (--layers), the CNN "
      "preset or any stack of registered layers (--model)");
  add_data_options(cmd, a->data,
                   "Training data: an MNIST-format IDX directory (its train-* files; the t10k-* "
                   "test files are for evaluate) or a CSV file with a label column");
  cmd->add_option("--layers", a->layers,
                  "Layer widths, input to output, e.g. 784-256-10 (default: <features>-" +
                      std::to_string(default_hidden) + "-<classes> of the data); each at most " +
                      std::to_string(max_layer_width) + ", at most " +
                      std::to_string(max_parameters) + " weights in all")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            try {
              parse_layers(text);
            } catch (const UsageError& e) {
              return std::string(e.what()).substr(std::string("--layers: ").size());
            }
            return "";
          },
          "W-W-..."));
  cmd->add_option("--model", a->model,
                  "The network: mlp (dense layers, see --layers; the default), cnn (conv 32 3x3, "
                  "relu, max-pool 2, conv 64 3x3, relu, max-pool 2, flatten, dense 128, relu, "
                  "dropout 0.25, dense <classes>), or a spec of layers separated by spaces, e.g. "
                  "'conv2d(32,3,padding=1) relu maxpool2d(2) flatten dense(10)'; input widths "
                  "and channels follow from the data. Layers and their settings:\n" +
                      model_spec_help());
  cmd->add_option("--input-shape", a->input_shape,
                  "The shape of one sample, CxHxW (e.g. 1x28x28), for CSV rows fed to a "
                  "convolutional --model (an IDX directory's images are 1xHxW by themselves)");
  cmd->add_option("--activation", a->activation,
                  "Hidden activation of --layers' network, a registered activation: " +
                      nn::activation_registry().joined_names())
      ->capture_default_str();
  cmd->add_option("--loss", a->loss,
                  "Loss: cross_entropy (categorical, on the logits, softmax fused) or a "
                  "registered loss (" +
                      nn::loss_registry().joined_names() +
                      "); one with a logits form takes the logits")
      ->capture_default_str();
  cmd->add_option("--optimizer", a->optimizer,
                  "sgd, momentum (SGD with --momentum), nesterov (SGD with Nesterov momentum), "
                  "adam, or any registered optimizer as NAME[:KEY=VALUE,...] with the settings to "
                  "change (--lr 0.001 unless given), e.g. adamw:weight_decay=0.01; registered, "
                  "with their defaults: " +
                      optimizer_spec_help())
      ->capture_default_str();
  cmd->add_option("--early-stopping", a->early_stopping,
                  "Stop when the validation loss has not improved for PATIENCE epochs: "
                  "patience=3, with monitor=val_loss|val_accuracy|loss|accuracy, min_delta=0 and "
                  "restore_best_weights=0|1 as further KEY=VALUE settings");
  cmd->add_option("--lr", a->lr,
                  "Initial learning rate (default by optimizer: sgd 0.1, momentum and nesterov "
                  "0.01, adam 0.002)")
      ->check(positive_number());
  cmd->add_option("--momentum", a->momentum,
                  "Momentum factor of --optimizer momentum and nesterov (an error with the "
                  "others)")
      ->capture_default_str()
      ->check(number_between(0, 1, Ends::open_high));
  cmd->add_option("--lr-decay", a->lr_decay,
                  "Factor applied to the learning rate after every epoch; 1 keeps it constant "
                  "(default: the factor that brings it to 1/16 of --lr by the last epoch, 0.5 "
                  "for 5 epochs)")
      ->check(number_between(0, 1, Ends::open_low));
  cmd->add_option("--schedule", a->schedule,
                  "Learning-rate schedule instead of --lr-decay: NAME or "
                  "NAME:KEY=VALUE,KEY=VALUE with a registered schedule (" +
                      nn::schedule_registry().joined_names() +
                      "), e.g. step_lr:step_size=2,gamma=0.5");
  cmd->add_option("--epochs", a->epochs, "Passes over the training data")
      ->capture_default_str()
      ->check(whole_number(1, max_epochs));
  cmd->add_option("--batch-size", a->batch_size, "Samples per update")
      ->capture_default_str()
      ->check(whole_number(1, max_batch_size));
  cmd->add_option("--seed", a->seed, "Seed of the initial weights and the shuffling")
      ->capture_default_str()
      ->check(whole_number(0, std::numeric_limits<std::uint64_t>::max()));
  cmd->add_option("--validation-split", a->validation_split,
                  "Fraction of the training rows (the last ones) held out for validation")
      ->capture_default_str()
      ->check(number_between(0, 1, Ends::open_high));
  cmd->add_option("--save", a->save,
                  "Save the trained model to this file (default: not saved); missing "
                  "directories are created");
  cmd->add_option("--history", a->history,
                  "Write loss and accuracy per epoch to this CSV file (default: not written)");
  cmd->add_option("--plot", a->plot,
                  "Draw loss and accuracy per epoch into this .png or .svg file with gnuplot "
                  "(default: not drawn)");
  cmd->add_flag("--overwrite", a->overwrite,
                "Replace files that --save, --history and --plot name if they exist (without "
                "it an existing file is an error, found before training)");
  cmd->add_option("--verbose", a->verbose,
                  "0 silent (errors only, on stderr), 1 progress bar, 2 one line per epoch")
      ->capture_default_str()
      ->check(whole_number(0, 2));
  cmd->add_option("--checkpoint-dir", a->checkpoint_dir,
                  "Directory for checkpoints of the run (the newest 3 are kept): at the end of "
                  "every epoch, and every --checkpoint-every batches");
  cmd->add_option("--checkpoint-every", a->checkpoint_every,
                  "Also checkpoint every N batches (0: at the end of every epoch only)")
      ->capture_default_str()
      ->check(whole_number(0, std::numeric_limits<std::uint32_t>::max()));
  cmd->add_option("--resume", a->resume,
                  "Continue the run whose checkpoints are in DIR, from its newest checkpoint, to "
                  "its planned number of epochs (or more with --epochs), from any directory: "
                  "its flags come from the checkpoint; --save, --history and --plot may be "
                  "changed, --data may name another path to the same bytes (size and crc32 "
                  "checked), another flag given with another value is an error");
  cmd->add_flag("--detect-anomaly", a->detect_anomaly,
                "Stop at the first op whose value or gradient is NaN or infinite, naming it, its "
                "input shapes and the epoch and batch (slower: every value is checked)");
  cmd->callback([a, cmd] {
    const QuietStdout quiet(a->verbose == 0);
    run_train(*a, *cmd);
  });
}

}  // namespace retrograd::cli
