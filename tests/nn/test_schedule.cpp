// Learning-rate schedules: step, exponential, reduce on plateau.

#include <catch2/catch.hpp>

#include "retrograd/nn/optimizer.hpp"
#include "retrograd/nn/schedule.hpp"

using namespace retrograd::nn;

TEST_CASE("StepLR and ExponentialLR follow their formulas", "[nn][schedule]") {
  SGD sgd(1.0);
  StepLR step(sgd, 2, 0.5);
  const double expected[] = {1.0, 0.5, 0.5, 0.25, 0.25};
  for (double e : expected) {
    step.step();
    CHECK(sgd.learning_rate() == Approx(e));
  }
  Adam adam(0.1);
  ExponentialLR exp_lr(adam, 0.9);
  exp_lr.step();
  exp_lr.step();
  CHECK(adam.learning_rate() == Approx(0.1 * 0.81));
  REQUIRE_THROWS_WITH(StepLR(sgd, 0), Catch::Contains("StepLR"));
}

TEST_CASE("ReduceLROnPlateau lowers the rate after `patience` flat epochs", "[nn][schedule]") {
  SGD sgd(1.0);
  ReduceLROnPlateau plateau(sgd, "val_loss", 0.5, 2, 0.2);
  for (double metric : {1.0, 0.9, 0.95, 0.92}) plateau.step(metric);
  CHECK(sgd.learning_rate() == Approx(1.0));  // two epochs without improvement: still waiting
  plateau.step(0.91);
  CHECK(sgd.learning_rate() == Approx(0.5));
  for (int i = 0; i < 9; ++i) plateau.step(0.95);
  CHECK(sgd.learning_rate() == Approx(0.2));  // floored at min_lr
  REQUIRE_THROWS_WITH(ReduceLROnPlateau(sgd, "loss", 1.5), Catch::Contains("factor"));
}
