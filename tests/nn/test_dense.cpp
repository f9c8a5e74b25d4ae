// Dense: shapes, initialization, values, gradients (gradcheck in double for every activation),
// the input-width message, and infer_tensor against the graph's forward.

#include <cmath>
#include <limits>
#include <string>

#include "../test_helpers.hpp"

using namespace retrograd;
using namespace retrograd::nn;
using retrograd::testing::Equals;
using retrograd::testing::random_tensor;
using retrograd::testing::require_gradcheck;

namespace {
// Inputs kept away from 0 after the affine map, so relu and leaky relu meet no kink.
TensorD x_2x3() { return {{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}}; }
TensorD w_3x4() { return {{0.2, -0.5, 0.1, 0.7}, {-0.3, 0.4, 0.9, -0.2}, {0.6, 0.05, -0.4, 0.3}}; }
TensorD b_4() { return {0.1, -0.2, 0.3, 0.05}; }
}  // namespace

TEST_CASE("Dense holds W [in, out] and b [out] and computes act(XW + b)", "[nn][dense]") {
  Engine engine(7);
  Dense layer(3, 4, Activation::tanh(), Initializer::glorot_uniform(), engine);
  CHECK(layer.weight().shape() == Shape{3, 4});
  CHECK(layer.bias().shape() == Shape{4});
  CHECK(layer.parameter_count() == 16);
  const auto named = layer.named_parameters();
  REQUIRE(named.size() == 2);
  CHECK(named[0].name == "W");
  CHECK(named[1].name == "b");
  CHECK((layer.bias().value() == zeros<float>({4})));
  CHECK(layer.output_shape({0, 3}) == Shape{0, 4});

  DenseD exact(VarD(w_3x4(), requires_grad), VarD(b_4(), requires_grad), Activation::relu());
  const TensorD y = exact(VarD(x_2x3())).value();
  // Row 0, column 0: 0.5*0.2 + (-1)*(-0.3) + 2*0.6 + 0.1 = 1.7
  CHECK(y(0, 0) == Approx(1.7));
  // Row 0, column 1: 0.5*(-0.5) + (-1)*0.4 + 2*0.05 - 0.2 = -0.75 -> relu 0
  CHECK(y(0, 1) == 0.0);
}

TEST_CASE("Dense gradients match finite differences for every activation", "[nn][dense]") {
  const Activation activations[] = {Activation::linear(),        Activation::sigmoid(),
                                    Activation::tanh(),          Activation::relu(),
                                    Activation::leaky_relu(0.1), Activation::softmax()};
  for (const Activation& act : activations) {
    INFO(act.name());
    require_gradcheck([&](const std::vector<VarD>& in) { return DenseD(in[1], in[2], act)(in[0]); },
                      {x_2x3(), w_3x4(), b_4()});
  }
  DenseD seeded(3, 4, Activation::sigmoid(), Initializer::he_normal(), std::uint64_t{3});
  require_gradcheck(seeded, x_2x3());
}

TEST_CASE("Dense names the layer and the shapes on a width mismatch", "[nn][dense]") {
  Dense layer(4, 5);
  REQUIRE_THROWS_WITH(layer(Var(Tensor::from_shape({3, 5}))),
                      Catch::Contains("Dense 'dense' (4 -> 5)") && Catch::Contains("[3, 5]") &&
                          Catch::Contains("expected [batch, 4]"));
  REQUIRE_THROWS_WITH(layer(Var(Tensor::from_shape({4}))), Catch::Contains("input of shape [4]"));
  REQUIRE_THROWS_WITH(Dense(0, 3), Catch::Contains("Dense(0, 3)"));
  REQUIRE_THROWS_WITH(DenseD(VarD(w_3x4()), VarD(TensorD{1.0, 2.0})),
                      Catch::Contains("[3, 4]") && Catch::Contains("[2]"));
}

