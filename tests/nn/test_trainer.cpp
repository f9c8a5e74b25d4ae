// Trainer: the hooks and their order, any Module, resuming from a TrainState bit for bit, a
// plan that contradicts the saved one, inference from many threads on one model, the finite
// check of the parameters, and anomaly mode's step in its messages.

#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "retrograd/anomaly.hpp"
#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/regularization.hpp"
#include "retrograd/nn/schedule.hpp"
#include "retrograd/nn/sequential.hpp"
#include "retrograd/nn/trainer.hpp"

using namespace retrograd;
using namespace retrograd::nn;

namespace {

/// Two parameters and no Sequential: y = x W + b through the fused op, written by hand.
class TinyNet : public Module {
 public:
  TinyNet() : Module("tiny"), layer_(3, 2, Activation::linear(), Initializer::he_uniform(), 5) {}
  Var forward(const Var& x) override { return layer_.forward(x); }
  std::string type() const override { return "TinyNet"; }
  std::vector<NamedParameter<float>> named_parameters() const override {
    return layer_.named_parameters();
  }

 private:
  Dense layer_;
};

/// Records the hooks in order and checks the gradients are complete after backward.
class Recorder : public Callback {
 public:
  std::vector<std::string> calls;
  std::vector<Tensor> weights_after_backward;
  void on_train_begin(Trainer&) override { calls.push_back("train_begin"); }
  void on_epoch_begin(Trainer&, std::size_t e) override {
    calls.push_back("epoch_begin " + std::to_string(e));
  }
  void on_batch_begin(Trainer&, std::size_t b) override {
    calls.push_back("batch_begin " + std::to_string(b));
  }
  void on_after_backward(Trainer& t, std::size_t b) override {
    calls.push_back("after_backward " + std::to_string(b));
    for (const Var& p : t.model().parameters()) REQUIRE(p.has_grad());
    weights_after_backward.push_back(t.model().parameters()[0].value());
  }
  void on_batch_end(Trainer&, std::size_t b, const Logs&) override {
    calls.push_back("batch_end " + std::to_string(b));
  }
  void on_epoch_end(Trainer&, std::size_t e, const Logs&) override {
    calls.push_back("epoch_end " + std::to_string(e));
  }
  void on_checkpoint(Trainer& t, bool epoch_end) override {
    calls.push_back(std::string("checkpoint ") + (epoch_end ? "epoch" : "batch") + " " +
                    std::to_string(t.state().step));
  }
  void on_train_end(Trainer&) override { calls.push_back("train_end"); }
};

Tensor rows(std::size_t n, std::size_t features, float scale) {
  Tensor x = Tensor::from_shape({n, features});
  for (std::size_t i = 0; i < x.size(); ++i)
    x.data()[i] = scale * static_cast<float>((i * 37) % 11) - 1.f;
  return x;
}

Tensor one_hot_rows(std::size_t n, std::size_t classes) {
  Tensor y = zeros<float>({n, classes});
  for (std::size_t i = 0; i < n; ++i) y(i, (i * 7) % classes) = 1.f;
  return y;
}

bool identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), 4 * a.size()) == 0;
}

/// Dense + BatchNorm + Dropout (every kind of state) trained with Adam and a schedule.
struct Run {
  Sequential model;
  std::unique_ptr<ExponentialLR> decay;
  std::unique_ptr<EarlyStopping> stop;
  std::unique_ptr<Trainer> trainer;
  explicit Run(std::size_t epochs) {
    model.add(Dense(4, 8, Activation::relu(), Initializer::he_uniform(), 11));
    model.add(BatchNorm(8));
    model.add(Dropout(0.3, 12));
    model.add(Dense(8, 3, Activation::linear(), Initializer::glorot_uniform(), 13));
    model.compile(Loss::categorical_cross_entropy(true), Adam(0.01), {"accuracy"});
    decay = std::make_unique<ExponentialLR>(model.optimizer(), 0.9);
    stop = std::make_unique<EarlyStopping>("val_loss", 50, 0, true);
    FitOptions o;
    o.epochs = epochs;
    o.batch_size = 7;
    o.verbose = 0;
    o.seed = 99;
    o.validation_split = 0.2;
    o.callbacks = {decay.get(), stop.get()};
    trainer = std::make_unique<Trainer>(model, model.loss(), model.optimizer(), o, true);
  }
};

}  // namespace

