#include "retrograd/io/checkpoint.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "model_file.hpp"
#include "retrograd/nn/init.hpp"

namespace retrograd::io {

namespace fs = std::filesystem;

namespace {

std::string engine_text(const std::mt19937_64& engine) {
  std::ostringstream out;
  out << engine;
  return out.str();
}

void restore_engine(std::mt19937_64& engine, const nn::Record& engines, const std::string& name) {
  std::istringstream in(engines.text(name));
  std::mt19937_64 restored;
  in >> restored;
  if (!in) engines.fail("engine '" + name + "' is not a random engine's state");
  engine = restored;
}

/// The step in a "checkpoint-<step>.rg" name, or nothing for other names.
std::optional<std::uint64_t> step_of(const std::string& filename) {
  const std::string prefix = "checkpoint-", suffix = ".rg";
  if (filename.size() <= prefix.size() + suffix.size() ||
      filename.compare(0, prefix.size(), prefix) != 0 ||
      filename.compare(filename.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  const std::string digits =
      filename.substr(prefix.size(), filename.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 19 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(digits);
}
}  // namespace

std::vector<std::uint8_t> serialize_checkpoint(nn::Trainer& trainer) {
  nn::Module& model = trainer.model();
  nn::Record root = detail::model_record(model);
  if (!root.has("training")) {
    // A model that is not a compiled Sequential: the trainer's loss and optimizer.
    nn::Record training("training");
    training.set("loss", trainer.loss().base_name());
    training.set("from_logits", std::int64_t{trainer.loss().from_logits()});
    training.set("accuracy", std::int64_t{trainer.measures_accuracy()});
    training.set("optimizer", nn::nested(nn::optimizer_record(trainer.optimizer())));
    root.set("training", nn::nested(std::move(training)));
  }
  nn::Record checkpoint("checkpoint");
  nn::Record state("train state");
  trainer.state().save(state);
  checkpoint.set("train_state", nn::nested(std::move(state)));
  nn::Record callbacks("callbacks");
  trainer.save_callbacks(callbacks);
  checkpoint.set("callbacks", nn::nested(std::move(callbacks)));
  nn::Record engines("engines");
  for (const nn::NamedEngine& e : model.named_engines())
    engines.set(e.name, engine_text(*e.engine));
  engines.set("default", engine_text(nn::default_engine()));
  checkpoint.set("engines", nn::nested(std::move(engines)));
  // The optimizer the trainer steps (also when the model is a compiled Sequential whose own
  // optimizer is another object).
  checkpoint.set("optimizer", nn::nested(nn::optimizer_record(trainer.optimizer())));
  root.set("checkpoint", nn::nested(std::move(checkpoint)));
  return detail::file_bytes(root);
}

void save_checkpoint(nn::Trainer& trainer, const std::string& path) {
  detail::write_file(path, serialize_checkpoint(trainer));
}

namespace {
const nn::Record& checkpoint_of(const nn::Record& root, const std::string& path) {
  if (!root.has("checkpoint")) {
    throw ModelFileError(path, "is a model file without a training state, not a checkpoint");
  }
  return root.record("checkpoint");
}

nn::TrainState train_state_of(const nn::Record& root, const std::string& path) {
  try {
    return nn::TrainState::load(checkpoint_of(root, path).record("train_state"));
  } catch (const nn::RecordError& e) {
    throw ModelFileError(path, std::string("corrupt: ") + e.what());
  }
}
}  // namespace

nn::TrainState read_train_state(const std::string& path) {
  const nn::Record root = detail::file_record(detail::read_file(path), path);
  return train_state_of(root, path);
}

LoadedCheckpoint::LoadedCheckpoint(const std::string& path)
    : path_(path), root_(detail::file_record(detail::read_file(path), path)) {
  state_ = train_state_of(root_, path);
  model_ = detail::build_model(root_, path);
  if (auto* sequential = dynamic_cast<nn::Sequential*>(model_.get())) {
    detail::compile_from(*sequential, root_, path);
  }
  parameters_ = model_->named_parameters();
  buffers_ = model_->named_buffers();
}

nn::Sequential LoadedCheckpoint::take_model() {
  if (taken_) throw std::logic_error("LoadedCheckpoint: the model of " + path_ + " was taken");
  auto* sequential = dynamic_cast<nn::Sequential*>(model_.get());
  if (!sequential) {
    throw ModelFileError(path_, "holds a model of type " + model_->type() +
                                    ", not a Sequential (load it with load_module)");
  }
  taken_ = true;
  return std::move(*sequential);
}

void restore_checkpoint(nn::Trainer& trainer, const std::string& path) {
  restore_checkpoint(trainer, LoadedCheckpoint(path));
}

void restore_checkpoint(nn::Trainer& trainer, const LoadedCheckpoint& loaded) {
  // Everything is decoded and checked against the trainer before anything of it changes: a
  // checkpoint of another run is refused with the trainer as it was.
  const std::string& path = loaded.path();
  const nn::Record& checkpoint = checkpoint_of(loaded.root_, path);
  const auto corrupt = [&](const std::exception& e) {
    return ModelFileError(path, std::string("corrupt: ") + e.what());
  };
  const auto mismatch = [&](const std::string& what) {
    return std::invalid_argument("restore_checkpoint: " + path + " " + what);
  };
  nn::TrainState state = loaded.train_state();
  trainer.check_restorable(state);
  // Copy the saved model's tensors by name: the layouts must agree.
  nn::Module& model = trainer.model();
  auto params = model.named_parameters();
  const auto& saved_params = loaded.parameters_;
  auto buffers = model.named_buffers();
  const auto& saved_buffers = loaded.buffers_;
  if (params.size() != saved_params.size() || buffers.size() != saved_buffers.size()) {
    throw mismatch("holds another model: " + std::to_string(saved_params.size()) +
                   " parameters and " + std::to_string(saved_buffers.size()) +
                   " buffers, this model has " + std::to_string(params.size()) + " and " +
                   std::to_string(buffers.size()));
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (params[i].name != saved_params[i].name ||
        params[i].var.shape() != saved_params[i].var.shape()) {
      throw mismatch("holds another model: layer tensor '" + saved_params[i].name + "' " +
                     shape_string(saved_params[i].var.shape()) + " against '" + params[i].name +
                     "' " + shape_string(params[i].var.shape()));
    }
  }
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    if (buffers[i].name != saved_buffers[i].name ||
        buffers[i].tensor->shape() != saved_buffers[i].tensor->shape()) {
      throw mismatch("holds another model: buffer '" + saved_buffers[i].name + "' against '" +
                     buffers[i].name + "'");
    }
  }
  std::vector<std::mt19937_64> engines;
  const std::vector<nn::NamedEngine> named_engines = model.named_engines();
  nn::Optimizer& optimizer = trainer.optimizer();
  try {
    const nn::Record& saved_engines = checkpoint.record("engines");
    for (const nn::NamedEngine& e : named_engines) {
      restore_engine(engines.emplace_back(), saved_engines, e.name);
    }
    restore_engine(engines.emplace_back(), saved_engines, "default");
    const nn::Record& opt = checkpoint.record("optimizer");
    if (opt.text("name") != optimizer.name()) {
      throw mismatch("was saved by a run with optimizer " + opt.text("name") + ", this run's is " +
                     optimizer.name() + ": give it the same optimizer");
    }
    const std::size_t saved_slots = opt.record("state").size();
    const std::size_t slots = optimizer.state().size();
    if (saved_slots != slots) {
      throw mismatch("was saved by a run whose " + optimizer.name() + " keeps " +
                     std::to_string(saved_slots) + " state tensors, this run's keeps " +
                     std::to_string(slots) +
                     " (another model, or other settings such as momentum): give it the same "
                     "optimizer settings");
    }
    const std::string callbacks = trainer.callbacks_differ(checkpoint.record("callbacks"));
    if (!callbacks.empty()) throw mismatch(callbacks);
  } catch (const nn::RecordError& e) {
    throw corrupt(e);
  }
  // What remains can still find damaged values (a callback's state, an optimizer tensor of the
  // wrong shape): undone from these copies before the error goes on.
  std::vector<Tensor> state_before;
  for (const nn::NamedState<float>& s : optimizer.state()) state_before.push_back(*s.tensor);
  const double learning_rate_before = optimizer.learning_rate();
  const std::size_t iterations_before = optimizer.iterations();
  nn::Record callbacks_before("callbacks");
  trainer.save_callbacks(callbacks_before);
  try {
    nn::restore_optimizer_state(optimizer, checkpoint.record("optimizer"));
    trainer.restore_callbacks(checkpoint.record("callbacks"));
  } catch (const std::invalid_argument& e) {
    std::size_t k = 0;
    for (const nn::NamedState<float>& s : optimizer.state()) *s.tensor = state_before[k++];
    optimizer.set_learning_rate(learning_rate_before);
    optimizer.set_iterations(iterations_before);
    trainer.restore_callbacks(callbacks_before);
    if (dynamic_cast<const nn::RecordError*>(&e)) throw corrupt(e);
    throw;
  }
  for (std::size_t i = 0; i < named_engines.size(); ++i) *named_engines[i].engine = engines[i];
  nn::default_engine() = engines.back();
  for (std::size_t i = 0; i < params.size(); ++i) {
    // The model taken from `loaded` holds the saved values already.
    if (params[i].var.node() != saved_params[i].var.node()) {
      params[i].var.value() = saved_params[i].var.value();
    }
  }
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    if (buffers[i].tensor != saved_buffers[i].tensor) *buffers[i].tensor = *saved_buffers[i].tensor;
  }
  trainer.restore_state(std::move(state));
}

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<std::uint64_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (const auto step = step_of(entry.path().filename().string())) {
      found.emplace_back(*step, entry.path().string());
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [step, path] : found) out.push_back(std::move(path));
  return out;
}

std::optional<std::string> latest_checkpoint(const std::string& dir) {
  std::vector<std::string> all = list_checkpoints(dir);
  if (all.empty()) return std::nullopt;
  return all.back();
}

Checkpoint::Checkpoint(std::string dir, std::size_t every_batches, std::size_t keep)
    : dir_(std::move(dir)), every_(every_batches), keep_(keep) {
  if (keep == 0) throw std::invalid_argument("Checkpoint: keep must be at least 1");
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_)) {
    throw std::invalid_argument("Checkpoint: cannot create the directory " + dir_ + ": " +
                                ec.message());
  }
}

