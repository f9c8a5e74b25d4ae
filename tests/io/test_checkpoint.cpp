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

#include "retrograd/data/csv.hpp"
#include "retrograd/data/labels.hpp"
#include "retrograd/io/checkpoint.hpp"
#include "retrograd/io/model_io.hpp"
#include "retrograd/io/weights.hpp"
#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/feature_scaling.hpp"
#include "retrograd/nn/model.hpp"
#include "retrograd/nn/regularization.hpp"
#include "retrograd/nn/schedule.hpp"
#include "retrograd/nn/trainer.hpp"
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

/// Two Dense children and no parameters of its own: its parameters are the children's.
class Tower : public nn::Module {
 public:
  Tower(std::unique_ptr<nn::Module> lower, std::unique_ptr<nn::Module> upper)
      : nn::Module("tower"), lower_(std::move(lower)), upper_(std::move(upper)) {}
  Var forward(const Var& x) override { return upper_->forward(lower_->forward(x)); }
  std::string type() const override { return "Tower"; }
  std::vector<nn::Module*> children() override { return {lower_.get(), upper_.get()}; }
  static std::unique_ptr<Tower> from_record(const nn::LayerRecord& r) {
    return std::make_unique<Tower>(nn::build_layer(r.children.at(0)),
                                   nn::build_layer(r.children.at(1)));
  }

 private:
  std::unique_ptr<nn::Module> lower_, upper_;
};
RETROGRAD_REGISTER_LAYER(Tower);

class Unregistered : public nn::Module {
 public:
  Unregistered() : nn::Module("mystery") {}
  Var forward(const Var& x) override { return x; }
  std::string type() const override { return "Mystery"; }
};

}  // namespace

// The registration macros take qualified names: a user's classes live in their own namespace.
namespace my {
/// y = x: a layer of a user's namespace.
class Id : public nn::Module {
 public:
  Id() : nn::Module("id") {}
  Var forward(const Var& x) override { return x; }
  std::string type() const override { return "my::Id"; }
  static std::unique_ptr<Id> from_record(const nn::LayerRecord&) { return std::make_unique<Id>(); }
};

template <class T>
BasicVar<T> half_mse(const BasicVar<T>& pred, const BasicVar<T>& target) {
  return 0.5 * mean((pred - target) * (pred - target));
}
}  // namespace my
RETROGRAD_REGISTER_LAYER(my::Id);
RETROGRAD_REGISTER_LOSS(my::half_mse);
RETROGRAD_REGISTER_OPTIMIZER(retrograd::nn::SGD, "SGD");
RETROGRAD_REGISTER_SCHEDULE(retrograd::nn::StepLR, "step_lr");

TEST_CASE("the registration macros take qualified names", "[io][registry]") {
  nn::Sequential model;
  model.add(my::Id());
  model.add(nn::Dense(2, 1, nn::Activation::linear(), nn::Initializer::constant(0.5), 0));
  model.compile(nn::Loss::from_name("my::half_mse"), nn::SGD(0.1));
  const fs::path dir = temp_dir("qualified");
  io::save_model(model, (dir / "m.rg").string());
  nn::Sequential loaded = io::load_model((dir / "m.rg").string());
  CHECK(loaded.layer(0).type() == "my::Id");
  CHECK(loaded.loss().base_name() == "my::half_mse");
  const Tensor x = {{1.f, 2.f}};
  CHECK(identical(loaded.predict(x), model.predict(x)));
  // pred 1.5 against 0.5: 0.5 * 1^2.
  const Tensor target = full<float>({1, 1}, 0.5f);
  CHECK(model.evaluate(x, target).at("loss") == Approx(0.5));
}

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
                                        "GlobalAvgPool2D, MaxPool2D, ") &&
                        Catch::Contains("Scale, Sequential, Tower, my::Id)"));
  CHECK_THROWS_WITH(nn::layer_registry().get("Conv9D"),
                    Catch::Contains("unknown layer 'Conv9D' (registered: Activation"));
  CHECK_THROWS_WITH(nn::Activation::from_name("swish"),
                    Catch::Contains("unknown activation 'swish' (registered: leaky_relu, linear, "
                                    "relu, sigmoid, softmax, tanh)"));
}

