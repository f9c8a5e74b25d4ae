// Penalties, Dropout and BatchNorm: values, gradients, train vs eval, running statistics, and
// the messages for bad inputs.

#include <cmath>

#include "../test_helpers.hpp"

using namespace retrograd;
using namespace retrograd::nn;
using retrograd::testing::require_gradcheck;

TEST_CASE("L1 and L2 penalties", "[nn][regularization]") {
  const VarD a(TensorD{1.0, -2.0}), b(TensorD{0.5});
  CHECK(l1_penalty<double>({a, b}, 0.1).item() == Approx(0.1 * 3.5));
  CHECK(l2_penalty<double>({a, b}, 0.1).item() == Approx(0.1 * 5.25));
  CHECK(weight_penalty<double>({a, b}, 0.1, 0.2).item() == Approx(0.35 + 0.2 * 5.25));
  require_gradcheck(
      [](const std::vector<VarD>& in) {
        return weight_penalty<double>({in[0], in[1]}, 0.3, 0.7);
      },
      {TensorD{1.0, -2.0}, TensorD{0.5, 0.25}});
  REQUIRE_THROWS_WITH(l2_penalty<double>({a}, -1.0), Catch::Contains("l2 -1"));
}

TEST_CASE("Dropout drops and rescales in training, passes through in eval", "[nn][dropout]") {
  Dropout dropout(0.5, 11);
  const Tensor ones = full<float>({50, 40}, 1.f);
  const Tensor y = dropout(Var(ones)).value();
  std::size_t zeros_seen = 0, others = 0;
  for (float v : y) {
    zeros_seen += v == 0.f;
    others += v != 0.f && v != 2.f;
  }
  CHECK(others == 0);
  CHECK(zeros_seen > 800);
  CHECK(zeros_seen < 1200);
  // A new mask each call.
  CHECK((dropout(Var(ones)).value() != y));

  dropout.eval();
  CHECK((dropout(Var(ones)).value() == ones));

  SECTION("the gradient is the mask") {
    BasicDropout<double> d(0.3, 5);
    VarD x(full<double>({4, 6}, 2.0), requires_grad);
    const VarD out = d(x);
    sum(out).backward();
    CHECK((x.grad() == out.value() / 2.0));
  }
  SECTION("seeded masks repeat") {
    Dropout a(0.5, 3), b(0.5, 3);
    CHECK((a(Var(ones)).value() == b(Var(ones)).value()));
  }
  REQUIRE_THROWS_WITH(Dropout(1.0), Catch::Contains("Dropout: rate must be in [0, 1) (got 1"));
}

TEST_CASE("BatchNorm normalizes with batch statistics in training", "[nn][batchnorm]") {
  BasicBatchNorm<double> bn(2);
  const TensorD x = {{1.0, 2.0}, {3.0, 6.0}};
  const TensorD y = bn(VarD(x)).value();
  // mean [2, 4], biased variance [1, 4]
  CHECK(y(0, 0) == Approx(-1.0 / std::sqrt(1 + 1e-5)));
  CHECK(y(1, 1) == Approx(2.0 / std::sqrt(4 + 1e-5)));
  // running = 0.9 running + 0.1 batch, the variance unbiased: [2, 8]
  CHECK(bn.running_mean()(0) == Approx(0.2));
  CHECK(bn.running_mean()(1) == Approx(0.4));
  CHECK(bn.running_var()(0) == Approx(0.9 + 0.2));
  CHECK(bn.running_var()(1) == Approx(0.9 + 0.8));
  CHECK(bn.named_buffers().size() == 2);
  CHECK(bn.parameter_count() == 4);

  SECTION("eval uses the running statistics and leaves them alone") {
    bn.eval();
    const TensorD e = bn(VarD(x)).value();
    CHECK(e(0, 0) == Approx((1.0 - 0.2) / std::sqrt(1.1 + 1e-5)));
    CHECK(e(1, 1) == Approx((6.0 - 0.4) / std::sqrt(1.7 + 1e-5)));
    CHECK(bn.running_mean()(0) == Approx(0.2));
  }
  SECTION("running statistics converge to the data's") {
    for (int i = 0; i < 100; ++i) bn(VarD(x));
    CHECK(bn.running_mean()(1) == Approx(4.0).epsilon(1e-4));
    CHECK(bn.running_var()(1) == Approx(8.0).epsilon(1e-4));
  }
}

TEST_CASE("BatchNorm gradients in training and eval mode", "[nn][batchnorm]") {
  BasicBatchNorm<double> bn(3);
  VarD gamma = bn.gamma(), beta = bn.beta();
  gamma.value() = TensorD{1.5, 0.5, -1.0};
  beta.value() = TensorD{0.1, -0.2, 0.3};
  const TensorD x = {{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}, {-0.3, 0.8, 0.1}, {1.0, 2.0, -1.0}};
  require_gradcheck(bn, x);
  bn.eval();
  require_gradcheck(bn, x);
}

TEST_CASE("BatchNorm names the layer on bad input", "[nn][batchnorm]") {
  BatchNorm bn(4);
  REQUIRE_THROWS_WITH(
      bn(Var(Tensor::from_shape({8, 3}))),
      Catch::Contains("BatchNorm 'batch_norm' (4 features)") && Catch::Contains("[8, 3]"));
  REQUIRE_THROWS_WITH(bn(Var(Tensor::from_shape({1, 4}))), Catch::Contains("at least 2 rows"));
  REQUIRE_THROWS_WITH(BatchNorm(4, 2.0), Catch::Contains("momentum 2"));
}
