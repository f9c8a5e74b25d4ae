// EarlyStopping: patience, min_delta, accuracy direction, restoring the best weights.

#include <catch2/catch.hpp>

#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/optimizer.hpp"
#include "retrograd/nn/schedule.hpp"
#include "retrograd/nn/sequential.hpp"

using namespace retrograd;
using namespace retrograd::nn;

namespace {
/// A trainer to hand callbacks directly (no fit()).
struct Harness {
  Sequential model;
  SGD sgd{0.1};
  Trainer trainer;
  explicit Harness(Dense layer)
      : model(std::move(Sequential().add(std::move(layer)))), trainer(model, Loss::mse(), sgd) {}
  bool stopped() const { return trainer.state().stop_requested; }
};
}  // namespace

TEST_CASE("EarlyStopping stops after `patience` epochs without improvement", "[nn][callback]") {
  Harness h(Dense(2, 1, Activation::linear(), Initializer::constant(0.5)));
  Sequential& model = h.model;
  Trainer& trainer = h.trainer;
  EarlyStopping stop("val_loss", 2, 0.01, true);
  stop.on_train_begin(trainer);
  Var w = model.parameters()[0];
  const double losses[] = {1.0, 0.8, 0.795, 0.9, 0.85};
  for (std::size_t epoch = 0; epoch < 5 && !h.stopped(); ++epoch) {
    w.value().fill(static_cast<float>(epoch));
    stop.on_epoch_end(trainer, epoch, {{"val_loss", losses[epoch]}});
  }
  CHECK(h.stopped());
  CHECK(stop.stopped_epoch() == 3);
  CHECK(stop.best_epoch() == 1);
  // 0.795 improved on 0.8 by less than min_delta, so epoch 1's weights come back.
  CHECK(w.value()(0, 0) == 1.f);
}

TEST_CASE("EarlyStopping watches accuracy upwards and falls back to loss", "[nn][callback]") {
  Harness h(Dense(2, 1));
  EarlyStopping on_accuracy("val_accuracy", 0);
  on_accuracy.on_train_begin(h.trainer);
  on_accuracy.on_epoch_end(h.trainer, 0, {{"val_accuracy", 0.5}});
  on_accuracy.on_epoch_end(h.trainer, 1, {{"val_accuracy", 0.7}});
  CHECK_FALSE(h.stopped());
  on_accuracy.on_epoch_end(h.trainer, 2, {{"val_accuracy", 0.6}});
  CHECK(h.stopped());

  Harness other(Dense(2, 1));
  EarlyStopping fallback("val_loss", 0);
  fallback.on_train_begin(other.trainer);
  fallback.on_epoch_end(other.trainer, 0, {{"loss", 1.0}});
  fallback.on_epoch_end(other.trainer, 1, {{"loss", 1.5}});
  CHECK(other.stopped());
}

TEST_CASE("EarlyStopping ends fit and schedules step as callbacks", "[nn][callback]") {
  manual_seed(4);
  Sequential model;
  model.add(Dense(1, 1));
  model.compile(Loss::mse(), SGD(1e-6));
  Tensor x = {1.f, 2.f, 3.f, 4.f}, y = {2.f, 4.f, 6.f, 8.f};
  x.reshape({4, 1});
  y.reshape({4, 1});
  // A learning rate this small barely moves the loss: no improvement beyond min_delta.
  EarlyStopping stop("loss", 1, 0.5);
  ExponentialLR decay(model.optimizer(), 0.5);
  FitOptions o;
  o.epochs = 50;
  o.batch_size = 4;
  o.verbose = 0;
  o.callbacks = {&stop, &decay};
  const History h = model.fit(x, y, o);
  CHECK(h.epochs() == 2);
  CHECK(model.optimizer().learning_rate() == Approx(1e-6 * 0.25));
}