TEST_CASE("a composite module's children train, save and load as its parameters",
          "[io][registry]") {
  auto lower = std::make_unique<nn::Dense>(4, 6, nn::Activation::tanh(),
                                           nn::Initializer::glorot_uniform(), 3);
  lower->set_name("lower");
  auto upper = std::make_unique<nn::Dense>(6, 3, nn::Activation::linear(),
                                           nn::Initializer::glorot_uniform(), 4);
  upper->set_name("upper");
  Tower tower(std::move(lower), std::move(upper));
  std::vector<std::string> names;
  for (const auto& p : tower.named_parameters()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"lower.W", "lower.b", "upper.W", "upper.b"});
  CHECK(tower.parameter_count() == 4 * 6 + 6 + 6 * 3 + 3);

  const Tensor x = rows(30, 4), y = one_hot_rows(30, 3);
  const Tensor before = tower.infer_tensor(x);
  nn::Adam adam(0.05);
  nn::FitOptions o;
  o.epochs = 3;
  o.batch_size = 10;
  o.verbose = 0;
  o.seed = 2;
  const nn::History h = nn::Trainer(tower, nn::Loss::categorical_cross_entropy(true), adam, o)
                            .fit(nn::TensorBatchSource(x, y));
  CHECK(h.loss.back() < h.loss.front());
  const Tensor trained = tower.infer_tensor(x);
  CHECK_FALSE(identical(trained, before));

  const fs::path dir = temp_dir("tower");
  io::save_model(tower, (dir / "tower.rg").string());
  const std::unique_ptr<nn::Module> loaded = io::load_module((dir / "tower.rg").string());
  CHECK(loaded->type() == "Tower");
  CHECK(loaded->parameter_count() == tower.parameter_count());
  CHECK(identical(loaded->infer_tensor(x), trained));
}

namespace {
/// Saves the model after every step; from step `from` on, sets the learning rate to `lr`.
class SaveEachStep : public nn::Callback {
 public:
  SaveEachStep(nn::Sequential& model, std::string path) : model_(model), path_(std::move(path)) {}
  void on_batch_end(nn::Trainer&, std::size_t, const nn::Logs&) override {
    io::save_model(model_, path_);
  }

 private:
  nn::Sequential& model_;
  std::string path_;
};

/// make_model() without its Dropout, whose engine model files do not keep: a loaded copy then
/// trains on exactly like the original.
nn::Sequential make_undo_model() {
  nn::Sequential m;
  m.add(nn::Dense(4, 8, nn::Activation::relu(), nn::Initializer::he_uniform(), 11));
  m.add(nn::BatchNorm(8));
  m.add(nn::Dense(8, 3, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 13));
  m.compile(nn::Loss::categorical_cross_entropy(true), nn::Adam(0.01), {"accuracy"});
  return m;
}

/// Runs `model` (shuffle off, batches of 8) until it throws; the error text.
std::string fit_until_error(nn::Sequential& model, const Tensor& x, const Tensor& y,
                            std::vector<nn::Callback*> callbacks) {
  nn::FitOptions o;
  o.epochs = 3;
  o.batch_size = 8;
  o.shuffle = false;
  o.verbose = 0;
  o.callbacks = std::move(callbacks);
  try {
    nn::Trainer(model, model.loss(), model.optimizer(), o, true).fit(nn::TensorBatchSource(x, y));
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("fit returned");
  return {};
}

/// The model equals `saved` in every parameter, buffer, optimizer tensor and step count, and
/// predicts the same.
void check_same_model(nn::Sequential& model, nn::Sequential& saved, const Tensor& x) {
  const auto params = model.named_parameters(), saved_params = saved.named_parameters();
  REQUIRE(params.size() == saved_params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    CHECK(identical(params[i].var.value(), saved_params[i].var.value()));
  }
  const auto buffers = model.named_buffers(), saved_buffers = saved.named_buffers();
  REQUIRE(buffers.size() == saved_buffers.size());
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    CHECK(identical(*buffers[i].tensor, *saved_buffers[i].tensor));
  }
  const auto state = model.optimizer().state(), saved_state = saved.optimizer().state();
  REQUIRE(state.size() == saved_state.size());
  for (std::size_t i = 0; i < state.size(); ++i) {
    CHECK(identical(*state[i].tensor, *saved_state[i].tensor));
  }
  CHECK(model.optimizer().iterations() == saved.optimizer().iterations());
  CHECK(identical(model.predict(x), saved.predict(x)));
}
}  // namespace

