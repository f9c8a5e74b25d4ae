#include <catch2/catch.hpp>
#include <cmath>

#include "retrograd/data/synthetic.hpp"

using namespace retrograd::data;
using retrograd::Shape;
using retrograd::Tensor;

namespace {

bool same(const Dataset& a, const Dataset& b) {
  const Tensor xa = a.features(), xb = b.features();
  return xa == xb && a.labels() == b.labels() && a.targets() == b.targets();
}

/// Fraction of samples a perceptron classifies correctly after `epochs` passes (2 classes).
double perceptron_accuracy(const Dataset& d, int epochs) {
  const Tensor x = d.features();
  double w0 = 0, w1 = 0, b = 0;
  for (int e = 0; e < epochs; ++e) {
    for (std::size_t i = 0; i < d.size(); ++i) {
      const int y = d.labels()[i] ? 1 : -1;
      if (y * (w0 * x(i, 0) + w1 * x(i, 1) + b) <= 0) {
        w0 += y * x(i, 0);
        w1 += y * x(i, 1);
        b += y;
      }
    }
  }
  std::size_t ok = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    ok += ((w0 * x(i, 0) + w1 * x(i, 1) + b) > 0) == (d.labels()[i] == 1);
  }
  return static_cast<double>(ok) / static_cast<double>(d.size());
}

}  // namespace

TEST_CASE("XOR truth table", "[data][synthetic]") {
  const Dataset d = xor_table();
  REQUIRE(d.size() == 4);
  CHECK(d.labels() == std::vector<Label>{0, 1, 1, 0});
  const Tensor x = d.features();
  CHECK(x(3, 0) == 1.0f);
  CHECK(x(3, 1) == 1.0f);
  CHECK(x(1, 0) == 0.0f);
}

TEST_CASE("Synthetic sets are deterministic per seed", "[data][synthetic]") {
  CHECK(same(make_xor(50, 0.1, 1), make_xor(50, 0.1, 1)));
  CHECK_FALSE(same(make_xor(50, 0.1, 1), make_xor(50, 0.1, 2)));
  CHECK(same(make_spirals(30, 3, 0.2, 4), make_spirals(30, 3, 0.2, 4)));
  CHECK_FALSE(same(make_spirals(30, 3, 0.2, 4), make_spirals(30, 3, 0.2, 5)));
  CHECK(same(make_moons(41, 0.1, 4), make_moons(41, 0.1, 4)));
  CHECK_FALSE(same(make_moons(41, 0.1, 4), make_moons(41, 0.1, 5)));
  CHECK(same(make_blobs(60, 4, 3, 1.0, 8), make_blobs(60, 4, 3, 1.0, 8)));
  CHECK(same(make_linear(60, 0.1, 8), make_linear(60, 0.1, 8)));
  CHECK(same(make_sine(20, 0.1, 3), make_sine(20, 0.1, 3)));
  CHECK_FALSE(same(make_sine(20, 0.1, 3), make_sine(20, 0.1, 4)));
}

TEST_CASE("Synthetic sets have the documented shapes and labels", "[data][synthetic]") {
  const Dataset x = make_xor(200, 0.05, 3);
  CHECK(x.size() == 200);
  CHECK(x.num_classes() == 2);
  const Tensor xf = x.features();
  for (std::size_t i = 0; i < x.size(); ++i) {
    const int a = xf(i, 0) > 0.5f, b = xf(i, 1) > 0.5f;
    CHECK(x.labels()[i] == (a ^ b));  // noise 0.05 never crosses the middle
  }

  const Dataset s = make_spirals(100, 3, 0.1, 0);
  CHECK(s.size() == 300);
  CHECK(s.num_classes() == 3);
  CHECK(s.feature_count() == 2);
  CHECK(std::count(s.labels().begin(), s.labels().end(), 2) == 100);

  const Dataset m = make_moons(101, 0.0, 0);
  CHECK(m.size() == 101);
  CHECK(std::count(m.labels().begin(), m.labels().end(), 0) == 51);
  const Tensor mf = m.features();
  for (std::size_t i = 0; i < m.size(); ++i) {
    // Without noise, every point lies on its unit circle: centre (0, 0) or (1, 0.5).
    const double cx = m.labels()[i] ? 1.0 : 0.0, cy = m.labels()[i] ? 0.5 : 0.0;
    CHECK(std::hypot(mf(i, 0) - cx, mf(i, 1) - cy) == Approx(1.0).epsilon(1e-5));
  }

  const Dataset b = make_blobs(90, 3, 4, 1.0, 2);
  CHECK(b.feature_count() == 4);
  CHECK(b.num_classes() == 3);
  CHECK(std::count(b.labels().begin(), b.labels().end(), 1) == 30);

  const Dataset r = make_sine(64, 0.0, 1);
  CHECK(r.has_targets());
  CHECK(r.targets().shape() == Shape{64, 1});
  const Tensor rx = r.features();
  for (std::size_t i = 0; i < r.size(); ++i) {
    CHECK(rx(i, 0) >= -3.1416f);
    CHECK(rx(i, 0) <= 3.1416f);
    CHECK(r.targets()(i, 0) == Approx(std::sin(rx(i, 0))).margin(1e-5));
  }
  const Dataset q = make_curve([](double v) { return v * v; }, 10, 0.0, 2.0, 0.0, 1);
  CHECK(q.targets()(3, 0) == Approx(q.features()(3, 0) * q.features()(3, 0)));

  REQUIRE_THROWS_WITH(make_moons(10, -1.0), Catch::Contains("noise"));
  REQUIRE_THROWS_WITH(make_blobs(10, 0), Catch::Contains("classes must be positive"));
}

TEST_CASE("The linear set is separable and XOR is not", "[data][synthetic]") {
  CHECK(perceptron_accuracy(make_linear(200, 0.05, 11), 100) == 1.0);
  CHECK(perceptron_accuracy(make_blobs(200, 2, 2, 1.0, 3), 100) == 1.0);
  CHECK(perceptron_accuracy(xor_table(), 100) < 1.0);
}
