// The image ops (src/ops/conv.cpp): values against a plain loop over the definition,
// gradchecks in double on odd sizes, strides, padding and dilation, both conv2d paths (the
// direct one-channel kernel and im2col + GEMM), and the errors.

#include <cmath>
#include <limits>

#include "test_helpers.hpp"

using namespace retrograd;
using retrograd::testing::Equals;
using retrograd::testing::random_tensor;
using retrograd::testing::require_gradcheck;
using retrograd::testing::shaped;
using Inputs = std::vector<VarD>;

namespace {

/// conv2d straight from its definition, one output element at a time.
TensorD reference_conv(const TensorD& x, const TensorD& w, const TensorD* b, Size2 stride,
                       Size2 padding, Size2 dilation, std::size_t groups = 1) {
  const std::size_t n = x.shape()[0], h = x.shape()[2], wd = x.shape()[3];
  const std::size_t o = w.shape()[0], c = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
  const std::size_t oh = (h + 2 * padding.h - dilation.h * (kh - 1) - 1) / stride.h + 1;
  const std::size_t ow = (wd + 2 * padding.w - dilation.w * (kw - 1) - 1) / stride.w + 1;
  TensorD y = zeros<double>({n, o, oh, ow});
  for (std::size_t s = 0; s < n; ++s)
    for (std::size_t k = 0; k < o; ++k)
      for (std::size_t i = 0; i < oh; ++i)
        for (std::size_t j = 0; j < ow; ++j) {
          double total = b ? (*b)(k) : 0.0;
          for (std::size_t ci = 0; ci < c; ++ci)
            for (std::size_t p = 0; p < kh; ++p)
              for (std::size_t q = 0; q < kw; ++q) {
                const long r = long(i * stride.h + p * dilation.h) - long(padding.h);
                const long col = long(j * stride.w + q * dilation.w) - long(padding.w);
                if (r < 0 || col < 0 || r >= long(h) || col >= long(wd)) continue;
                // output k reads its group's c channels
                const std::size_t channel = k / (o / groups) * c + ci;
                total += w(k, ci, p, q) * x(s, channel, std::size_t(r), std::size_t(col));
              }
          y(s, k, i, j) = total;
        }
  return y;
}

void require_close(const TensorD& actual, const TensorD& expected, double tol = 1e-12) {
  REQUIRE(actual.shape() == expected.shape());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i);
    REQUIRE(actual.data()[i] == Approx(expected.data()[i]).margin(tol));
  }
}

struct ConvCase {
  const char* name;
  Shape x, w;
  Size2 stride, padding, dilation;
  std::size_t groups = 1;
};

// Odd sizes everywhere; the first two take the direct one-channel kernel, the rest im2col.
const ConvCase conv_cases[] = {
    {"one channel, 3x3, padding 1", {2, 1, 5, 5}, {3, 1, 3, 3}, 1, 1, 1},
    {"one channel, stride 2x1, dilation 2, padding 2x0",
     {2, 1, 7, 5},
     {2, 1, 3, 2},
     {2, 1},
     {2, 0},
     {2, 1}},
    {"three channels, 3x2 kernel, stride 2, padding 1", {2, 3, 5, 7}, {4, 3, 3, 2}, 2, 1, 1},
    {"two channels, dilation 2x3, stride 1x2, padding 0x2",
     {3, 2, 7, 6},
     {3, 2, 2, 2},
     {1, 2},
     {0, 2},
     {2, 3}},
    {"kernel as large as the padded input", {1, 2, 3, 3}, {2, 2, 5, 5}, 1, 1, 1},
    {"2 groups of 2 channels, 3 outputs each", {2, 4, 5, 5}, {6, 2, 3, 3}, 1, 1, 1, 2},
    {"depthwise, stride 2", {2, 3, 6, 6}, {3, 1, 3, 3}, 2, 1, 1, 3},
    {"depthwise with 2 outputs per channel", {1, 2, 5, 5}, {4, 1, 2, 2}, 1, 0, 1, 2},
};

}  // namespace

TEST_CASE("conv2d: values equal the definition, with and without bias", "[ops][conv]") {
  std::uint64_t seed = 10;
  for (const ConvCase& c : conv_cases) {
    INFO(c.name);
    const TensorD x = random_tensor(c.x, ++seed);
    const TensorD w = random_tensor(c.w, ++seed);
    const TensorD b = random_tensor({c.w[0]}, ++seed);
    require_close(
        conv2d(VarD(x), VarD(w), VarD(b), c.stride, c.padding, c.dilation, c.groups).value(),
        reference_conv(x, w, &b, c.stride, c.padding, c.dilation, c.groups));
    require_close(
        conv2d(VarD(x), VarD(w), VarD(), c.stride, c.padding, c.dilation, c.groups).value(),
        reference_conv(x, w, nullptr, c.stride, c.padding, c.dilation, c.groups));
  }
}