TEST_CASE(
    "a step that blows up is undone: the model predicts, saves and resumes as after the "
    "last good step",
    "[io][checkpoint][finite]") {
  const fs::path dir = temp_dir("undo");
  const std::string last_good = (dir / "last_good.rg").string();
  const Tensor x = rows(40, 4), y = one_hot_rows(40, 3);

  SECTION("an update that leaves an infinity (Adam at a huge learning rate, step 4)") {
    nn::Sequential model = make_undo_model();
    SaveEachStep save(model, last_good);
    nn::LambdaCallback raise;
    raise.batch_end = [&](nn::Trainer& t, std::size_t, const nn::Logs&) {
      if (t.state().step == 3) t.optimizer().set_learning_rate(1e300);
    };
    const std::string message = fit_until_error(model, x, y, {&save, &raise});
    CHECK_THAT(message, Catch::Contains("after the update of epoch 1/3, batch 4/5 (step 4)") &&
                            Catch::Contains("that step was undone") &&
                            Catch::Contains("those after step 3"));
    nn::Sequential saved = io::load_model(last_good);
    check_same_model(model, saved, x);
    // It trains on from there like the saved model does.
    model.optimizer().set_learning_rate(0.01);
    saved.optimizer().set_learning_rate(0.01);
    nn::FitOptions more;
    more.epochs = 1;
    more.batch_size = 8;
    more.shuffle = false;
    more.verbose = 0;
    nn::Trainer(model, model.loss(), model.optimizer(), more, true)
        .fit(nn::TensorBatchSource(x, y));
    nn::Trainer(saved, saved.loss(), saved.optimizer(), more, true)
        .fit(nn::TensorBatchSource(x, y));
    check_same_model(model, saved, x);
  }
  SECTION(
      "a loss that is not finite (an infinite target in batch 3): BatchNorm's statistics of "
      "that forward pass are undone too") {
    Tensor bad_y = y;
    bad_y(17, 0) = INFINITY;
    nn::Sequential model = make_undo_model();
    SaveEachStep save(model, last_good);
    const std::string message = fit_until_error(model, x, bad_y, {&save});
    CHECK_THAT(message, Catch::Contains("the loss is") && Catch::Contains("epoch 1/3, batch 3/5") &&
                            Catch::Contains("the weights are those after the previous "
                                            "batch, and so are the buffers and the optimizer "
                                            "state"));
    nn::Sequential saved = io::load_model(last_good);
    check_same_model(model, saved, x);
  }
}

namespace {
/// Replaces the bytes of `from` by `to` (as long) everywhere in `bytes`, then reseals the
/// checksum: the file is sound, its content is what changed.
void rewrite_and_reseal(std::vector<std::uint8_t>& bytes, const std::string& from,
                        const std::string& to) {
  REQUIRE(from.size() == to.size());
  for (auto it = bytes.begin();
       (it = std::search(it, bytes.end(), from.begin(), from.end())) != bytes.end();) {
    it = std::copy(to.begin(), to.end(), it);
  }
  const std::size_t crc_at = bytes.size() - 4;
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < crc_at; ++i) {
    crc ^= bytes[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc = ~crc;
  for (int i = 0; i < 4; ++i) bytes[crc_at + i] = static_cast<std::uint8_t>(crc >> (8 * i));
}

/// What restore_checkpoint could change in a run.
struct RunSnapshot {
  std::vector<Tensor> values;
  std::size_t iterations;
  double learning_rate;
  std::uint64_t step;
  std::size_t epoch;
  bool operator==(const RunSnapshot& o) const {
    if (values.size() != o.values.size()) return false;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!identical(values[i], o.values[i])) return false;
    }
    return iterations == o.iterations && learning_rate == o.learning_rate && step == o.step &&
           epoch == o.epoch;
  }
};

