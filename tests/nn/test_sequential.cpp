// Sequential end to end: XOR, the course's regression net, a 3-class softmax classifier,
// reproducibility, a hand-written loop that matches fit(), the progress line, summary(), the
// messages for every bad input fit() can meet, and predict against infer().

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <sstream>

#include "retrograd/engine.hpp"
#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/feature_scaling.hpp"
#include "retrograd/nn/regularization.hpp"
#include "retrograd/nn/sequential.hpp"
#include "retrograd/ops.hpp"

using namespace retrograd;
using namespace retrograd::nn;

namespace {
const Tensor kXorX = {{0.f, 0.f}, {0.f, 1.f}, {1.f, 0.f}, {1.f, 1.f}};

Tensor xor_y() {
  Tensor y = {0.f, 1.f, 1.f, 0.f};
  y.reshape({4, 1});
  return y;
}

FitOptions quiet(std::size_t epochs, std::size_t batch_size) {
  FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch_size;
  o.verbose = 0;
  o.seed = 1;
  return o;
}

/// Epochs a 2-h-1 net needs on XOR until every prediction is on the right side of 0.5 and the
/// loss is below 0.1, or 0 when it does not get there within `max_epochs`.
std::size_t xor_epochs(std::size_t hidden, Activation act, std::uint64_t seed,
                       std::size_t max_epochs) {
  Engine engine(seed);
  Sequential model;
  model.add(Dense(2, hidden, act, Initializer::glorot_uniform(), engine));
  model.add(Dense(hidden, 1, Activation::sigmoid(), Initializer::glorot_uniform(), engine));
  model.compile(Loss::binary_cross_entropy(), SGD(0.5, 0.9), {"accuracy"});
  LambdaCallback done;
  done.epoch_end = [](Trainer& t, std::size_t, const Logs& logs) {
    if (logs.at("accuracy") == 1.0 && logs.at("loss") < 0.1) t.stop();
  };
  FitOptions o = quiet(max_epochs, 4);
  o.callbacks = {&done};
  const History h = model.fit(kXorX, xor_y(), o);
  const Tensor p = model.predict(kXorX);
  const bool right = p(0, 0) < 0.5f && p(1, 0) > 0.5f && p(2, 0) > 0.5f && p(3, 0) < 0.5f;
  return right && h.loss.back() < 0.1 ? h.epochs() : 0;
}

/// Three Gaussian blobs in the plane, 120 degrees apart; labels as class ids.
void three_blobs(std::size_t n, std::uint64_t seed, Tensor& x, Tensor& labels) {
  Engine engine(seed);
  std::normal_distribution<double> noise(0, 0.8);
  x = Tensor::from_shape({n, 2});
  labels = Tensor::from_shape({n});
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = i % 3;
    const double angle = 2.0943951 * c;
    x(i, 0) = static_cast<float>(2.5 * std::cos(angle) + noise(engine));
    x(i, 1) = static_cast<float>(2.5 * std::sin(angle) + noise(engine));
    labels(i) = static_cast<float>(c);
  }
}

Tensor one_hot(const Tensor& labels, std::size_t classes) {
  Tensor t = zeros<float>({labels.size(), classes});
  for (std::size_t i = 0; i < labels.size(); ++i) t(i, static_cast<std::size_t>(labels(i))) = 1.f;
  return t;
}

std::vector<Tensor> weights(const Module& m) {
  std::vector<Tensor> out;
  for (const Var& p : m.parameters()) out.push_back(p.value());
  return out;
}
}  // namespace

TEST_CASE("XOR is learned by 2-2-1 and 2-4-1 nets from a seed", "[nn][sequential][xor]") {
  const std::size_t tanh_2 = xor_epochs(2, Activation::tanh(), 3, 2000);
  const std::size_t sigmoid_2 = xor_epochs(2, Activation::sigmoid(), 3, 5000);
  const std::size_t tanh_4 = xor_epochs(4, Activation::tanh(), 3, 2000);
  const std::size_t sigmoid_4 = xor_epochs(4, Activation::sigmoid(), 3, 2000);
  WARN("XOR epochs: 2-2-1 tanh " << tanh_2 << ", 2-2-1 sigmoid " << sigmoid_2 << ", 2-4-1 tanh "
                                 << tanh_4 << ", 2-4-1 sigmoid " << sigmoid_4);
  CHECK(tanh_2 > 0);
  CHECK(sigmoid_2 > 0);
  CHECK(tanh_4 > 0);
  CHECK(sigmoid_4 > 0);
}

