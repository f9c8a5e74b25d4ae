// Checkpoints and the registries behind model files: a run checkpointed and restored ends
// bit-identical to an uninterrupted one; files are kept K at a time; a user's registered layer
// saves and loads like a built-in; an unregistered one is refused naming the registered ones;
// version 1 files still load; a few hostile bytes cannot make the loader allocate much.

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "retrograd/io/checkpoint.hpp"
#include "retrograd/io/model_io.hpp"
#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/feature_scaling.hpp"
#include "retrograd/nn/regularization.hpp"
#include "retrograd/nn/schedule.hpp"
#include "retrograd/ops.hpp"

using namespace retrograd;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("retrograd_test_checkpoint_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

bool identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), 4 * a.size()) == 0;
}

Tensor rows(std::size_t n, std::size_t features) {
  Tensor x = Tensor::from_shape({n, features});
  for (std::size_t i = 0; i < x.size(); ++i)
    x.data()[i] = 0.2f * static_cast<float>((i * 37) % 11) - 1.f;
  return x;
}

Tensor one_hot_rows(std::size_t n, std::size_t classes) {
  Tensor y = zeros<float>({n, classes});
  for (std::size_t i = 0; i < n; ++i) y(i, (i * 7) % classes) = 1.f;
  return y;
}

nn::Sequential make_model() {
  nn::Sequential m;
  m.add(nn::Dense(4, 8, nn::Activation::relu(), nn::Initializer::he_uniform(), 11));
  m.add(nn::BatchNorm(8));
  m.add(nn::Dropout(0.3, 12));
  m.add(nn::Dense(8, 3, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 13));
  m.compile(nn::Loss::categorical_cross_entropy(true), nn::Adam(0.01), {"accuracy"});
  return m;
}

nn::FitOptions options(std::size_t epochs) {
  nn::FitOptions o;
  o.epochs = epochs;
  o.batch_size = 7;
  o.verbose = 0;
  o.seed = 5;
  o.validation_split = 0.2;
  return o;
}

/// Stops a run by throwing once the step count reaches `at` (after the checkpoint hook).
class Kill : public nn::Callback {
 public:
  explicit Kill(std::uint64_t at) : at_(at) {}
  void on_checkpoint(nn::Trainer& t, bool) override {
    if (t.state().step == at_) throw std::runtime_error("killed");
  }

 private:
  std::uint64_t at_;
};

/// y = x * s with one learned scale per feature: a layer the library does not know.
class Scale : public nn::Module {
 public:
  explicit Scale(std::size_t features)
      : nn::Module("scale"), s_(full<float>({features}, 1.f), requires_grad, "s") {}
  Var forward(const Var& x) override { return x * s_; }
  std::string type() const override { return "Scale"; }
  std::vector<nn::NamedParameter<float>> named_parameters() const override { return {{"s", s_}}; }
  static std::unique_ptr<Scale> from_record(const nn::LayerRecord& r) {
    return std::make_unique<Scale>(r.tensors.tensor("s").size());
  }

 private:
  Var s_;
};
RETROGRAD_REGISTER_LAYER(Scale);

class Unregistered : public nn::Module {
 public:
  Unregistered() : nn::Module("mystery") {}
  Var forward(const Var& x) override { return x; }
  std::string type() const override { return "Mystery"; }
};

}  // namespace

TEST_CASE("a run killed and restored from its checkpoints ends bit-identical", "[io][checkpoint]") {
  const Tensor x = rows(40, 4), y = one_hot_rows(40, 3);
  const nn::TensorBatchSource data(x, y);

  nn::Sequential straight = make_model();
  nn::ExponentialLR straight_decay(straight.optimizer(), 0.9);
  nn::FitOptions o = options(4);
  o.callbacks = {&straight_decay};
  const nn::History full =
      nn::Trainer(straight, straight.loss(), straight.optimizer(), o, true).fit(data);

  const fs::path dir = temp_dir("resume");
  // Killed at steps 3 (mid-epoch 1), 5 (an epoch end: 5 batches per epoch) and 13.
  for (const std::uint64_t kill_at : {3, 5, 13, 0}) {
    const auto latest = io::latest_checkpoint(dir.string());
    // Both ways to resume: from the path, and from the file loaded once (its model taken).
    std::optional<io::LoadedCheckpoint> saved;
    if (latest && (kill_at == 5 || kill_at == 0)) saved.emplace(*latest);
    nn::Sequential model = saved    ? saved->take_model()
                           : latest ? io::load_model(*latest)
                                    : make_model();
    nn::ExponentialLR decay(model.optimizer(), 0.9);
    io::Checkpoint checkpoints(dir.string(), 2, 2);
    Kill kill(kill_at);
    nn::FitOptions run = options(4);
    run.callbacks = {&decay, &checkpoints, &kill};
    nn::Trainer trainer(model, model.loss(), model.optimizer(), run, true);
    if (saved) {
      io::restore_checkpoint(trainer, *saved);
    } else if (latest) {
      io::restore_checkpoint(trainer, *latest);
    }
    if (kill_at != 0) {
      REQUIRE_THROWS_WITH(trainer.fit(data), "killed");
      continue;
    }
    const nn::History resumed = trainer.fit(data);
    CHECK(resumed.loss == full.loss);
    CHECK(resumed.val_accuracy == full.val_accuracy);
    const auto a = straight.named_parameters(), b = model.named_parameters();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(identical(a[i].var.value(), b[i].var.value()));
    const auto ba = straight.named_buffers(), bb = model.named_buffers();
    for (std::size_t i = 0; i < ba.size(); ++i) CHECK(identical(*ba[i].tensor, *bb[i].tensor));
    CHECK(model.optimizer().iterations() == straight.optimizer().iterations());
  }
  // keep = 2: only the newest two remain.
  CHECK(io::list_checkpoints(dir.string()).size() == 2);
}

