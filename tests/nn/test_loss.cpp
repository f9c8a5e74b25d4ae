// Losses: closed-form values, gradcheck of every loss in double, the fused (from logits) forms
// against their unfused compositions, the messages for bad shapes and labels, and the registry
// (a loss of the test's own, trained, saved and loaded by name).

#include "../test_helpers.hpp"

using namespace retrograd;
using namespace retrograd::nn;
using retrograd::testing::require_gradcheck;

namespace {
TensorD logits() {
  return {{0.3, -1.2, 2.0}, {1.1, 0.0, -0.7}, {-2.0, 1.5, 0.2}, {0.4, 0.4, -0.1}};
}
TensorD one_hot() { return {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}}; }
TensorD labels() { return {2, 0, 1, 2}; }
}  // namespace

// A user's loss, registered in one line beside it.
template <class T>
BasicVar<T> mean_absolute_error(const BasicVar<T>& pred, const BasicVar<T>& target) {
  return mean(abs(pred - target));
}
RETROGRAD_REGISTER_LOSS(mean_absolute_error);

TEST_CASE("mse and the course's quadratic cost", "[nn][loss]") {
  const VarD pred(TensorD{{1.0, 2.0}, {3.0, 4.0}, {0.0, 0.0}});
  const VarD target(TensorD{{1.5, 2.0}, {1.0, 4.0}, {1.0, 1.0}});
  // squared errors: 0.25, 0, 4, 0, 1, 1 -> sum 6.25
  CHECK(mse(pred, target).item() == Approx(6.25 / 6));
  CHECK(quadratic_cost(pred, target).item() == Approx(6.25 / (2 * 3)));
  require_gradcheck([](const std::vector<VarD>& in) { return mse(in[0], in[1]); },
                    {pred.value(), target.value()});
  require_gradcheck([](const std::vector<VarD>& in) { return quadratic_cost(in[0], in[1]); },
                    {pred.value(), target.value()});
  REQUIRE_THROWS_WITH(
      mse(VarD(TensorD::from_shape({4, 1})), VarD(TensorD::from_shape({4}))),
      Catch::Contains("mse") && Catch::Contains("[4, 1]") && Catch::Contains("[4]"));
}

TEST_CASE("categorical cross-entropy from probabilities and from logits agree", "[nn][loss]") {
  const VarD z(logits()), t(one_hot());
  const double fused = categorical_cross_entropy_with_logits(z, t).item();
  CHECK(categorical_cross_entropy(softmax(z), t).item() == Approx(fused).epsilon(1e-12));
  CHECK(sparse_categorical_cross_entropy_with_logits(z, labels()).item() ==
        Approx(fused).epsilon(1e-12));
  CHECK(sparse_categorical_cross_entropy(softmax(z), labels()).item() ==
        Approx(fused).epsilon(1e-12));
  // Row 0 by hand: -log softmax(z0)_2
  const double lse0 = std::log(std::exp(0.3) + std::exp(-1.2) + std::exp(2.0));
  CHECK(categorical_cross_entropy_with_logits(VarD(TensorD{{0.3, -1.2, 2.0}}),
                                              VarD(TensorD{{0.0, 0.0, 1.0}}))
            .item() == Approx(lse0 - 2.0));

  SECTION("gradients, fused and unfused") {
    require_gradcheck(
        [](const std::vector<VarD>& in) {
          return categorical_cross_entropy_with_logits(in[0], VarD(one_hot()));
        },
        {logits()});
    require_gradcheck(
        [](const std::vector<VarD>& in) {
          return categorical_cross_entropy(softmax(in[0]), VarD(one_hot()));
        },
        {logits()});
    require_gradcheck(
        [](const std::vector<VarD>& in) {
          return sparse_categorical_cross_entropy_with_logits(in[0], labels());
        },
        {logits()});
    require_gradcheck(
        [](const std::vector<VarD>& in) {
          return sparse_categorical_cross_entropy(softmax(in[0]), labels());
        },
        {logits()});
  }
}