TEST_CASE("Dense initialization is seeded and reproducible", "[nn][dense]") {
  const Dense a(5, 3, Activation::relu(), Initializer::he_uniform(), std::uint64_t{42});
  const Dense b(5, 3, Activation::relu(), Initializer::he_uniform(), std::uint64_t{42});
  const Dense c(5, 3, Activation::relu(), Initializer::he_uniform(), std::uint64_t{43});
  CHECK((a.weight().value() == b.weight().value()));
  CHECK((a.weight().value() != c.weight().value()));

  manual_seed(9);
  const Dense d(5, 3);
  manual_seed(9);
  const Dense e(5, 3);
  CHECK((d.weight().value() == e.weight().value()));
}

TEST_CASE("Dense regularizer adds its penalty on W only", "[nn][dense]") {
  DenseD layer(VarD(w_3x4(), requires_grad), VarD(b_4(), requires_grad));
  CHECK_FALSE(layer.penalty().defined());
  layer.set_regularizer({0.5, 0.25});
  double l1 = 0, l2 = 0;
  for (double w : w_3x4()) {
    l1 += std::abs(w);
    l2 += w * w;
  }
  CHECK(layer.penalty().item() == Approx(0.5 * l1 + 0.25 * l2));
  REQUIRE_THROWS_WITH(layer.set_regularizer({-1, 0}), Catch::Contains("l1 -1"));
}

TEST_CASE("Dense::infer_tensor gives infer's values bit for bit without recording a node",
          "[nn][dense][inference]") {
  const Activation activations[] = {Activation::linear(),        Activation::sigmoid(),
                                    Activation::tanh(),          Activation::relu(),
                                    Activation::leaky_relu(0.1), Activation::softmax()};
  for (const Activation& act : activations) {
    INFO(act.name());
    // Widths past one AVX-512 vector with a remainder, so vector loops and their tails both run.
    Dense layer(37, 21, act, Initializer::he_uniform(), std::uint64_t{11});
    DenseD layer_d(37, 21, act, Initializer::he_uniform(), std::uint64_t{11});
    for (const std::size_t rows : {1, 2, 19}) {
      INFO(rows << " rows");
      const TensorD xd = random_tensor({rows, 37}, rows);
      const Tensor x = xt::cast<float>(xd);
      CHECK_THAT(layer.infer_tensor(x), Equals(layer.infer(Var(x)).value()));
      CHECK_THAT(layer_d.infer_tensor(xd), Equals(layer_d.infer(VarD(xd)).value()));
    }
    CHECK_FALSE(layer.weight().has_grad());
  }
}

TEST_CASE("Dense::infer_tensor names bad input like forward and keeps anomaly mode",
          "[nn][dense][inference]") {
  Dense layer(4, 5, Activation::relu());
  REQUIRE_THROWS_WITH(layer.infer_tensor(Tensor::from_shape({3, 5})),
                      Catch::Contains("Dense 'dense' (4 -> 5)") && Catch::Contains("[3, 5]") &&
                          Catch::Contains("expected [batch, 4]"));
  REQUIRE_THROWS_WITH(layer.infer_tensor(Tensor::from_shape({4})),
                      Catch::Contains("input of shape [4]"));
  // No rows: the linear node's message, as from forward().
  std::string from_forward;
  try {
    layer.infer(Var(Tensor::from_shape({0, 4})));
  } catch (const std::invalid_argument& e) {
    from_forward = e.what();
  }
  REQUIRE_FALSE(from_forward.empty());
  REQUIRE_THROWS_WITH(layer.infer_tensor(Tensor::from_shape({0, 4})), from_forward);

  // A NaN input: passed on without a guard, named by the linear node under one.
  Dense linear_layer(4, 5);
  Tensor x = full<float>({2, 4}, 1.0f);
  x(1, 2) = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(linear_layer.infer_tensor(x)(1, 0)));
  DetectAnomalyGuard anomaly;
  REQUIRE_THROWS_WITH(linear_layer.infer_tensor(x), Catch::Contains("linear"));
}