TEST_CASE("the Trainer calls every hook in order, after_backward before the step",
          "[nn][trainer]") {
  TinyNet net;
  SGD sgd(0.1);
  Recorder rec;
  FitOptions o;
  o.epochs = 1;
  o.batch_size = 2;
  o.verbose = 0;
  o.shuffle = false;
  o.callbacks = {&rec};
  Trainer trainer(net, Loss::mse(), sgd, o);
  const Tensor x = rows(3, 3, 0.3f), y = rows(3, 2, 0.1f);
  const Tensor w0 = net.parameters()[0].value();
  const History h = trainer.fit(TensorBatchSource(x, y));
  CHECK(h.epochs() == 1);
  const std::vector<std::string> expected = {
      "train_begin", "epoch_begin 0",      "batch_begin 0", "after_backward 0",
      "batch_end 0", "checkpoint batch 1", "batch_begin 1", "after_backward 1",
      "batch_end 1", "checkpoint batch 2", "epoch_end 0",   "checkpoint epoch 2",
      "train_end"};
  CHECK(rec.calls == expected);
  // The first after_backward saw the weights before any step; the model then moved.
  CHECK(identical(rec.weights_after_backward[0], w0));
  CHECK_FALSE(identical(net.parameters()[0].value(), w0));
  CHECK(trainer.state().epoch == 1);
  CHECK(trainer.state().step == 2);
}

TEST_CASE("a run restored from its TrainState mid-epoch ends bit-identical", "[nn][trainer]") {
  const Tensor x = rows(40, 4, 0.25f), y = one_hot_rows(40, 3);
  const TensorBatchSource data(x, y);

  Run straight(4);
  const History full = straight.trainer->fit(data);

  // Stop after 7 steps (mid-epoch 2: 5 batches per epoch), then continue in new objects.
  Run first(4);
  LambdaCallback halt;
  std::vector<Tensor> params_at_halt;
  Record state_at_halt, callbacks_at_halt, optimizer_at_halt;
  std::vector<std::string> engines_at_halt;
  halt.batch_end = [&](Trainer& t, std::size_t, const Logs&) {
    if (t.state().step != 7) return;
    t.state().save(state_at_halt);
    t.save_callbacks(callbacks_at_halt);
    optimizer_at_halt = optimizer_record(t.optimizer());
    for (const Var& p : t.model().parameters()) params_at_halt.push_back(p.value());
    for (const NamedBuffer<float>& b : t.model().named_buffers())
      params_at_halt.push_back(*b.tensor);
    for (const NamedEngine& e : t.model().named_engines()) {
      std::ostringstream out;
      out << *e.engine;
      engines_at_halt.push_back(out.str());
    }
    throw std::runtime_error("halt");
  };
  // The halt must run after the other callbacks' batch_end, as a checkpoint would.
  first.trainer = std::make_unique<Trainer>(
      first.model, first.model.loss(), first.model.optimizer(),
      [&] {
        FitOptions o = first.trainer->options();
        o.callbacks.push_back(&halt);
        return o;
      }(),
      true);
  REQUIRE_THROWS_WITH(first.trainer->fit(data), "halt");

  Run second(4);
  std::size_t k = 0;
  for (Var p : second.model.parameters()) p.value() = params_at_halt[k++];
  for (const NamedBuffer<float>& b : second.model.named_buffers()) *b.tensor = params_at_halt[k++];
  k = 0;
  for (const NamedEngine& e : second.model.named_engines()) {
    std::istringstream in(engines_at_halt[k++]);
    in >> *e.engine;
  }
  restore_optimizer_state(second.model.optimizer(), optimizer_at_halt);
  second.trainer->restore_callbacks(callbacks_at_halt);
  second.trainer->restore_state(TrainState::load(state_at_halt));
  const History resumed = second.trainer->fit(data);

  CHECK(resumed.loss == full.loss);
  CHECK(resumed.val_loss == full.val_loss);
  CHECK(resumed.accuracy == full.accuracy);
  const auto a = straight.model.parameters(), b = second.model.parameters();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(identical(a[i].value(), b[i].value()));
  const auto ba = straight.model.named_buffers(), bb = second.model.named_buffers();
  for (std::size_t i = 0; i < ba.size(); ++i) CHECK(identical(*ba[i].tensor, *bb[i].tensor));
  CHECK(straight.model.optimizer().learning_rate() == second.model.optimizer().learning_rate());
}

