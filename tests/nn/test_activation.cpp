// Activations as functions and as layers: values, the leaky relu kink, names, bad slopes.

#include "../test_helpers.hpp"

using namespace retrograd;
using namespace retrograd::nn;
using retrograd::testing::require_gradcheck;

TEST_CASE("activations compute their functions", "[nn][activation]") {
  const VarD x(TensorD{-2.0, 0.0, 3.0});
  CHECK((Activation::linear()(x).value() == x.value()));
  CHECK((Activation::relu()(x).value() == TensorD{0.0, 0.0, 3.0}));
  CHECK(Activation::sigmoid()(x).value()(2) == Approx(1 / (1 + std::exp(-3.0))));
  CHECK(Activation::tanh()(x).value()(0) == Approx(std::tanh(-2.0)));
  CHECK(Activation::leaky_relu(0.1)(x).value()(0) == Approx(-0.2));
  const TensorD p = Activation::softmax()(VarD(TensorD{{1.0, 2.0}, {0.0, 0.0}})).value();
  CHECK(p(0, 0) + p(0, 1) == Approx(1.0));
  CHECK(p(1, 0) == Approx(0.5));
  CHECK(Activation::leaky_relu(0.2).name() == "leaky_relu(0.2)");
}

TEST_CASE("leaky relu has slope `a` at and below 0, and 1 above", "[nn][activation]") {
  VarD x(TensorD{-1.0, 0.0, 1.0}, requires_grad);
  sum(leaky_relu(x, 0.25)).backward();
  CHECK((x.grad() == TensorD{0.25, 0.25, 1.0}));
  require_gradcheck([](const std::vector<VarD>& in) { return leaky_relu(in[0], 0.3); },
                    {TensorD{{-1.5, 0.7}, {2.0, -0.2}}});
  REQUIRE_THROWS_WITH(Activation::leaky_relu(1.5), Catch::Contains("got 1.5"));
}

TEST_CASE("ActivationLayer applies its activation", "[nn][activation]") {
  ActivationLayer layer(Activation::relu());
  CHECK(layer.type() == "Activation");
  CHECK(layer.parameters().empty());
  CHECK((layer(Var(Tensor{-1.f, 2.f})).value() == Tensor{0.f, 2.f}));
  require_gradcheck(
      [](const std::vector<VarD>& in) {
        return BasicActivationLayer<double>(Activation::tanh())(in[0]);
      },
      {TensorD{{-1.5, 0.7}, {2.0, -0.2}}});
}