TEST_CASE("the course's regression net lowers the MSE on a smooth function",
          "[nn][sequential][regression]") {
  const std::size_t n = 200;
  Engine data(4);
  std::uniform_real_distribution<double> u(-1, 1);
  Tensor x = Tensor::from_shape({n, 2}), y = Tensor::from_shape({n, 1});
  for (std::size_t i = 0; i < n; ++i) {
    x(i, 0) = static_cast<float>(u(data));
    x(i, 1) = static_cast<float>(u(data));
    y(i, 0) = std::sin(2 * x(i, 0)) + 0.5f * x(i, 1) * x(i, 1);
  }
  manual_seed(5);
  Sequential model;
  model.add(Dense(2, 4, Activation::tanh()));
  model.add(Dense(4, 5, Activation::relu()));
  model.add(Dense(5, 1));
  model.compile(Loss::mse(), SGD(0.05));
  const double before = model.evaluate(x, y).at("loss");
  const History h = model.fit(x, y, quiet(100, 10));
  const double after = model.evaluate(x, y).at("loss");
  WARN("regression MSE: before " << before << ", after 100 epochs " << after);
  CHECK(after < 0.2 * before);
  CHECK(h.loss.back() < h.loss.front());
  CHECK(h.accuracy.empty());
}

TEST_CASE("a softmax classifier separates three classes", "[nn][sequential][classify]") {
  Tensor x, labels, x_test, labels_test;
  three_blobs(300, 6, x, labels);
  three_blobs(150, 7, x_test, labels_test);
  manual_seed(8);

  SECTION("softmax output, one-hot targets, categorical cross-entropy") {
    Sequential model;
    model.add(Dense(2, 16, Activation::relu(), Initializer::he_uniform()));
    model.add(Dense(16, 3, Activation::softmax()));
    model.compile(Loss::categorical_cross_entropy(), Adam(0.01), {"accuracy"});
    FitOptions o = quiet(30, 32);
    o.validation_split = 0.2;
    const History h = model.fit(x, one_hot(labels, 3), o);
    CHECK(h.val_accuracy.size() == 30);
    const Logs test = model.evaluate(x_test, one_hot(labels_test, 3));
    WARN("3-class (softmax + CE): test accuracy " << test.at("accuracy") << ", val accuracy "
                                                  << h.val_accuracy.back());
    CHECK(test.at("accuracy") > 0.9);
    const Tensor p = model.predict(x_test);
    CHECK(p.shape() == Shape{150, 3});
    CHECK(p(0, 0) + p(0, 1) + p(0, 2) == Approx(1.f));
  }
  SECTION("logits, class ids, fused sparse cross-entropy") {
    Sequential model;
    model.add(Dense(2, 16, Activation::tanh()));
    model.add(Dense(16, 3));
    model.compile(Loss::sparse_categorical_cross_entropy(true), SGD(0.1, 0.9), {"accuracy"});
    model.fit(x, labels, quiet(20, 16));
    const double accuracy = model.evaluate(x_test, labels_test).at("accuracy");
    WARN("3-class (logits + sparse CE): test accuracy " << accuracy);
    CHECK(accuracy > 0.9);
  }
}

TEST_CASE("one seed makes a run reproducible", "[nn][sequential][seed]") {
  Tensor x, labels;
  three_blobs(60, 1, x, labels);
  const auto run = [&](std::uint64_t seed) {
    manual_seed(seed);
    Sequential model;
    model.add(Dense(2, 8, Activation::relu()));
    model.add(Dropout(0.3));
    model.add(BatchNorm(8));
    model.add(Dense(8, 3));
    model.compile(Loss::sparse_categorical_cross_entropy(true), Adam(0.01));
    FitOptions o = quiet(3, 8);
    o.seed.reset();  // shuffling seeded from the default engine too
    model.fit(x, labels, o);
    return weights(model);
  };
  const auto a = run(21), b = run(21), c = run(22);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK((a[i] == b[i]));
  bool differ = false;
  for (std::size_t i = 0; i < a.size(); ++i) differ = differ || a[i] != c[i];
  CHECK(differ);
}

