// A convolutional model in files: every image layer saves and loads (format v2) with
// bit-identical predictions and its input shape; a checkpointed run killed twice resumes
// bit-identical; the .npz holds the convolution weights in PyTorch's OIHW layout.

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

#include "retrograd/io/checkpoint.hpp"
#include "retrograd/io/model_io.hpp"
#include "retrograd/io/weights.hpp"
#include "retrograd/nn/conv2d.hpp"
#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/flatten.hpp"
#include "retrograd/nn/pooling.hpp"
#include "retrograd/nn/regularization.hpp"

using namespace retrograd;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("retrograd_test_cnn_io_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

bool identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), 4 * a.size()) == 0;
}

/// [n, 1, 6, 6] images and one-hot labels of 3 classes.
Tensor images(std::size_t n) {
  Tensor x = Tensor::from_shape({n, 1, 6, 6});
  for (std::size_t i = 0; i < x.size(); ++i)
    x.data()[i] = 0.1f * static_cast<float>((i * 37) % 13) - 0.5f;
  return x;
}

Tensor one_hot_rows(std::size_t n, std::size_t classes) {
  Tensor y = zeros<float>({n, classes});
  for (std::size_t i = 0; i < n; ++i) y(i, (i * 7) % classes) = 1.f;
  return y;
}

/// Every image layer: Conv2D (direct and im2col paths), channel BatchNorm, both window pools,
/// Dropout on 4-d batches, GlobalAvgPool2D and Flatten.
nn::Sequential make_cnn(bool global) {
  nn::manual_seed(3);
  nn::Sequential m;
  m.set_input_shape({1, 6, 6});
  nn::Conv2DOptions same;
  same.padding = 1;
  m.add(nn::Conv2D(1, 4, 3, same));
  m.add(nn::BatchNorm(4));
  m.add(nn::ActivationLayer(nn::Activation::relu()));
  m.add(nn::MaxPool2D(2));
  nn::Conv2DOptions strided;
  strided.stride = {1, 2};
  strided.bias = false;
  m.add(nn::Conv2D(4, 5, {2, 1}, strided));
  m.add(nn::Dropout(0.25, 4));
  if (global) {
    m.add(nn::GlobalAvgPool2D());
    m.add(nn::Dense(5, 3));
  } else {
    m.add(nn::AvgPool2D(2, Size2(1)));
    m.add(nn::Flatten());
    m.add(nn::Dense(5, 3));
  }
  m.compile(nn::Loss::categorical_cross_entropy(true), nn::Adam(0.01), {"accuracy"});
  return m;
}

nn::FitOptions options(std::size_t epochs) {
  nn::FitOptions o;
  o.epochs = epochs;
  o.batch_size = 6;
  o.verbose = 0;
  o.seed = 5;
  o.validation_split = 0.2;
  return o;
}

class Kill : public nn::Callback {
 public:
  explicit Kill(std::uint64_t at) : at_(at) {}
  void on_checkpoint(nn::Trainer& t, bool) override {
    if (t.state().step == at_) throw std::runtime_error("killed");
  }

 private:
  std::uint64_t at_;
};

}  // namespace

TEST_CASE("a CNN saves and loads with bit-identical predictions and its input shape", "[io][cnn]") {
  for (const bool global : {false, true}) {
    nn::Sequential model = make_cnn(global);
    const Tensor x = images(30), y = one_hot_rows(30, 3);
    model.fit(nn::TensorBatchSource(x, y), options(2));
    const fs::path path = temp_dir("roundtrip") / "cnn.rg";
    io::save_model(model, path.string());
    nn::Sequential loaded = io::load_model(path.string());
    REQUIRE(loaded.size() == model.size());
    for (std::size_t i = 0; i < model.size(); ++i) {
      CHECK(loaded.layer(i).type() == model.layer(i).type());
    }
    CHECK(loaded.input_shape() == Shape{1, 6, 6});
    CHECK(loaded.summary() == model.summary());
    CHECK(identical(loaded.predict(x), model.predict(x)));
    const auto& conv = dynamic_cast<const nn::Conv2D&>(loaded.layer(4));
    CHECK(conv.options().stride.w == 2);
    CHECK_FALSE(conv.options().bias);
  }
}

TEST_CASE("a CNN run killed and restored from its checkpoints ends bit-identical",
          "[io][cnn][checkpoint]") {
  const Tensor x = images(30), y = one_hot_rows(30, 3);
  const nn::TensorBatchSource data(x, y);
  nn::Sequential straight = make_cnn(false);
  const nn::History full =
      nn::Trainer(straight, straight.loss(), straight.optimizer(), options(3), true).fit(data);

  const fs::path dir = temp_dir("resume");
  for (const std::uint64_t kill_at : {3, 7, 0}) {
    const auto latest = io::latest_checkpoint(dir.string());
    nn::Sequential model = latest ? io::load_model(*latest) : make_cnn(false);
    io::Checkpoint checkpoints(dir.string(), 2, 2);
    Kill kill(kill_at);
    nn::FitOptions run = options(3);
    run.callbacks = {&checkpoints, &kill};
    nn::Trainer trainer(model, model.loss(), model.optimizer(), run, true);
    if (latest) io::restore_checkpoint(trainer, *latest);
    if (kill_at != 0) {
      REQUIRE_THROWS_WITH(trainer.fit(data), "killed");
      continue;
    }
    const nn::History resumed = trainer.fit(data);
    CHECK(resumed.loss == full.loss);
    const auto a = straight.named_parameters(), b = model.named_parameters();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(identical(a[i].var.value(), b[i].var.value()));
    const auto ba = straight.named_buffers(), bb = model.named_buffers();
    for (std::size_t i = 0; i < ba.size(); ++i) CHECK(identical(*ba[i].tensor, *bb[i].tensor));
  }
}

TEST_CASE("a CNN's .npz holds OIHW convolution weights and loads back", "[io][cnn][weights]") {
  nn::Sequential model = make_cnn(false);
  const fs::path path = temp_dir("npz") / "cnn.npz";
  io::save_weights(model, path.string());
  nn::Sequential other = make_cnn(false);
  other.layer(0).named_parameters()[0].var.value().fill(0.f);
  const io::WeightsReport report = io::load_weights(other, path.string());
  CHECK(report.complete());
  const auto a = model.named_parameters(), b = other.named_parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].name == b[i].name);
    CHECK(identical(a[i].var.value(), b[i].var.value()));
  }
  CHECK(a[0].name == "conv2d_0.W");
  CHECK(a[0].var.shape() == Shape{4, 1, 3, 3});
}
