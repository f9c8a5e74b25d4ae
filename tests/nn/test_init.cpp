// Initializers: the spread of each rule, seeding, and float/double agreement.

#include <catch2/catch.hpp>
#include <cmath>

#include "retrograd/nn/init.hpp"

using namespace retrograd;
using namespace retrograd::nn;

namespace {
struct Stats {
  double mean = 0, stddev = 0, low = 1e30, high = -1e30;
};

Stats stats(const Initializer& init, std::size_t fan_in, std::size_t fan_out) {
  Engine engine(1);
  TensorD t = TensorD::from_shape({fan_in, fan_out});
  init.fill(t, fan_in, fan_out, engine);
  Stats s;
  for (double v : t) {
    s.mean += v;
    s.low = std::min(s.low, v);
    s.high = std::max(s.high, v);
  }
  s.mean /= t.size();
  for (double v : t) s.stddev += (v - s.mean) * (v - s.mean);
  s.stddev = std::sqrt(s.stddev / t.size());
  return s;
}
}  // namespace

TEST_CASE("initializers draw with the documented spread", "[nn][init]") {
  const std::size_t in = 200, out = 100;
  const double glorot_limit = std::sqrt(6.0 / (in + out));
  Stats s = stats(Initializer::glorot_uniform(), in, out);
  CHECK(s.high <= glorot_limit);
  CHECK(s.low >= -glorot_limit);
  CHECK(s.stddev == Approx(glorot_limit / std::sqrt(3.0)).epsilon(0.03));
  CHECK(stats(Initializer::glorot_normal(), in, out).stddev ==
        Approx(std::sqrt(2.0 / (in + out))).epsilon(0.03));
  CHECK(stats(Initializer::he_normal(), in, out).stddev ==
        Approx(std::sqrt(2.0 / in)).epsilon(0.03));
  CHECK(stats(Initializer::he_uniform(), in, out).high <= std::sqrt(6.0 / in));
  CHECK(stats(Initializer::lecun_normal(), in, out).stddev ==
        Approx(std::sqrt(1.0 / in)).epsilon(0.03));
  CHECK(stats(Initializer::lecun_uniform(), in, out).high <= std::sqrt(3.0 / in));
  s = stats(Initializer::normal(1.0, 0.5), in, out);
  CHECK(s.mean == Approx(1.0).epsilon(0.01));
  CHECK(s.stddev == Approx(0.5).epsilon(0.03));
  s = stats(Initializer::uniform(2.0, 3.0), in, out);
  CHECK(s.low >= 2.0);
  CHECK(s.high < 3.0);
  s = stats(Initializer::constant(0.25), 3, 4);
  CHECK(s.low == 0.25);
  CHECK(s.high == 0.25);
  CHECK(stats(Initializer::zeros(), 3, 4).high == 0.0);
  CHECK(Initializer::constant(0.25).name() == "constant(0.25)");
}

TEST_CASE("initializers are seeded: same engine state, same numbers", "[nn][init]") {
  Engine a(5), b(5), c(6);
  Tensor ta = Tensor::from_shape({4, 4}), tb = ta, tc = ta;
  TensorD td = TensorD::from_shape({4, 4});
  Initializer::he_normal().fill(ta, 4, 4, a);
  Initializer::he_normal().fill(tb, 4, 4, b);
  Initializer::he_normal().fill(tc, 4, 4, c);
  Engine d(5);
  Initializer::he_normal().fill(td, 4, 4, d);
  CHECK((ta == tb));
  CHECK((ta != tc));
  for (std::size_t i = 0; i < ta.size(); ++i)
    CHECK(ta.data()[i] == static_cast<float>(td.data()[i]));
}

TEST_CASE("initializers reject bad parameters", "[nn][init]") {
  REQUIRE_THROWS_WITH(Initializer::uniform(1.0, -1.0), Catch::Contains("low 1"));
  REQUIRE_THROWS_WITH(Initializer::normal(0.0, -2.0), Catch::Contains("got -2"));
  Engine e(0);
  Tensor t = Tensor::from_shape({0, 3});
  REQUIRE_THROWS_WITH(Initializer::he_normal().fill(t, 0, 3, e), Catch::Contains("he_normal"));
}