TEST_CASE("restoring a TrainState whose plan differs names the difference", "[nn][trainer]") {
  Run run(2);
  TrainState saved = run.trainer->state();
  saved.batch_size = 8;
  CHECK_THROWS_WITH(run.trainer->restore_state(saved),
                    Catch::Contains("the saved run has batch_size 8, this trainer 7"));
  saved = run.trainer->state();
  saved.validation_split = 0.5;
  CHECK_THROWS_WITH(run.trainer->restore_state(saved), Catch::Contains("validation_split 0.5"));
  Record no_callbacks;
  no_callbacks.set("mystery", nested(Record()));
  CHECK_THROWS_WITH(run.trainer->restore_callbacks(no_callbacks),
                    Catch::Contains("callbacks that keep state mystery, this run has"));
}

TEST_CASE("TrainState saves and loads every field", "[nn][trainer]") {
  TrainState s;
  s.epochs = 9;
  s.batch_size = 5;
  s.validation_split = 0.25;
  s.shuffle = false;
  s.seed = 18446744073709551615ull;
  s.epoch = 3;
  s.batch = 2;
  s.step = 17;
  s.order = {4, 0, 2};
  s.shuffle_engine.seed(5);
  s.shuffle_engine.discard(3);
  s.loss_sum = 1.25;
  s.correct = 4;
  s.seen = 10;
  s.history.loss = {1.5, 0.5};
  s.stop_requested = true;
  s.run_info.set("--data", std::string("x.csv"));
  Record r;
  s.save(r);
  const TrainState t = TrainState::load(r);
  CHECK(t.epochs == 9);
  CHECK(t.batch_size == 5);
  CHECK(t.validation_split == 0.25);
  CHECK_FALSE(t.shuffle);
  CHECK(t.seed == s.seed);
  CHECK(t.epoch == 3);
  CHECK(t.batch == 2);
  CHECK(t.step == 17);
  CHECK(t.order == s.order);
  CHECK(t.shuffle_engine == s.shuffle_engine);
  CHECK(t.loss_sum == 1.25);
  CHECK(t.correct == 4);
  CHECK(t.seen == 10);
  CHECK(t.history.loss == s.history.loss);
  CHECK(t.stop_requested);
  CHECK(t.run_info.text("--data") == "x.csv");
  Record broken = r;
  broken.set("order", std::string("not a list"));
  CHECK_THROWS_AS(TrainState::load(broken), RecordError);
}