TEST_CASE("conv2d: a 4x4 image and one 3x3 filter by hand", "[ops][conv]") {
  const TensorD x = shaped<double>({1, 2, 3, 0, 0, 1, 2, 3, 3, 0, 1, 2, 2, 3, 0, 1}, {1, 1, 4, 4});
  const TensorD w = shaped<double>({2, 0, 1, 0, 1, 2, 1, 0, 2}, {1, 1, 3, 3});
  // top-left window: 1*2 + 2*0 + 3*1 + 0*0 + 1*1 + 2*2 + 3*1 + 0*0 + 1*2 = 15, plus the bias 3
  CHECK_THAT(conv2d(VarD(x), VarD(w), VarD(TensorD{3.0})).value(),
             Equals(shaped<double>({18, 19, 9, 18}, {1, 1, 2, 2})));
}

TEST_CASE("conv2d: gradients of input, weight and bias", "[ops][conv][gradcheck]") {
  std::uint64_t seed = 100;
  for (const ConvCase& c : conv_cases) {
    INFO(c.name);
    const TensorD x = random_tensor(c.x, ++seed);
    const TensorD w = random_tensor(c.w, ++seed);
    const TensorD b = random_tensor({c.w[0]}, ++seed);
    require_gradcheck(
        [&](const Inputs& v) {
          return conv2d(v[0], v[1], v[2], c.stride, c.padding, c.dilation, c.groups);
        },
        {x, w, b});
    require_gradcheck(
        [&](const Inputs& v) {
          return conv2d(v[0], v[1], VarD(), c.stride, c.padding, c.dilation, c.groups);
        },
        {x, w});
  }
}

TEST_CASE("conv2d: float agrees with double on both paths", "[ops][conv]") {
  for (const ConvCase& c : conv_cases) {
    INFO(c.name);
    const TensorD x = random_tensor(c.x, 7), w = random_tensor(c.w, 8);
    const TensorD yd =
        conv2d(VarD(x), VarD(w), VarD(), c.stride, c.padding, c.dilation, c.groups).value();
    const Tensor yf =
        conv2d(Var(Tensor(x)), Var(Tensor(w)), Var(), c.stride, c.padding, c.dilation, c.groups)
            .value();
    REQUIRE(yf.shape() == yd.shape());
    for (std::size_t i = 0; i < yd.size(); ++i)
      REQUIRE(yf.data()[i] == Approx(yd.data()[i]).margin(1e-4));
  }
}

TEST_CASE("conv2d: only the inputs that want a gradient get one", "[ops][conv]") {
  for (const Shape& xs : {Shape{2, 1, 5, 5}, Shape{2, 3, 5, 5}}) {
    VarD x(random_tensor(xs, 1));
    VarD w(random_tensor({2, xs[1], 3, 3}, 2), requires_grad);
    VarD b(random_tensor({2}, 3));
    sum(conv2d(x, w, b, 1, 1)).backward();
    CHECK(w.grad().shape() == w.shape());
    CHECK_FALSE(x.requires_grad());
  }
}

TEST_CASE("max_pool2d: values, argmax gradient, ties and NaN", "[ops][pool]") {
  const TensorD x = shaped<double>({1, 5, 2, 0, 3, 4, 7, 1, 9, 2, 6, 6, 0, 8, 1, 3}, {1, 1, 4, 4});
  CHECK_THAT(max_pool2d(VarD(x), 2).value(), Equals(shaped<double>({5, 7, 9, 6}, {1, 1, 2, 2})));
  // a tie (two 6s) sends the gradient to the first
  VarD v(x, requires_grad);
  sum(max_pool2d(v, 2)).backward();
  CHECK_THAT(v.grad(), Equals(shaped<double>({0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0},
                                             {1, 1, 4, 4})));
  TensorD with_nan = x;
  with_nan(0, 0, 0, 0) = std::numeric_limits<double>::quiet_NaN();
  CHECK(std::isnan(max_pool2d(VarD(with_nan), 2).value()(0, 0, 0, 0)));
  // a NaN after the window's largest still wins, and takes the gradient, padded or not
  TensorD late_nan = x;
  late_nan(0, 0, 1, 0) = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t padding : {0, 1}) {  // the first window holds 1, 5, NaN, 4 either way
    VarD w(late_nan, requires_grad);
    const VarD pooled = max_pool2d(w, 2 + padding, Size2(2), padding);
    CHECK(std::isnan(pooled.value()(0, 0, 0, 0)));
    sum(pooled).backward();
    CHECK(w.grad()(0, 0, 1, 0) == 1.0 + padding);  // padded, a second window holds it
  }

  std::uint64_t seed = 200;
  for (Size2 kernel : {Size2(2), Size2(3, 2)}) {
    for (Size2 stride : {Size2(1), Size2(2, 3)}) {
      for (Size2 padding : {Size2(0), Size2(1)}) {
        const TensorD r = random_tensor({2, 3, 7, 5}, ++seed);
        require_gradcheck(
            [&](const Inputs& in) { return max_pool2d(in[0], kernel, stride, padding); }, {r});
      }
    }
  }
}