RunSnapshot snapshot(nn::Trainer& t) {
  RunSnapshot s;
  for (const auto& p : t.model().named_parameters()) s.values.push_back(p.var.value());
  for (const auto& b : t.model().named_buffers()) s.values.push_back(*b.tensor);
  for (const auto& st : t.optimizer().state()) s.values.push_back(*st.tensor);
  s.iterations = t.optimizer().iterations();
  s.learning_rate = t.optimizer().learning_rate();
  s.step = t.state().step;
  s.epoch = t.state().epoch;
  return s;
}
}  // namespace

TEST_CASE(
    "a checkpoint of another run is refused with nothing changed, saying what differs; "
    "corrupt: is kept for damaged bytes",
    "[io][checkpoint]") {
  const Tensor x = rows(40, 4), y = one_hot_rows(40, 3);
  const nn::TensorBatchSource data(x, y);
  const fs::path dir = temp_dir("mismatch");
  {
    nn::Sequential model = make_model();
    nn::ExponentialLR decay(model.optimizer(), 0.9);
    io::Checkpoint checkpoints(dir.string(), 2, 2);
    nn::FitOptions o = options(2);
    o.callbacks = {&decay, &checkpoints};
    nn::Trainer(model, model.loss(), model.optimizer(), o, true).fit(data);
  }
  const std::string path = *io::latest_checkpoint(dir.string());
  // Each run below trains one epoch first, so that it has state of its own to lose.
  const auto refused = [&](nn::Trainer& trainer, const std::string& expected) {
    trainer.fit(data);
    const RunSnapshot before = snapshot(trainer);
    try {
      io::restore_checkpoint(trainer, path);
      FAIL("restore_checkpoint accepted it");
    } catch (const std::exception& e) {
      CHECK_THAT(e.what(), Catch::Contains(expected));
      CHECK_THAT(e.what(), !Catch::Contains("corrupt"));
    }
    CHECK(snapshot(trainer) == before);
  };

  SECTION("another optimizer") {
    nn::Sequential model = make_model();
    nn::SGD sgd(0.1, 0.9);
    nn::ExponentialLR decay(sgd, 0.9);
    nn::FitOptions o = options(1);
    o.callbacks = {&decay};
    nn::Trainer trainer(model, model.loss(), sgd, o, true);
    refused(trainer, "was saved by a run with optimizer Adam, this run's is SGD");
  }
  SECTION("another batch size") {
    nn::Sequential model = make_model();
    nn::ExponentialLR decay(model.optimizer(), 0.9);
    nn::FitOptions o = options(1);
    o.batch_size = 8;
    o.callbacks = {&decay};
    nn::Trainer trainer(model, model.loss(), model.optimizer(), o, true);
    refused(trainer, "the saved run has batch_size 7, this trainer 8");
  }
  SECTION("other callbacks") {
    nn::Sequential model = make_model();
    nn::FitOptions o = options(1);
    nn::Trainer trainer(model, model.loss(), model.optimizer(), o, true);
    refused(trainer,
            "was saved by a run with the callbacks that keep state exponential_lr, this "
            "run has none: give the restored run the same callbacks");
  }
  SECTION("another model") {
    nn::Sequential model;
    model.add(nn::Dense(4, 5, nn::Activation::relu(), nn::Initializer::he_uniform(), 11));
    model.add(nn::Dense(5, 3));
    model.compile(nn::Loss::categorical_cross_entropy(true), nn::Adam(0.01), {"accuracy"});
    nn::ExponentialLR decay(model.optimizer(), 0.9);
    nn::FitOptions o = options(1);
    o.callbacks = {&decay};
    nn::Trainer trainer(model, model.loss(), model.optimizer(), o, true);
    refused(trainer, "holds another model");
  }
  SECTION("damaged bytes are corrupt, and change nothing either") {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes[bytes.size() / 2] ^= 0x40;
    const std::string damaged = (dir / "damaged.rg").string();
    std::ofstream(damaged, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    nn::Sequential model = make_model();
    nn::ExponentialLR decay(model.optimizer(), 0.9);
    nn::FitOptions o = options(1);
    o.callbacks = {&decay};
    nn::Trainer trainer(model, model.loss(), model.optimizer(), o, true);
    trainer.fit(data);
    const RunSnapshot before = snapshot(trainer);
    CHECK_THROWS_WITH(io::restore_checkpoint(trainer, damaged),
                      Catch::Contains("corrupt: checksum mismatch"));
    CHECK(snapshot(trainer) == before);
  }
}

TEST_CASE("a model with a layer the loading program has not registered is no corrupt file",
          "[io][registry]") {
  nn::Sequential model;
  model.add(Scale(3));
  const fs::path dir = temp_dir("unregistered");
  const std::string path = (dir / "m.rg").string();
  io::save_model(model, path);
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  rewrite_and_reseal(bytes, "Scale", "Scalf");
  CHECK_THROWS_WITH(io::deserialize_model(bytes, "m.rg"),
                    Catch::StartsWith("m.rg: unknown layer 'Scalf' (registered: Activation") &&
                        Catch::Contains("the program that loads it must register that layer"));
  bytes[bytes.size() / 2] ^= 0x40;
  CHECK_THROWS_WITH(io::deserialize_model(bytes, "m.rg"),
                    Catch::Contains("m.rg: corrupt: checksum mismatch"));
}

TEST_CASE("a model with an optimizer the loading program has not registered is no corrupt file",
          "[io][registry]") {
  nn::Sequential model;
  model.add(nn::Dense(2, 3));
  model.compile(nn::Loss::mse(), nn::Adagrad(0.1));
  std::vector<std::uint8_t> bytes = io::serialize_model(model);
  rewrite_and_reseal(bytes, "Adagrad", "Adagrax");
  CHECK_THROWS_WITH(io::deserialize_model(bytes, "m.rg"),
                    Catch::StartsWith("m.rg: unknown optimizer 'Adagrax' (registered: ") &&
                        Catch::Contains("Adagrad") &&
                        Catch::Contains("the program that loads it must register that optimizer"));
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

namespace {
/// Rows of numbers from a CSV file without header, as written by
/// tests/io/data/write_v1_fixtures.cpp.
Tensor read_rows(const std::string& path, std::size_t columns) {
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<float> values;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string cell;
    while (std::getline(fields, cell, ',')) values.push_back(std::stof(cell));
  }
  REQUIRE(values.size() % columns == 0);
  Tensor t = Tensor::from_shape({values.size() / columns, columns});
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

/// Every element of `a` within 1e-5 (relative, or absolute near 0) of `b`'s.
bool close(const Tensor& a, const Tensor& b, float tolerance = 1e-5f) {
  if (a.shape() != b.shape()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const float d = std::abs(a.data()[i] - b.data()[i]);
    if (!(d <= tolerance * std::max(1.f, std::abs(b.data()[i])))) return false;
  }
  return true;
}
}  // namespace

TEST_CASE(
    "version 1 files load whatever their optimizer, predict as they did and resume with "
    "their optimizer state",
    "[io][checkpoint][v1]") {
  const std::string dir = std::string(RETROGRAD_SOURCE_DIR) + "/tests/io/data/";
  const data::CsvData csv = data::read_csv(dir + "v1_data.csv");
  const Tensor x = csv.features;
  const Tensor y = data::one_hot(data::to_labels(csv.labels), 3);
  // Written by the round-1 library (commit 24d8411) with tests/io/data/write_v1_fixtures.cpp.
  const std::vector<std::pair<std::string, std::string>> fixtures = {
      {"sgd", "SGD"},     {"momentum", "SGD"},    {"nesterov", "SGD"},   {"adam", "Adam"},
      {"adamw", "AdamW"}, {"adagrad", "Adagrad"}, {"rmsprop", "RMSProp"}};
  for (const auto& [file, optimizer] : fixtures) {
    INFO("model_v1_" << file << ".rg");
    nn::Sequential model = io::load_model(dir + "model_v1_" + file + ".rg");
    REQUIRE(model.compiled());
    CHECK(model.optimizer().name() == optimizer);
    CHECK(model.optimizer().iterations() == 20);  // 5 epochs of 4 batches
    CHECK(close(model.predict(x), read_rows(dir + "model_v1_" + file + "_predictions.csv", 3)));
    // One more full-batch step with the restored optimizer: as round 1 took it.
    const auto step = [&](nn::Sequential& m) {
      m.zero_grad();
      Var loss = m.compute_loss(m.forward(Var(x)), Var(y));
      loss.backward();
      m.optimizer().step();
      return m.predict(x);
    };
    const Tensor resumed = read_rows(dir + "model_v1_" + file + "_resumed.csv", 3);
    CHECK(close(step(model), resumed, 1e-4f));
    // The state matters: the same step from a blank state lands elsewhere.
    nn::Sequential blank = io::load_model(dir + "model_v1_" + file + ".rg");
    if (blank.optimizer().state().empty()) continue;  // plain SGD keeps none
    for (const auto& s : blank.optimizer().state()) s.tensor->fill(0.f);
    blank.optimizer().set_iterations(0);
    CHECK_FALSE(close(step(blank), resumed, 1e-4f));
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

namespace {

// Two inputs (4 and 2 features, packed side by side), a shared Dense, BatchNorm, Dropout and
// the registered custom Scale: the functional model of the tests below.
std::unique_ptr<nn::Model> make_functional() {
  auto a = nn::Input({4});
  auto b = nn::Input({2});
  nn::Layer lift = nn::Dense(2, 4, nn::Activation::tanh(), nn::Initializer::glorot_uniform(), 21);
  nn::Layer shared = nn::Dense(4, 4, nn::Activation::relu(), nn::Initializer::he_uniform(), 22);
  nn::Layer norm = nn::BatchNorm(4);
  nn::Layer drop = nn::Dropout(0.3, 23);
  nn::Layer scale = Scale(8);
  nn::Layer head = nn::Dense(8, 3, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 24);
  auto h = nn::concat({norm(shared(a)), drop(shared(lift(b)))});
  return std::make_unique<nn::Model>(std::vector<nn::Symbol>{a, b},
                                     std::vector<nn::Symbol>{head(scale(h))});
}

}  // namespace

TEST_CASE("a functional model killed and restored from its checkpoints ends bit-identical",
          "[io][checkpoint][model]") {
  const Tensor x = rows(40, 6), y = one_hot_rows(40, 3);
  const nn::TensorBatchSource data(x, y);
  const nn::Loss loss = nn::Loss::categorical_cross_entropy(true);
  auto straight = make_functional();
  nn::Adam straight_adam(0.01);
  const nn::History full = nn::Trainer(*straight, loss, straight_adam, options(3), true).fit(data);

  const fs::path dir = temp_dir("functional");
  for (const std::uint64_t kill_at : {4, 10, 0}) {
    const auto latest = io::latest_checkpoint(dir.string());
    auto model = make_functional();
    nn::Adam adam(0.01);
    io::Checkpoint checkpoints(dir.string(), 2, 2);
    Kill kill(kill_at);
    nn::FitOptions run = options(3);
    run.callbacks = {&checkpoints, &kill};
    nn::Trainer trainer(*model, loss, adam, run, true);
    if (latest) io::restore_checkpoint(trainer, *latest);
    if (kill_at != 0) {
      REQUIRE_THROWS_WITH(trainer.fit(data), "killed");
      continue;
    }
    const nn::History resumed = trainer.fit(data);
    CHECK(resumed.loss == full.loss);
    CHECK(resumed.val_loss == full.val_loss);
    const auto p = straight->named_parameters(), q = model->named_parameters();
    REQUIRE(p.size() == q.size());
    for (std::size_t i = 0; i < p.size(); ++i) CHECK(identical(p[i].var.value(), q[i].var.value()));
    const auto ba = straight->named_buffers(), bb = model->named_buffers();
    for (std::size_t i = 0; i < ba.size(); ++i) CHECK(identical(*ba[i].tensor, *bb[i].tensor));

    // The checkpoint is a model file: the graph and the custom layer come back.
    const std::unique_ptr<nn::Module> loaded = io::load_module(checkpoints.last_path());
    REQUIRE(loaded->type() == "Model");
    CHECK(loaded->children().size() == 6);
    CHECK(identical(loaded->infer_tensor(x), model->infer_tensor(x)));
  }
}

TEST_CASE("a functional model's weights go to .npz and back", "[io][weights][model]") {
  auto model = make_functional();
  const fs::path dir = temp_dir("functional_npz");
  const std::string path = (dir / "w.npz").string();
  io::save_weights(*model, path);
  auto other = make_functional();
  for (Var p : other->parameters()) p.value().fill(0.25f);
  io::load_weights(*other, path);
  const Tensor x = rows(5, 6);
  CHECK(identical(other->infer_tensor(x), model->infer_tensor(x)));
}