TEST_CASE("a hand-written loop gives exactly what fit() gives", "[nn][sequential][loop]") {
  const auto build = [](Sequential& model) {
    model.add(Dense(2, 3, Activation::tanh(), Initializer::glorot_uniform(), std::uint64_t{2}));
    model.add(Dense(3, 1, Activation::sigmoid(), Initializer::glorot_uniform(), std::uint64_t{3}));
  };
  Sequential fitted;
  build(fitted);
  fitted.compile(Loss::binary_cross_entropy(), SGD(0.5, 0.9));
  FitOptions o = quiet(5, 2);
  o.shuffle = false;
  fitted.fit(kXorX, xor_y(), o);

  Sequential looped;
  build(looped);
  looped.compile(Loss::binary_cross_entropy(), SGD(0.5, 0.9));
  SGD sgd(0.5, 0.9);
  sgd.attach(looped.parameters());
  const Tensor y = xor_y();
  for (int epoch = 0; epoch < 5; ++epoch) {
    for (std::size_t start = 0; start < 4; start += 2) {
      const std::size_t rows[] = {start, start + 1};
      Tensor xb, yb;
      gather_rows(kXorX, rows, 2, xb);
      gather_rows(y, rows, 2, yb);
      const Var loss = looped.compute_loss(looped(Var(xb)), Var(yb));
      sgd.zero_grad();
      loss.backward();
      sgd.step();
    }
  }
  const auto a = weights(fitted), b = weights(looped);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK((a[i] == b[i]));
}

TEST_CASE("fit reports progress, history and callbacks", "[nn][sequential][progress]") {
  manual_seed(1);
  Sequential model;
  model.add(Dense(2, 4, Activation::tanh()));
  model.add(Dense(4, 1, Activation::sigmoid()));
  model.compile(Loss::binary_cross_entropy(), SGD(0.1), {"accuracy"});
  std::ostringstream out;
  FitOptions o = quiet(2, 2);
  o.verbose = 1;
  o.out = &out;
  o.validation_data = nullptr;
  std::size_t batches = 0, epochs = 0;
  LambdaCallback count;
  count.batch_end = [&](Trainer&, std::size_t, const Logs& logs) {
    ++batches;
    CHECK(logs.count("loss") == 1);
  };
  count.epoch_end = [&](Trainer&, std::size_t, const Logs& logs) {
    ++epochs;
    CHECK(logs.count("val_loss") == 1);
  };
  o.callbacks = {&count};
  const Tensor y = xor_y();
  TensorBatchSource validation(kXorX, y);
  o.validation_data = &validation;
  const History h = model.fit(kXorX, xor_y(), o);
  CHECK(batches == 4);
  CHECK(epochs == 2);
  CHECK(h.epochs() == 2);
  CHECK(h.val_accuracy.size() == 2);
  const std::string text = out.str();
  INFO(text);
  CHECK_THAT(text, Catch::StartsWith("Epoch 1/2 2/2 [==============================] "));
  CHECK_THAT(text, Catch::Contains("ms/step - loss: ") || Catch::Contains("us/step - loss: "));
  CHECK_THAT(text, Catch::Contains(" - accuracy: ") && Catch::Contains(" - val_loss: ") &&
                       Catch::Contains(" - val_accuracy: "));
  CHECK_THAT(text, Catch::Contains("\nEpoch 2/2 2/2 ["));
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);

  std::ostringstream brief;
  o.verbose = 2;
  o.out = &brief;
  o.callbacks.clear();
  model.fit(kXorX, xor_y(), o);
  CHECK_THAT(brief.str(), Catch::StartsWith("Epoch 1/2 - ") && Catch::Contains(" - loss: "));
  std::ostringstream silent;
  o.verbose = 0;
  o.out = &silent;
  model.fit(kXorX, xor_y(), o);
  CHECK(silent.str().empty());
}

