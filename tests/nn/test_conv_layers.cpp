// The image layers: Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten, and BatchNorm and
// Dropout on 4-d batches. Shapes, initialization fan-in, values against the ops, gradchecks
// (input and every parameter, double), records that rebuild each layer, summary() of a CNN,
// and errors naming the layer and the shapes.

#include <cmath>

#include "../test_helpers.hpp"

using namespace retrograd;
using namespace retrograd::nn;
using retrograd::testing::random_tensor;
using retrograd::testing::require_gradcheck;

TEST_CASE("Conv2D holds W [out, in, kh, kw] and b [out] drawn with fan-in in kh kw",
          "[nn][conv2d]") {
  Engine engine(3);
  Conv2D layer(2, 5, {3, 2}, {}, Initializer::he_uniform(), engine);
  CHECK(layer.weight().shape() == Shape{5, 2, 3, 2});
  CHECK(layer.bias().shape() == Shape{5});
  CHECK(layer.parameter_count() == 5 * 2 * 3 * 2 + 5);
  // He uniform: |w| < sqrt(6 / fan_in), fan_in = 2 * 3 * 2 = 12.
  const double limit = std::sqrt(6.0 / 12);
  double largest = 0;
  for (float w : layer.weight().value()) largest = std::max(largest, double(std::abs(w)));
  CHECK(largest < limit);
  CHECK(largest > 0.5 * limit);
  CHECK(layer.output_shape({0, 2, 9, 8}) == Shape{0, 5, 7, 7});

  Conv2DOptions strided;
  strided.stride = 2;
  strided.padding = {1, 0};
  strided.bias = false;
  Conv2D no_bias(2, 5, 3, strided);
  CHECK(no_bias.named_parameters().size() == 1);
  CHECK(no_bias.output_shape({4, 2, 9, 8}) == Shape{4, 5, 5, 3});
  const Var x(Tensor(random_tensor({4, 2, 9, 8}, 1)));
  CHECK(no_bias(x).shape() == Shape{4, 5, 5, 3});
}

TEST_CASE("Conv2D computes the conv2d op and its gradients", "[nn][conv2d]") {
  Conv2DOptions o;
  o.stride = {2, 1};
  o.padding = 1;
  o.dilation = {1, 2};
  Engine engine(5);
  Conv2DD layer(3, 2, 3, o, Initializer::glorot_normal(), engine);
  const TensorD x = random_tensor({2, 3, 5, 6}, 2);
  const VarD expected =
      conv2d(VarD(x), layer.weight(), layer.bias(), o.stride, o.padding, o.dilation);
  CHECK((layer(VarD(x)).value() == expected.value()));
  require_gradcheck(layer, x);
  Conv2DD first(1, 3, 3, Conv2DOptions{1, 1, 1, true}, Initializer::he_normal(), engine);
  require_gradcheck(first, random_tensor({2, 1, 5, 4}, 3));
}

TEST_CASE("Conv2D with groups: W [out, in / groups, kh, kw], the grouped op, its gradients",
          "[nn][conv2d]") {
  Conv2DOptions o;
  o.padding = 1;
  o.groups = 2;
  Engine engine(6);
  Conv2DD layer(4, 6, 3, o, Initializer::he_uniform(), engine);
  CHECK(layer.weight().shape() == Shape{6, 2, 3, 3});
  CHECK(layer.parameter_count() == 6 * 2 * 3 * 3 + 6);
  // fan-in in / groups kh kw = 18, as PyTorch's
  double largest = 0;
  for (double w : layer.weight().value()) largest = std::max(largest, std::abs(w));
  CHECK(largest < std::sqrt(6.0 / 18));
  const TensorD x = random_tensor({2, 4, 5, 5}, 7);
  const VarD expected =
      conv2d(VarD(x), layer.weight(), layer.bias(), o.stride, o.padding, o.dilation, 2);
  CHECK((layer(VarD(x)).value() == expected.value()));
  require_gradcheck(layer, x);
  Conv2DOptions depthwise;
  depthwise.groups = 3;
  Conv2DD per_channel(3, 3, 3, depthwise, Initializer::he_normal(), engine);
  require_gradcheck(per_channel, random_tensor({2, 3, 4, 4}, 8));

  Conv2DOptions bad;
  bad.groups = 4;
  CHECK_THROWS_WITH(Conv2D(6, 8, 3, bad),
                    Catch::Contains("Conv2D(6 -> 8, groups 4): the groups must divide both channel "
                                    "counts"));
  bad.groups = 0;
  CHECK_THROWS_WITH(Conv2D(6, 8, 3, bad), Catch::Contains("groups must be positive"));
  Conv2D grouped(4, 6, 3, o);
  CHECK_THROWS_WITH(grouped(Var(Tensor::from_shape({1, 3, 5, 5}))),
                    Catch::Contains("Conv2D 'conv2d' (4 -> 6 channels, kernel 3x3, 2 groups)"));
}