TEST_CASE("8 threads predicting with one model agree with one thread and leave it unchanged",
          "[nn][trainer][threads]") {
  Sequential model;
  model.add(Dense(4, 16, Activation::relu(), Initializer::he_uniform(), 3));
  model.add(BatchNorm(16));
  model.add(Dropout(0.5, 4));
  model.add(Dense(16, 3, Activation::linear(), Initializer::glorot_uniform(), 5));
  model.compile(Loss::categorical_cross_entropy(true), SGD(0.1), {"accuracy"});
  const Tensor x = rows(64, 4, 0.2f), y = one_hot_rows(64, 3);
  FitOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.verbose = 0;
  o.seed = 1;
  model.fit(x, y, o);  // running statistics away from their initial values
  REQUIRE(model.training());

  const Tensor expected = model.predict(x, 16);
  const Logs expected_logs = model.evaluate(x, y, 16);
  std::vector<Tensor> buffers_before;
  for (const NamedBuffer<float>& b : model.named_buffers()) buffers_before.push_back(*b.tensor);

  const Sequential& shared = model;
  std::vector<std::size_t> wrong(8, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        const Tensor p = i % 100 == 99     ? shared.evaluate(x, y, 16),
                     shared.predict(x, 16) : shared.predict(x, 16);
        if (!identical(p, expected)) ++wrong[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (std::size_t t = 0; t < 8; ++t) CHECK(wrong[t] == 0);
  CHECK(model.training());  // inference never flipped the model's own flag
  const Logs again = model.evaluate(x, y, 16);
  CHECK(again.at("loss") == expected_logs.at("loss"));
  std::size_t k = 0;
  for (const NamedBuffer<float>& b : model.named_buffers())
    CHECK(identical(*b.tensor, buffers_before[k++]));
}

TEST_CASE("predict on zero rows gives zero rows of outputs", "[nn][trainer]") {
  Sequential model;
  model.add(Dense(3, 2));
  const Tensor none = Tensor::from_shape({0, 3});
  const Tensor p = model.predict(none);
  CHECK(p.shape() == Shape{0, 2});
}

namespace {
/// A relu network and 12 samples of 3 features, in batches of 4 taken in order, whose row 9
/// (in batch 3) holds one NaN.
struct PoisonedRun {
  Sequential model;
  Tensor x = rows(12, 3, 0.3f), y = one_hot_rows(12, 2);
  FitOptions options;
  PoisonedRun() {
    model.add(Dense(3, 8, Activation::relu(), Initializer::he_uniform(), 21));
    model.add(Dense(8, 2, Activation::linear(), Initializer::glorot_uniform(), 22));
    model.compile(Loss::categorical_cross_entropy(true), Adam(0.01));
    x(9, 1) = NAN;
    options.epochs = 2;
    options.batch_size = 4;
    options.shuffle = false;
    options.verbose = 0;
  }
};

std::string fit_error(Sequential& model, const Tensor& x, const Tensor& y, const FitOptions& o) {
  try {
    model.fit(x, y, o);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("fit returned");
  return {};
}
}  // namespace

TEST_CASE(
    "one NaN in the inputs of a relu network stops fit, naming the parameter and the step, "
    "and undoes that step",
    "[nn][trainer][finite]") {
  PoisonedRun run;
  std::vector<double> losses;
  std::vector<Tensor> weights_after_step_2, state_after_step_2;
  Tensor predictions_after_step_2;
  LambdaCallback watch;
  watch.batch_end = [&](Trainer& t, std::size_t, const Logs& logs) {
    losses.push_back(logs.at("loss"));
    weights_after_step_2.clear();
    for (const Var& p : t.model().parameters()) weights_after_step_2.push_back(p.value());
    state_after_step_2.clear();
    for (const NamedState<float>& s : t.optimizer().state())
      state_after_step_2.push_back(*s.tensor);
    predictions_after_step_2 = run.model.predict(run.x);
  };
  run.options.callbacks = {&watch};
  const std::string message = fit_error(run.model, run.x, run.y, run.options);
  // relu hides the NaN from the loss: only the first layer's weights, whose gradient is
  // x^T g, take it.
  CHECK_THAT(message, Catch::Contains("Trainer::fit: parameter dense_0.W (shape [3, 8]) holds "
                                      "NaN at [1, 0] after the update of epoch 1/2, batch "
                                      "3/3 (step 3); training stopped; that step was undone: the "
                                      "parameters, buffers and optimizer state are those after "
                                      "step 2"));
  CHECK(losses.size() == 2);  // batches 1 and 2 ended; batch 3 threw before its batch_end
  // The model is the one after step 2, bit for bit, and predicts as it did then.
  const std::vector<Var> params = run.model.parameters();
  REQUIRE(params.size() == weights_after_step_2.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    CHECK(identical(params[i].value(), weights_after_step_2[i]));
  }
  std::size_t k = 0;
  for (const NamedState<float>& s : run.model.optimizer().state()) {
    CHECK(identical(*s.tensor, state_after_step_2.at(k++)));
  }
  CHECK(run.model.optimizer().iterations() == 2);
  CHECK(identical(run.model.predict(run.x), predictions_after_step_2));
}

TEST_CASE("a NaN weight before fit is an error naming the parameter", "[nn][trainer][finite]") {
  PoisonedRun run;
  run.x(9, 1) = 0.5f;
  Var bias = run.model.named_parameters()[3].var;
  REQUIRE(run.model.named_parameters()[3].name == "dense_1.b");
  const Tensor w_before = run.model.named_parameters()[0].var.value();
  bias.value()(1) = INFINITY;
  CHECK_THAT(fit_error(run.model, run.x, run.y, run.options),
             Catch::Contains("Trainer::fit: parameter dense_1.b (shape [2]) holds inf at [1] "
                             "when fit began"));
  CHECK(identical(run.model.named_parameters()[0].var.value(), w_before));  // no step taken
  bias.value()(1) = 0;
  CHECK_NOTHROW(run.model.fit(run.x, run.y, run.options));
}

TEST_CASE("under a DetectAnomalyGuard the Trainer's step is in the message",
          "[nn][trainer][anomaly]") {
  PoisonedRun run;
  DetectAnomalyGuard anomaly;
  std::string message;
  try {
    run.model.fit(run.x, run.y, run.options);
  } catch (const AnomalyError& e) {
    message = e.what();
  }
  // The first Dense layer's fused node maps relu(NaN) to 0, a finite forward value; its
  // gradient to W, x^T g, is where the NaN shows.
  CHECK_THAT(message, Catch::Contains("anomaly in the backward pass: the gradient that "
                                      "linear_relu sends to its input 1 (leaf 'W', shape [3, 8]) "
                                      "is nan at [1, 0]; its inputs: [4, 3] (leaf), [3, 8] (leaf "
                                      "'W'), [8] (leaf 'b'); its upstream gradient is finite, "
                                      "during "
                                      "training epoch 1/2, batch 3/3 (step 3)"));
}