TEST_CASE("a checkpoint loaded once restores into a model built elsewhere", "[io][checkpoint]") {
  const Tensor x = rows(14, 4), y = one_hot_rows(14, 3);
  const nn::TensorBatchSource data(x, y);
  const fs::path dir = temp_dir("loaded_once");
  nn::Sequential first = make_model();
  io::Checkpoint checkpoints(dir.string());
  nn::FitOptions o = options(1);
  o.callbacks = {&checkpoints};
  nn::Trainer(first, first.loss(), first.optimizer(), o, true).fit(data);

  io::LoadedCheckpoint saved(checkpoints.last_path());
  CHECK(saved.train_state().step == 2);
  // Not taken: the saved tensors are copied into the trainer's model, by name.
  nn::Sequential other = make_model();
  nn::Trainer trainer(other, other.loss(), other.optimizer(), options(1), true);
  for (Var p : other.parameters()) p.value().fill(0.5f);
  io::restore_checkpoint(trainer, saved);
  const auto a = first.named_parameters(), b = other.named_parameters();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(identical(a[i].var.value(), b[i].var.value()));
  CHECK(trainer.state().step == 2);
  nn::Sequential taken = saved.take_model();
  CHECK(taken.parameters().size() == a.size());
  CHECK_THROWS_WITH(saved.take_model(), Catch::Contains("was taken"));
}

TEST_CASE("Checkpoint writes every N batches and every epoch, keeping the newest K",
          "[io][checkpoint]") {
  const fs::path dir = temp_dir("keep");
  nn::Sequential model = make_model();
  io::Checkpoint checkpoints(dir.string(), 3, 10);
  nn::FitOptions o = options(2);
  o.callbacks = {&checkpoints};
  const Tensor x = rows(40, 4), y = one_hot_rows(40, 3);
  nn::Trainer(model, model.loss(), model.optimizer(), o, true).fit(nn::TensorBatchSource(x, y));
  // 5 batches per epoch, 10 steps: batches 3, 6, 9 and the epoch ends 5 and 10.
  std::vector<std::string> names;
  for (const std::string& p : io::list_checkpoints(dir.string())) {
    names.push_back(fs::path(p).filename().string());
  }
  CHECK(names == std::vector<std::string>{"checkpoint-3.rg", "checkpoint-5.rg", "checkpoint-6.rg",
                                          "checkpoint-9.rg", "checkpoint-10.rg"});
  CHECK(checkpoints.last_path() == (dir / "checkpoint-10.rg").string());
  // A checkpoint is a model file too.
  const nn::Sequential loaded = io::load_model(checkpoints.last_path());
  CHECK(identical(loaded.predict(x), model.predict(x)));
  CHECK(io::read_train_state(checkpoints.last_path()).epoch == 2);
  // A plain model file is not a checkpoint.
  io::save_model(model, (dir / "plain.rg").string());
  nn::Trainer trainer(model, model.loss(), model.optimizer(), options(2), true);
  CHECK_THROWS_WITH(io::restore_checkpoint(trainer, (dir / "plain.rg").string()),
                    Catch::Contains("without a training state, not a checkpoint"));
  CHECK_THROWS_AS(io::Checkpoint(dir.string(), 1, 0), std::invalid_argument);
}

TEST_CASE("a registered custom layer saves and loads like a built-in", "[io][registry]") {
  nn::Sequential model;
  model.add(nn::Dense(3, 4, nn::Activation::tanh(), nn::Initializer::glorot_uniform(), 2));
  model.add(Scale(4));
  model.layer(1).named_parameters()[0].var.value() = Tensor{0.5f, -1.f, 2.f, 3.f};
  model.set_class_names({"a", "b", "c", "d"});
  const fs::path dir = temp_dir("custom");
  io::save_model(model, (dir / "m.rg").string());
  const nn::Sequential loaded = io::load_model((dir / "m.rg").string());
  CHECK(loaded.summary() == model.summary());
  CHECK(loaded.class_names() == model.class_names());
  const Tensor x = rows(5, 3);
  CHECK(identical(loaded.predict(x), model.predict(x)));

  nn::Sequential other;
  other.add(Unregistered());
  CHECK_THROWS_WITH(io::save_model(other, (dir / "x.rg").string()),
                    Catch::Contains("layer 'mystery_0' of type Mystery cannot be saved") &&
                        Catch::Contains("RETROGRAD_REGISTER_LAYER(Mystery)") &&
                        Catch::Contains("registered: Activation, AvgPool2D, BatchNorm, Conv2D, "
                                        "Dense, Dropout, FeatureScaling, Flatten, "
                                        "GlobalAvgPool2D, MaxPool2D, Scale, Sequential"));
  CHECK_THROWS_WITH(nn::layer_registry().get("Conv9D"),
                    Catch::Contains("unknown layer 'Conv9D' (registered: Activation"));
  CHECK_THROWS_WITH(nn::Activation::from_name("swish"),
                    Catch::Contains("unknown activation 'swish' (registered: leaky_relu, linear, "
                                    "relu, sigmoid, softmax, tanh)"));
}