TEST_CASE("Conv2D names the layer and the shapes on bad input", "[nn][conv2d]") {
  Conv2D layer(3, 8, 3);
  REQUIRE_THROWS_WITH(layer(Var(Tensor::from_shape({4, 27}))),
                      Catch::Contains("Conv2D 'conv2d' (3 -> 8 channels, kernel 3x3)") &&
                          Catch::Contains("input of shape [4, 27] does not fit; expected [batch, "
                                          "3, height, width]"));
  REQUIRE_THROWS_WITH(layer(Var(Tensor::from_shape({4, 1, 5, 5}))),
                      Catch::Contains("[4, 1, 5, 5]") && Catch::Contains("expected [batch, 3,"));
  REQUIRE_THROWS_WITH(layer(Var(Tensor::from_shape({4, 3, 2, 5}))),
                      Catch::Contains("Conv2D 'conv2d'") &&
                          Catch::Contains("kernel 3 is larger than the padded input height 2"));
  Conv2DOptions zero_stride;
  zero_stride.stride = {1, 0};
  REQUIRE_THROWS_WITH(Conv2D(3, 8, 3, zero_stride),
                      Catch::Contains("Conv2D(3 -> 8, kernel 3x3, stride 1x0") &&
                          Catch::Contains("must be positive"));
}

TEST_CASE("pooling layers and Flatten: shapes, values and gradients", "[nn][pooling]") {
  const TensorD x = random_tensor({2, 3, 7, 5}, 4);
  BasicMaxPool2D<double> max_pool(2);
  BasicAvgPool2D<double> avg_pool({3, 2}, Size2{2, 1}, {1, 0});
  BasicGlobalAvgPool2D<double> global;
  BasicFlatten<double> flatten;
  CHECK(max_pool.output_shape({0, 3, 7, 5}) == Shape{0, 3, 3, 2});
  CHECK(avg_pool.output_shape({0, 3, 7, 5}) == Shape{0, 3, 4, 4});
  CHECK(global.output_shape({0, 3, 7, 5}) == Shape{0, 3});
  CHECK(flatten.output_shape({0, 3, 7, 5}) == Shape{0, 105});
  CHECK((max_pool(VarD(x)).value() == max_pool2d(VarD(x), 2).value()));
  CHECK((avg_pool(VarD(x)).value() == avg_pool2d(VarD(x), {3, 2}, Size2{2, 1}, {1, 0}).value()));
  CHECK((global(VarD(x)).value() == global_avg_pool2d(VarD(x)).value()));
  // Flatten keeps each sample's values in C-H-W order.
  const TensorD flat = flatten(VarD(x)).value();
  CHECK(flat(1, 2 * 35 + 4 * 5 + 3) == x(1, 2, 4, 3));
  require_gradcheck(max_pool, x);
  require_gradcheck(avg_pool, x);
  require_gradcheck(global, x);
  require_gradcheck(flatten, x);

  REQUIRE_THROWS_WITH(MaxPool2D(2)(Var(Tensor::from_shape({4, 10}))),
                      Catch::Contains("MaxPool2D 'max_pool2d' (kernel 2x2): input of shape [4, 10] "
                                      "does not fit"));
  REQUIRE_THROWS_WITH(AvgPool2D(4)(Var(Tensor::from_shape({1, 1, 3, 3}))),
                      Catch::Contains("AvgPool2D 'avg_pool2d' (kernel 4x4)") &&
                          Catch::Contains("larger than the padded input height 3"));
  REQUIRE_THROWS_WITH(MaxPool2D(2, Size2(0)), Catch::Contains("MaxPool2D(kernel 2x2, stride 0x0"));
  REQUIRE_THROWS_WITH(
      GlobalAvgPool2D()(Var(Tensor::from_shape({2, 3}))),
      Catch::Contains("GlobalAvgPool2D 'global_avg_pool2d': input of shape [2, 3]"));
}

