// Learning-rate schedules: step, exponential, reduce on plateau, and the registry (specs, a
// schedule of the test's own).

#include <catch2/catch.hpp>

#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/optimizer.hpp"
#include "retrograd/nn/schedule.hpp"
#include "retrograd/nn/sequential.hpp"

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

namespace {
// A user's schedule, registered in one line beside it: the rate falls by `drop` every epoch.
class LinearDecay : public Schedule {
 public:
  LinearDecay(OptimizerBase& optimizer, double drop)
      : Schedule("linear_decay", optimizer), drop_(drop) {}
  void on_epoch_end(Trainer&, std::size_t, const Logs&) override {
    optimizer().set_learning_rate(optimizer().learning_rate() - drop_);
  }
  void save_config(Record& config) const override { config.set("drop", drop_); }
  static std::unique_ptr<LinearDecay> from_config(OptimizerBase& optimizer, const Record& config) {
    return std::make_unique<LinearDecay>(optimizer, config.number("drop"));
  }

 private:
  double drop_;
};
RETROGRAD_REGISTER_SCHEDULE(LinearDecay, "linear_decay");

std::unique_ptr<Schedule> from_spec(OptimizerBase& optimizer, const std::string& spec) {
  const auto [name, config] = parse_schedule_spec(spec);
  return build_schedule(optimizer, name, config);
}
}  // namespace

TEST_CASE("schedules are built by name from their settings and write them back", "[nn][schedule]") {
  SGD sgd(1.0);
  CHECK(schedule_spec(StepLR(sgd, 2, 0.5)) == "step_lr:step_size=2,gamma=0.5");
  CHECK(schedule_spec(ExponentialLR(sgd, 0.9)) == "exponential_lr:gamma=0.9");
  CHECK(schedule_spec(ReduceLROnPlateau(sgd)) ==
        "reduce_lr_on_plateau:monitor=val_loss,factor=0.1,patience=10,min_lr=0,min_delta=0.0001,"
        "cooldown=0");
  for (const std::string spec :
       {"step_lr:step_size=3,gamma=0.25", "exponential_lr:gamma=0.95",
        "reduce_lr_on_plateau:monitor=loss,factor=0.5,patience=2,min_lr=0.001,min_delta=0,"
        "cooldown=1"}) {
    CHECK(schedule_spec(*from_spec(sgd, spec)) == spec);
  }
  // Settings left out take the defaults.
  CHECK(schedule_spec(*from_spec(sgd, "step_lr:step_size=4")) == "step_lr:step_size=4,gamma=0.1");
  CHECK(schedule_spec(*from_spec(sgd, "reduce_lr_on_plateau")) ==
        schedule_spec(ReduceLROnPlateau(sgd)));

  // The built schedule works: StepLR halves the rate every 2 epochs.
  SGD stepped(1.0);
  const auto step = from_spec(stepped, "step_lr:step_size=2,gamma=0.5");
  CHECK(step->name() == "step_lr");
  CHECK(step->state_name() == "step_lr");
  for (int epoch = 0; epoch < 4; ++epoch) dynamic_cast<StepLR&>(*step).step();
  CHECK(stepped.learning_rate() == Approx(0.25));
}

TEST_CASE("a schedule registered in one line is built by name and trains", "[nn][schedule]") {
  CHECK(schedule_registry().names() == std::vector<std::string>{"exponential_lr", "linear_decay",
                                                                "reduce_lr_on_plateau", "step_lr"});
  Sequential model;
  model.add(Dense(2, 1, Activation::linear(), Initializer::zeros(), std::uint64_t{1}));
  model.compile(Loss::mse(), SGD(0.1));
  const auto decay = from_spec(model.optimizer(), "linear_decay:drop=0.025");
  CHECK(schedule_spec(*decay) == "linear_decay:drop=0.025");
  FitOptions options;
  options.epochs = 3;
  options.verbose = 0;
  options.callbacks = {decay.get()};
  const retrograd::Tensor x = {{0.f, 1.f}, {1.f, 0.f}, {1.f, 1.f}, {0.f, 0.f}};
  retrograd::Tensor y = {1.f, 1.f, 2.f, 0.f};
  y.reshape({4, 1});
  model.fit(x, y, options);
  CHECK(model.optimizer().learning_rate() == Approx(0.1 - 3 * 0.025));
}

TEST_CASE("bad schedule names, settings and specs are named", "[nn][schedule]") {
  SGD sgd(1.0);
  REQUIRE_THROWS_WITH(from_spec(sgd, "cosine:t_max=10"),
                      "unknown schedule 'cosine' (registered: exponential_lr, linear_decay, "
                      "reduce_lr_on_plateau, step_lr)");
  REQUIRE_THROWS_WITH(from_spec(sgd, "step_lr:step_size=2,gama=0.5"),
                      "schedule step_lr has no setting 'gama' (its settings: step_size, gamma)");
  REQUIRE_THROWS_WITH(from_spec(sgd, "step_lr:gama=0.5"),
                      Catch::Contains("'step_size'") && Catch::Contains("(settings given: gama)"));
  REQUIRE_THROWS_WITH(from_spec(sgd, "step_lr:step_size=2.5"),
                      "schedule step_lr: field 'step_size' is not an integer");
  REQUIRE_THROWS_WITH(from_spec(sgd, "step_lr:step_size=-2"),
                      Catch::Contains("field 'step_size' is -2, outside [0, "));
  REQUIRE_THROWS_WITH(from_spec(sgd, "exponential_lr"),
                      "schedule exponential_lr: missing a number field 'gamma'");
  REQUIRE_THROWS_WITH(from_spec(sgd, "exponential_lr:gamma=fast"),
                      "schedule exponential_lr: field 'gamma' is not a number");
  REQUIRE_THROWS_WITH(from_spec(sgd, "exponential_lr:gamma=-1"),
                      Catch::Contains("ExponentialLR: gamma must be > 0"));
  const std::string expected =
      " (expected NAME or NAME:KEY=VALUE,KEY=VALUE, e.g. "
      "step_lr:step_size=2,gamma=0.5)";
  REQUIRE_THROWS_WITH(parse_schedule_spec(""), "'': no schedule name" + expected);
  REQUIRE_THROWS_WITH(parse_schedule_spec(":gamma=1"), "':gamma=1': no schedule name" + expected);
  REQUIRE_THROWS_WITH(parse_schedule_spec("step_lr:"),
                      "'step_lr:': no settings after ':'" + expected);
  REQUIRE_THROWS_WITH(parse_schedule_spec("step_lr:gamma"),
                      "'step_lr:gamma': 'gamma' is not KEY=VALUE" + expected);
  REQUIRE_THROWS_WITH(parse_schedule_spec("step_lr:gamma=0.5,"),
                      "'step_lr:gamma=0.5,': '' is not KEY=VALUE" + expected);
  REQUIRE_THROWS_WITH(parse_schedule_spec("step_lr:=3"),
                      "'step_lr:=3': '=3' is not KEY=VALUE" + expected);
  REQUIRE_THROWS_WITH(parse_schedule_spec("step_lr:gamma=1,gamma=2"),
                      "'step_lr:gamma=1,gamma=2': 'gamma' is given twice" + expected);
}