TEST_CASE("summary lists layers, output shapes and parameter counts", "[nn][sequential]") {
  Sequential model;
  model.add(Dense(2, 4, Activation::relu()));
  model.add(BatchNorm(4));
  model.add(Dropout(0.5));
  model.add(Dense(4, 1));
  const std::string s = model.summary();
  INFO(s);
  CHECK_THAT(s, Catch::Contains("dense_0 (Dense)") && Catch::Contains("(None, 4)") &&
                    Catch::Contains("batch_norm_1 (BatchNorm)") &&
                    Catch::Contains("dropout_2 (Dropout)") && Catch::Contains("dense_3 (Dense)") &&
                    Catch::Contains("(None, 1)"));
  CHECK_THAT(s, Catch::Contains("Total params: 33") && Catch::Contains("Trainable params: 25") &&
                    Catch::Contains("Non-trainable params: 8"));
  const auto names = model.named_parameters();
  CHECK(names.front().name == "dense_0.W");
  CHECK(names.back().name == "dense_3.b");
  CHECK(model.named_buffers().front().name == "batch_norm_1.running_mean");
}

TEST_CASE("summary columns are as wide as their longest entry", "[nn][sequential][summary]") {
  Sequential model;
  model.add(FeatureScaling(std::vector<float>(3, 0.0f), std::vector<float>(3, 1.0f)));
  model.add(Dense(3, 2));
  const std::string s = model.summary();
  INFO(s);
  // The label is 34 characters: Keras's 28-character column would run it into the shape.
  CHECK_THAT(s, Catch::Contains("feature_scaling_0 (FeatureScaling)  (None, 3)"));
  std::istringstream lines(s);
  std::string line;
  std::size_t shape_column = 0;
  while (std::getline(lines, line)) {
    const std::size_t at = line.find("(None");
    if (at == std::string::npos) continue;
    if (shape_column == 0) shape_column = at;
    CHECK(at == shape_column);
  }
  CHECK(shape_column > 0);
}

TEST_CASE("predict and evaluate run in eval mode without a graph", "[nn][sequential]") {
  manual_seed(2);
  Sequential model;
  model.add(Dense(2, 8, Activation::relu()));
  model.add(Dropout(0.5));
  model.add(Dense(8, 1));
  model.compile(Loss::mse(), SGD(0.1));
  const Tensor a = model.predict(kXorX, 3);
  const Tensor b = model.predict(kXorX);
  CHECK((a == b));
  CHECK(model.training());
  for (const Var& p : model.parameters()) CHECK_FALSE(p.has_grad());
  model.evaluate(kXorX, xor_y());
  for (const Var& p : model.parameters()) CHECK_FALSE(p.has_grad());
}