TEST_CASE("binary cross-entropy from probabilities and from logits agree", "[nn][loss]") {
  TensorD z = {0.3, -1.2, 2.0, -0.4};
  TensorD t = {1.0, 0.0, 1.0, 1.0};
  z.reshape({4, 1});
  t.reshape({4, 1});
  const double fused = binary_cross_entropy_with_logits(VarD(z), VarD(t)).item();
  CHECK(binary_cross_entropy(sigmoid(VarD(z)), VarD(t)).item() == Approx(fused).epsilon(1e-12));
  require_gradcheck(
      [&](const std::vector<VarD>& in) { return binary_cross_entropy_with_logits(in[0], VarD(t)); },
      {z});
  require_gradcheck(
      [&](const std::vector<VarD>& in) { return binary_cross_entropy(sigmoid(in[0]), VarD(t)); },
      {z});
  // A probability of exactly 0 for a positive target is clipped: large, finite.
  const double clipped = binary_cross_entropy(VarD(TensorD{0.0}), VarD(TensorD{1.0})).item();
  CHECK(clipped == Approx(-std::log(1e-7)).epsilon(1e-6));
}

TEST_CASE("Loss dispatches by name", "[nn][loss]") {
  const VarD z(logits()), t(one_hot()), ids(labels());
  const double expected = categorical_cross_entropy_with_logits(z, t).item();
  using LossD = BasicLoss<double>;
  CHECK(LossD::categorical_cross_entropy(true)(z, t).item() == Approx(expected));
  CHECK(LossD::categorical_cross_entropy()(softmax(z), t).item() == Approx(expected));
  CHECK(LossD::sparse_categorical_cross_entropy(true)(z, ids).item() == Approx(expected));
  CHECK(LossD::mse()(z, t).item() == Approx(mse(z, t).item()));
  CHECK(LossD::quadratic()(z, t).item() == Approx(quadratic_cost(z, t).item()));
  CHECK(Loss::binary_cross_entropy(true).name() == "binary_cross_entropy(from_logits)");
  CHECK(Loss::sparse_categorical_cross_entropy().sparse());
}

TEST_CASE("losses name the problem with labels and shapes", "[nn][loss]") {
  const Var p(Tensor::from_shape({4, 3}));
  REQUIRE_THROWS_WITH(sparse_categorical_cross_entropy(p, Tensor{0.f, 1.f, 7.f, 2.f}),
                      Catch::Contains("sparse_categorical_cross_entropy") &&
                          Catch::Contains("label 7 at row 2") && Catch::Contains("[0, 3)"));
  REQUIRE_THROWS_WITH(sparse_categorical_cross_entropy(p, Tensor::from_shape({4, 3})),
                      Catch::Contains("labels of shape [4, 3]"));
  REQUIRE_THROWS_WITH(categorical_cross_entropy(p, Var(Tensor::from_shape({4, 2}))),
                      Catch::Contains("[4, 3]") && Catch::Contains("[4, 2]"));
  REQUIRE_THROWS_WITH(
      Loss::sparse_categorical_cross_entropy(true)(p, Var(Tensor{0.f, 3.f, 0.f, 0.f})),
      Catch::Contains("label 3 at row 1"));
  REQUIRE_THROWS_WITH(
      binary_cross_entropy(Var(Tensor::from_shape({4, 1})), Var(Tensor::from_shape({4}))),
      Catch::Contains("binary_cross_entropy") && Catch::Contains("[4, 1]"));
}

