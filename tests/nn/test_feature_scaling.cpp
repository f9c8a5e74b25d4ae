// FeatureScaling: the constant path a batch of data takes equals the ops' values bit for bit
// and records no graph; an input that requires a gradient still gets one (gradcheck).

#include <catch2/catch.hpp>
#include <cmath>

#include "../test_helpers.hpp"
#include "retrograd/nn/feature_scaling.hpp"
#include "retrograd/ops.hpp"

using namespace retrograd;

TEST_CASE("FeatureScaling of data is the ops' (x - offset) * scale, without a graph",
          "[nn][feature_scaling]") {
  const std::vector<float> offset = {0.1f, -3.7f, 255.f};
  const std::vector<float> scale = {1 / 255.f, 0.3f, 1e-3f};
  nn::FeatureScaling layer(offset, scale);
  Tensor x = Tensor::from_shape({5, 3});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = 37.3f * std::sin(float(i) + 0.5f);
  Tensor o = Tensor::from_shape({3}), s = Tensor::from_shape({3});
  std::copy(offset.begin(), offset.end(), o.begin());
  std::copy(scale.begin(), scale.end(), s.begin());
  const Tensor expected = ((Var(x) - Var(o)) * Var(s)).value();

  const Var y = layer(Var(x));
  CHECK_THAT(y.value(), testing::Equals(expected));
  CHECK(y.op() == "leaf");  // a constant: no sub and mul nodes for every batch
  CHECK_FALSE(y.requires_grad());
  CHECK_THAT(layer.infer_tensor(x), testing::Equals(expected));
  CHECK_THROWS_WITH(layer(Var(Tensor::from_shape({5, 4}))),
                    Catch::Contains("input of shape [5, 4] does not fit; expected [batch, 3]"));
  CHECK_THROWS_WITH(layer.infer_tensor(Tensor::from_shape({3})),
                    Catch::Contains("input of shape [3] does not fit"));
}

TEST_CASE("FeatureScaling passes the gradient to an input that requires one",
          "[nn][feature_scaling][gradcheck]") {
  nn::BasicFeatureScaling<double> layer({0.5, -1.0}, {2.0, 0.25});
  testing::require_gradcheck(layer, testing::random_tensor({4, 2}, 7));
  VarD x(TensorD::from_shape({1, 2}), requires_grad);
  const VarD y = layer(x);
  CHECK(y.op() != "leaf");
  sum(y).backward();
  CHECK(x.grad()(0, 0) == 2.0);
  CHECK(x.grad()(0, 1) == 0.25);
}