TEST_CASE("BatchNorm normalizes each channel of images over the batch and pixels",
          "[nn][batchnorm]") {
  BasicBatchNorm<double> bn(3, 0.5);
  const TensorD x = random_tensor({4, 3, 3, 2}, 5, -1, 3);
  const TensorD y = bn(VarD(x)).value();
  for (std::size_t c = 0; c < 3; ++c) {
    double total = 0, squares = 0, x_total = 0, x_squares = 0;
    for (std::size_t n = 0; n < 4; ++n)
      for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 2; ++j) {
          total += y(n, c, i, j);
          squares += y(n, c, i, j) * y(n, c, i, j);
          x_total += x(n, c, i, j);
          x_squares += x(n, c, i, j) * x(n, c, i, j);
        }
    CHECK(total / 24 == Approx(0).margin(1e-12));
    CHECK(squares / 24 == Approx(1).margin(1e-4));
    const double mean = x_total / 24, var = x_squares / 24 - mean * mean;
    // running = 0.5 * start + 0.5 * batch, the variance unbiased over the 24 values.
    CHECK(bn.running_mean()(c) == Approx(0.5 * mean));
    CHECK(bn.running_var()(c) == Approx(0.5 + 0.5 * var * 24 / 23));
  }
  require_gradcheck(bn, x);
  bn.eval();
  const TensorD eval = bn(VarD(x)).value();
  CHECK(eval(1, 2, 1, 0) ==
        Approx((x(1, 2, 1, 0) - bn.running_mean()(2)) / std::sqrt(bn.running_var()(2) + 1e-5)));
  require_gradcheck(bn, x);
  REQUIRE_THROWS_WITH(BatchNorm(3)(Var(Tensor::from_shape({2, 4, 3, 3}))),
                      Catch::Contains("input of shape [2, 4, 3, 3] does not fit; expected [batch, "
                                      "3] or [batch, 3, height, width]"));
}

TEST_CASE("Dropout drops elements of 4-d batches", "[nn][dropout]") {
  Dropout drop(0.5, 9);
  const Tensor ones = full<float>({8, 4, 5, 5}, 1.f);
  const Tensor y = drop(Var(ones)).value();
  REQUIRE(y.shape() == ones.shape());
  std::size_t kept = 0;
  for (float v : y) {
    REQUIRE((v == 0.f || v == 2.f));
    kept += v != 0.f;
  }
  CHECK(kept > 300);
  CHECK(kept < 500);
  drop.eval();
  CHECK((drop(Var(ones)).value() == ones));
}

TEST_CASE("a CNN's summary shows 4-d shapes from its input shape", "[nn][conv2d][summary]") {
  Sequential m;
  m.set_input_shape({1, 28, 28});
  m.add(Conv2D(1, 32, 3, Conv2DOptions{1, 1, 1, true}));
  m.add(ActivationLayer(Activation::relu()));
  m.add(MaxPool2D(2));
  m.add(Flatten());
  m.add(Dense(32 * 14 * 14, 10));
  const std::string s = m.summary();
  INFO(s);
  CHECK_THAT(s, Catch::Contains("conv2d_0 (Conv2D)") && Catch::Contains("(None, 32, 28, 28)") &&
                    Catch::Contains("320"));
  CHECK_THAT(s, Catch::Contains("(None, 32, 14, 14)") && Catch::Contains("(None, 6272)") &&
                    Catch::Contains("(None, 10)"));
  CHECK(m.output_shape({5, 1, 28, 28}) == Shape{5, 10});
  const Tensor out = m.predict(zeros<float>({3, 1, 28, 28}));
  CHECK(out.shape() == Shape{3, 10});
}