TEST_CASE("a loss registered in one line is used by name, in float and double", "[nn][loss]") {
  const VarD pred(TensorD{{1.0, -2.0}, {0.5, 4.0}});
  const VarD target(TensorD{{0.0, -1.0}, {0.5, 1.0}});
  const auto loss = BasicLoss<double>::from_name("mean_absolute_error");
  CHECK(loss(pred, target).item() == Approx((1.0 + 1.0 + 0.0 + 3.0) / 4));
  CHECK(loss.name() == "mean_absolute_error");
  CHECK_FALSE(loss.from_logits());
  CHECK_FALSE(loss.sparse());
  CHECK_FALSE(loss.traits().accepts_logits);
  const Var pred_f(Tensor{{1.f, -2.f}, {0.5f, 4.f}}), target_f(Tensor{{0.f, -1.f}, {0.5f, 1.f}});
  CHECK(Loss::from_name("mean_absolute_error")(pred_f, target_f).item() == Approx(1.25f));
  require_gradcheck([&](const std::vector<VarD>& in) { return loss(in[0], target); },
                    {pred.value()});
  CHECK(loss_registry().contains("mean_absolute_error"));
}

TEST_CASE("the built-in losses are registered with their traits", "[nn][loss]") {
  const std::vector<std::string> builtins = {"binary_cross_entropy", "categorical_cross_entropy",
                                             "mse", "quadratic",
                                             "sparse_categorical_cross_entropy"};
  for (const std::string& name : builtins) CHECK(loss_registry().contains(name));
  CHECK(Loss::mse().base_name() == "mse");
  CHECK(Loss::quadratic().name() == "quadratic");
  CHECK(Loss::categorical_cross_entropy(true).base_name() == "categorical_cross_entropy");
  CHECK(Loss::categorical_cross_entropy(true).traits().accepts_logits);
  CHECK(Loss::sparse_categorical_cross_entropy().traits().sparse);
  CHECK_FALSE(Loss::binary_cross_entropy().sparse());
  CHECK_FALSE(Loss::mse().traits().accepts_logits);
  // Registering another type under a taken name is refused.
  REQUIRE_THROWS_WITH(register_loss<SparseCategoricalCrossEntropy>("mse"),
                      Catch::Contains("loss 'mse' is registered twice"));
}

TEST_CASE("an unknown loss lists the registered ones; logits only where a loss takes them",
          "[nn][loss]") {
  REQUIRE_THROWS_WITH(Loss::from_name("hinge"),
                      "unknown loss 'hinge' (registered: binary_cross_entropy, "
                      "categorical_cross_entropy, mean_absolute_error, mse, quadratic, "
                      "sparse_categorical_cross_entropy)");
  REQUIRE_THROWS_WITH(Loss::from_name("mean_absolute_error", true),
                      "loss mean_absolute_error takes no logits (losses that do: "
                      "binary_cross_entropy, categorical_cross_entropy, "
                      "sparse_categorical_cross_entropy)");
  REQUIRE_THROWS_WITH(Loss::from_name("mse", true), Catch::StartsWith("loss mse takes no logits"));
}

TEST_CASE("a registered loss trains with fit and survives a save and load", "[nn][loss][io]") {
  // y = 2x - 1 on 32 points, fitted by one linear unit under the absolute error.
  Tensor x = Tensor::from_shape({32, 1}), y = Tensor::from_shape({32, 1});
  for (std::size_t i = 0; i < 32; ++i) {
    x(i, 0) = -1.f + 2.f * static_cast<float>(i) / 31;
    y(i, 0) = 2 * x(i, 0) - 1;
  }
  Sequential model;
  model.add(Dense(1, 1, Activation::linear(), Initializer::zeros(), std::uint64_t{1}));
  model.compile(Loss::from_name("mean_absolute_error"), SGD(0.1));
  FitOptions options;
  options.epochs = 30;
  options.batch_size = 8;
  options.seed = 4;
  options.verbose = 0;
  const History history = model.fit(x, y, options);
  CHECK(history.loss.front() > 1);
  CHECK(history.loss.back() < 0.2 * history.loss.front());

  Sequential loaded = io::deserialize_model(io::serialize_model(model), "in memory");
  CHECK(loaded.loss().name() == "mean_absolute_error");
  CHECK(loaded.evaluate(x, y).at("loss") == model.evaluate(x, y).at("loss"));
}