TEST_CASE("fit names every bad input", "[nn][sequential][errors]") {
  manual_seed(3);
  Sequential model;
  model.add(Dense(2, 4, Activation::tanh()));
  model.add(Dense(4, 3));
  REQUIRE_THROWS_WITH(model.fit(kXorX, xor_y()), Catch::Contains("not compiled") &&
                                                     Catch::Contains("compile(loss, optimizer)"));
  REQUIRE_THROWS_WITH(model.evaluate(kXorX, xor_y()), Catch::Contains("not compiled"));
  REQUIRE_THROWS_WITH(model.compile(Loss::mse(), SGD(0.1), {"f1"}),
                      Catch::Contains("unknown metric 'f1'"));
  REQUIRE_THROWS_WITH(model.compile(Loss::mse(), SGD(-0.1)),
                      Catch::Contains("SGD: learning rate must be positive and finite (got -0.1)"));
  model.compile(Loss::sparse_categorical_cross_entropy(true), SGD(0.1), {"accuracy"});
  const Tensor labels = {0.f, 1.f, 2.f, 1.f};

  FitOptions o = quiet(3, 0);
  REQUIRE_THROWS_WITH(model.fit(kXorX, labels, o), Catch::Contains("batch_size must be positive"));
  REQUIRE_THROWS_WITH(model.fit(Tensor::from_shape({4, 3}), labels, quiet(1, 2)),
                      Catch::Contains("Dense 'dense_0' (2 -> 4)") && Catch::Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(model.fit(kXorX, Tensor{0.f, 1.f, 5.f, 1.f}, quiet(1, 4)),
                      Catch::Contains("label 5 at row") && Catch::Contains("[0, 3)"));
  REQUIRE_THROWS_WITH(model.fit(kXorX, Tensor::from_shape({4, 2}), quiet(1, 4)),
                      Catch::Contains("labels of shape [4, 2]"));
  REQUIRE_THROWS_WITH(model.fit(kXorX, Tensor{0.f, 1.f, 2.f}, quiet(1, 4)),
                      Catch::Contains("[4, 2]") && Catch::Contains("[3]"));
  FitOptions split = quiet(1, 2);
  split.validation_split = 1.0;
  REQUIRE_THROWS_WITH(model.fit(kXorX, labels, split), Catch::Contains("validation_split"));
  REQUIRE_THROWS_WITH(model.add(Dense(3, 3)), Catch::Contains("already compiled"));

  SECTION("a NaN loss stops fit, naming epoch and batch, with the last good weights") {
    Tensor x = kXorX;
    x(3, 1) = std::numeric_limits<float>::quiet_NaN();
    FitOptions nan_run = quiet(3, 2);
    nan_run.shuffle = false;
    std::vector<Tensor> after_first_batch;
    LambdaCallback snapshot;
    snapshot.batch_end = [&](Trainer& t, std::size_t, const Logs&) {
      after_first_batch = weights(t.model());
    };
    nan_run.callbacks = {&snapshot};
    REQUIRE_THROWS_WITH(model.fit(x, labels, nan_run),
                        Catch::Contains("loss is NaN at epoch 1/3, batch 2/2") &&
                            Catch::Contains("weights are those after the previous batch"));
    const auto now = weights(model);
    for (std::size_t i = 0; i < now.size(); ++i) {
      CHECK((now[i] == after_first_batch[i]));
      for (float v : now[i]) REQUIRE(std::isfinite(v));
    }
  }
}

namespace {
/// A layer of the user's own, without infer_tensor: predict() reaches it through forward().
class Halve : public Module {
 public:
  Halve() : Module("halve") {}
  Var forward(const Var& x) override { return x * 0.5f; }
  std::string type() const override { return "Halve"; }
};
}  // namespace

TEST_CASE("predict gives infer's outputs bit for bit, in one batch or several",
          "[nn][sequential][inference]") {
  manual_seed(5);
  Sequential model;
  model.add(Dense(6, 40, Activation::relu()));
  model.add(Halve());
  model.add(BatchNorm(40));
  model.add(Dropout(0.3));
  model.add(Dense(40, 17, Activation::tanh()));
  model.add(Dense(17, 3, Activation::softmax()));
  Tensor x = Tensor::from_shape({11, 6});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = std::sin(0.7f * static_cast<float>(i));
  const auto rows = [&](std::size_t first, std::size_t count) {
    Tensor part = Tensor::from_shape({count, 6});
    std::copy_n(x.data() + first * 6, count * 6, part.data());
    return part;
  };
  const Tensor expected = model.infer(Var(x)).value();
  CHECK((model.predict(x) == expected));
  CHECK((model.infer_tensor(x) == expected));
  CHECK((model.predict(rows(3, 1)) == model.infer(Var(rows(3, 1))).value()));
  // Batches of 4: each is the product of its own rows (BLAS may round a 4-row product
  // differently from an 11-row one).
  const Tensor batched = model.predict(x, 4);
  REQUIRE(batched.shape() == expected.shape());
  for (std::size_t first = 0; first < 11; first += 4) {
    const std::size_t count = std::min<std::size_t>(4, 11 - first);
    const Tensor part = model.infer(Var(rows(first, count))).value();
    CHECK(std::equal(part.begin(), part.end(), batched.data() + first * 3));
  }
  CHECK(model.training());
  for (const Var& p : model.parameters()) CHECK_FALSE(p.has_grad());
  REQUIRE_THROWS_WITH(Sequential().infer_tensor(x), Catch::Contains("the model has no layers"));
}

// Issue 11: an input without rows gave a 0-d tensor of garbage.
TEST_CASE("predict on zero rows gives zero rows of the output width",
          "[nn][sequential][reliability]") {
  manual_seed(4);
  Sequential model;
  model.add(Dense(3, 5, Activation::relu()));
  model.add(Dense(5, 2));
  const Tensor none = model.predict(Tensor::from_shape({0, 3}));
  CHECK(none.shape() == Shape{0, 2});
  CHECK(none.size() == 0);
  REQUIRE_THROWS_AS(model.predict(Tensor::from_shape({0, 4})), std::invalid_argument);
  REQUIRE_THROWS_WITH(
      model.predict(Tensor::from_shape({0, 4})),
      Catch::Contains("x of shape [0, 4]") && Catch::Contains("the model takes 3 features"));
  // One row still predicts as before.
  CHECK(model.predict(Tensor::from_shape({1, 3})).shape() == Shape{1, 2});
}

namespace {
/// Rows of a sine wave: varied inputs without a random engine.
Tensor wave(std::size_t rows, std::size_t cols) {
  Tensor x = Tensor::from_shape({rows, cols});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = std::sin(1.3f * static_cast<float>(i));
  return x;
}
}  // namespace

TEST_CASE("predict_proba applies the output function the loss fuses with the logits",
          "[nn][sequential][inference]") {
  manual_seed(6);
  const Tensor x = wave(7, 4);
  SECTION("softmax rows for cross-entropy from logits, in double by hand") {
    for (const Loss& loss :
         {Loss::categorical_cross_entropy(true), Loss::sparse_categorical_cross_entropy(true)}) {
      Sequential model;
      model.add(Dense(4, 5, Activation::tanh()));
      model.add(Dense(5, 3));
      model.compile(loss, SGD(0.1));
      const Tensor logits = model.predict(x);
      const Tensor p = model.predict_proba(x, 2);
      REQUIRE(p.shape() == logits.shape());
      CHECK(model.predict_proba(Tensor::from_shape({0, 4})).shape() == Shape{0, 3});
      for (std::size_t i = 0; i < 7; ++i) {
        double total = 0;
        for (std::size_t k = 0; k < 3; ++k) total += std::exp(double(logits(i, k)));
        for (std::size_t k = 0; k < 3; ++k) {
          CHECK(p(i, k) == Approx(std::exp(double(logits(i, k))) / total).epsilon(1e-6));
        }
      }
    }
  }
  SECTION("the sigmoid of a single binary output: P(class 1)") {
    Sequential model;
    model.add(Dense(4, 6, Activation::relu()));
    model.add(Dense(6, 1));
    model.compile(Loss::binary_cross_entropy(true), Adam(0.01), {"accuracy"});
    const Tensor logits = model.predict(x);
    const Tensor p = model.predict_proba(x);
    REQUIRE(p.shape() == Shape{7, 1});
    for (std::size_t i = 0; i < 7; ++i) {
      CHECK(p(i, 0) == Approx(1 / (1 + std::exp(-double(logits(i, 0))))).epsilon(1e-6));
    }
  }
  SECTION("a model that outputs probabilities already: predict, bit for bit") {
    Sequential model;
    model.add(Dense(4, 3, Activation::softmax()));
    model.compile(Loss::categorical_cross_entropy(false), SGD(0.1));
    CHECK((model.predict_proba(x) == model.predict(x)));
  }
  SECTION("no probabilities: a regression loss, or no loss at all") {
    Sequential model;
    model.add(Dense(4, 1));
    REQUIRE_THROWS_WITH(model.predict_proba(x),
                        Catch::Contains("predict_proba") && Catch::Contains("not compiled"));
    model.compile(Loss::mse(), SGD(0.1));
    REQUIRE_THROWS_WITH(model.predict_proba(x),
                        Catch::Contains("the model's loss mse does not make its outputs class "
                                        "probabilities"));
  }
}