void Checkpoint::on_train_begin(nn::Trainer& trainer) {
  // Another run's newer files would push this run's out of the newest `keep`.
  if (!trainer.state().fresh()) return;
  if (const auto other = latest_checkpoint(dir_)) {
    throw std::invalid_argument("Checkpoint: " + dir_ +
                                " already holds the checkpoints of a run (" + *other +
                                "); restore it, or write to another directory");
  }
}

void Checkpoint::on_checkpoint(nn::Trainer& trainer, bool epoch_end) {
  const nn::TrainState& s = trainer.state();
  // The last batch of an epoch is saved by the epoch's end, one step later in the loop.
  const bool batch_due =
      !epoch_end && every_ > 0 && s.step % every_ == 0 && s.batch < trainer.batches_per_epoch();
  if (!epoch_end && !batch_due) return;
  // Every process of a data-parallel run decides alike: the group makes the optimizer's state
  // whole (a sharded update keeps each part current on one process), then shard 0 writes.
  nn::ShardGroup* group = trainer.options().shards;
  if (group) {
    group->synchronize(trainer.optimizer());
    if (group->rank() != 0) return;
  }
  const std::string name = "checkpoint-" + std::to_string(s.step) + ".rg";
  const std::string path = (fs::path(dir_) / name).string();
  save_checkpoint(trainer, path);
  last_ = path;
  std::vector<std::string> all = list_checkpoints(dir_);
  for (std::size_t i = 0; i + keep_ < all.size(); ++i) std::remove(all[i].c_str());
}

}  // namespace retrograd::io