TEST_CASE("avg_pool2d and global_avg_pool2d: values and gradients", "[ops][pool]") {
  const TensorD x = shaped<double>({1, 5, 2, 0, 3, 4, 7, 1, 9, 2, 6, 6, 0, 8, 1, 3}, {1, 1, 4, 4});
  CHECK_THAT(avg_pool2d(VarD(x), 2).value(),
             Equals(shaped<double>({3.25, 2.5, 4.75, 4}, {1, 1, 2, 2})));
  // padded zeros count: the corner window of 3x3 padding 1 holds 1, 5, 3, 4 and five zeros
  CHECK(avg_pool2d(VarD(x), 3, Size2(1), 1).value()(0, 0, 0, 0) == Approx(13.0 / 9));
  CHECK_THAT(global_avg_pool2d(VarD(x)).value(), Equals(shaped<double>({58.0 / 16}, {1, 1})));

  std::uint64_t seed = 300;
  for (Size2 kernel : {Size2(2), Size2(3, 2)}) {
    for (Size2 stride : {Size2(1), Size2(2, 3)}) {
      for (Size2 padding : {Size2(0), Size2(1)}) {
        const TensorD r = random_tensor({2, 3, 7, 5}, ++seed);
        require_gradcheck(
            [&](const Inputs& in) { return avg_pool2d(in[0], kernel, stride, padding); }, {r});
      }
    }
  }
  require_gradcheck([](const Inputs& in) { return global_avg_pool2d(in[0]); },
                    {random_tensor({2, 3, 5, 3}, 9)});
}

TEST_CASE("image ops: bad shapes and settings name the op and the shapes", "[ops][conv][errors]") {
  const VarD x(random_tensor({2, 3, 5, 5}, 1));
  const VarD w(random_tensor({4, 3, 3, 3}, 2));
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(conv2d(VarD(random_tensor({2, 75}, 3)), w, VarD()),
                    Contains("conv2d: input of shape [2, 75] must be a non-empty 4-d tensor"));
  CHECK_THROWS_WITH(conv2d(x, VarD(random_tensor({4, 2, 3, 3}, 4)), VarD()),
                    Contains("input of shape [2, 3, 5, 5] has 3 channels but the weight of shape "
                             "[4, 2, 3, 3] expects 2"));
  CHECK_THROWS_WITH(conv2d(x, VarD(random_tensor({4, 1, 3, 3}, 4)), VarD(), 1, 0, 1, 2),
                    Contains("conv2d: 2 groups must divide the input's 3 channels and the "
                             "weight's 4 output channels"));
  CHECK_THROWS_WITH(conv2d(x, VarD(random_tensor({3, 3, 3, 3}, 4)), VarD(), 1, 0, 1, 3),
                    Contains("has 3 channels but the weight of shape [3, 3, 3, 3] expects 9 (3 "
                             "in each of 3 groups)"));
  CHECK_THROWS_WITH(conv2d(x, w, VarD(), 1, 0, 1, 0), Contains("conv2d: 0 groups must divide"));
  CHECK_THROWS_WITH(conv2d(x, w, VarD(random_tensor({3}, 5))),
                    Contains("bias of shape [3] does not fit the weight of shape [4, 3, 3, 3]"));
  CHECK_THROWS_WITH(conv2d(x, w, VarD(), 0),
                    Contains("stride 0 and dilation 1 along the height must be positive"));
  CHECK_THROWS_WITH(
      conv2d(x, VarD(random_tensor({4, 3, 7, 7}, 6)), VarD()),
      Contains("kernel 7 is larger than the padded input height 5 (5 + 2 x 0 padding)"));
  CHECK_THROWS_WITH(conv2d(x, w, VarD(), 1, 0, 3),
                    Contains("kernel 3 (dilated to 7) is larger than the padded input height 5"));
  CHECK_THROWS_WITH(max_pool2d(x, 2, std::nullopt, 2),
                    Contains("max_pool2d: padding 2x2 is more than half the kernel 2x2"));
  CHECK_THROWS_WITH(avg_pool2d(x, 6), Contains("avg_pool2d: kernel 6 is larger than the padded"));
  CHECK_THROWS_WITH(global_avg_pool2d(VarD(random_tensor({2, 3, 4}, 7))),
                    Contains("global_avg_pool2d: input of shape [2, 3, 4] must be"));
}