TEST_CASE("a model that scales its own input predicts from raw features after loading",
          "[io][registry]") {
  nn::Sequential model;
  model.add(nn::FeatureScaling({1.f, -2.f}, {0.5f, 0.25f}));
  model.add(nn::Dense(2, 1, nn::Activation::linear(), nn::Initializer::constant(1), 0));
  const Tensor raw = {{3.f, 2.f}, {1.f, -2.f}};
  // (3 - 1) * 0.5 + (2 + 2) * 0.25 = 2; (1 - 1) * 0.5 + 0 = 0.
  const Tensor p = model.predict(raw);
  CHECK(p(0, 0) == 2.f);
  CHECK(p(1, 0) == 0.f);
  const fs::path dir = temp_dir("scaling");
  io::save_model(model, (dir / "m.rg").string());
  const nn::Sequential loaded = io::load_model((dir / "m.rg").string());
  CHECK(identical(loaded.predict(raw), p));
  CHECK(loaded.input_features() == 2);
  CHECK_THROWS_WITH(nn::FeatureScaling({1.f}, {1.f, 2.f}),
                    Catch::Contains("1 offsets and 2 scales"));
  CHECK_THROWS_WITH(nn::FeatureScaling({1.f}, {NAN}),
                    Catch::Contains("feature 0 has a non-finite offset or scale"));
}

TEST_CASE("a version 1 model file still loads and predicts as it did", "[io][checkpoint]") {
  const std::string dir = std::string(RETROGRAD_SOURCE_DIR) + "/tests/io/data/";
  nn::Sequential model = io::load_model(dir + "model_v1.rg");
  CHECK(model.size() == 2);
  CHECK(model.compiled());
  CHECK(model.optimizer().name() == "Adam");
  // The 60 rows of the CSV it was trained on (3 features, then the label) and its predictions
  // then, made by retrograd predict before version 2 existed.
  std::ifstream data(dir + "v1_data.csv"), expected(dir + "model_v1_predictions.csv");
  std::string line;
  std::getline(data, line);
  std::getline(expected, line);
  Tensor x = Tensor::from_shape({60, 3});
  std::vector<int> labels;
  for (std::size_t i = 0; i < 60; ++i) {
    std::getline(data, line);
    std::istringstream fields(line);
    std::string cell;
    for (std::size_t j = 0; j < 3; ++j) {
      std::getline(fields, cell, ',');
      x(i, j) = std::stof(cell);
    }
    std::getline(expected, line);
    labels.push_back(std::stoi(line.substr(line.find(',') + 1)));
  }
  const Tensor p = model.predict(x);
  for (std::size_t i = 0; i < 60; ++i) {
    std::size_t best = 0;
    for (std::size_t k = 1; k < 3; ++k) {
      if (p(i, k) > p(i, best)) best = k;
    }
    CHECK(static_cast<int>(best) == labels[i]);
  }
}

TEST_CASE("hostile model bytes fail with the offset before any large allocation",
          "[io][checkpoint]") {
  // A valid file, then its first tensor's dimensions raised to claim 2^40 values.
  nn::Sequential model;
  model.add(nn::Dense(2, 3));
  std::vector<std::uint8_t> bytes = io::serialize_model(model);
  const std::string key = std::string("\x01\0\0\0W", 5);
  const auto it = std::search(bytes.begin(), bytes.end(), key.begin(), key.end());
  REQUIRE(it != bytes.end());
  const std::size_t dims = static_cast<std::size_t>(it - bytes.begin()) + key.size() + 2;
  const std::uint64_t huge = std::uint64_t(1) << 20;
  std::memcpy(&bytes[dims], &huge, 8);
  std::memcpy(&bytes[dims + 8], &huge, 8);
  CHECK_THROWS_WITH(io::deserialize_model(bytes, "big.rg"),
                    Catch::Contains("big.rg: corrupt: checksum mismatch"));
  // Resealed, the checksum holds and the size check must catch it.
  const std::size_t crc_at = bytes.size() - 4;
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < crc_at; ++i) {
    crc ^= bytes[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc = ~crc;
  for (int i = 0; i < 4; ++i) bytes[crc_at + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  CHECK_THROWS_WITH(io::deserialize_model(bytes, "big.rg"),
                    Catch::Contains("big.rg: corrupt: tensor 'W' claims more values than the") &&
                        Catch::Contains("(at byte offset"));
}
