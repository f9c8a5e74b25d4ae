#include "retrograd/data/synthetic.hpp"

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "random.hpp"

namespace retrograd::data {

namespace {

constexpr double pi = 3.14159265358979323846;

/// Collects samples row by row, then builds a labelled Dataset.
struct Builder {
  explicit Builder(std::size_t features) : features(features) {}
  void add(std::initializer_list<double> x, Label y) {
    for (double v : x) values.push_back(static_cast<float>(v));
    labels.push_back(y);
  }
  Dataset build(std::size_t classes) {
    Tensor x = Tensor::from_shape({labels.size(), features});
    std::copy(values.begin(), values.end(), x.data());
    return Dataset(std::move(x), std::move(labels), classes);
  }
  std::size_t features;
  std::vector<float> values;
  std::vector<Label> labels;
};

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

void require_noise(double noise, const char* who) {
  require(noise >= 0 && std::isfinite(noise),
          std::string(who) + ": noise " + std::to_string(noise) + " must be finite and >= 0");
}

}  // namespace

Dataset xor_table() {
  Builder b(2);
  b.add({0, 0}, 0);
  b.add({0, 1}, 1);
  b.add({1, 0}, 1);
  b.add({1, 1}, 0);
  return b.build(2);
}

Dataset make_xor(std::size_t n, double noise, std::uint64_t seed) {
  require_noise(noise, "make_xor");
  std::mt19937_64 rng(seed);
  Builder b(2);
  for (std::size_t i = 0; i < n; ++i) {
    const auto corner = detail::uniform_index(rng, 4);
    const int a = static_cast<int>(corner >> 1), c = static_cast<int>(corner & 1);
    const double x0 = a + noise * detail::normal(rng);
    const double x1 = c + noise * detail::normal(rng);
    b.add({x0, x1}, a ^ c);
  }
  return b.build(2);
}

Dataset make_spirals(std::size_t per_class, std::size_t classes, double noise, std::uint64_t seed) {
  require_noise(noise, "make_spirals");
  require(classes >= 1, "make_spirals: classes must be positive");
  std::mt19937_64 rng(seed);
  Builder b(2);
  const double turn = 4.0;  // radians each arm sweeps, as in CS231n
  for (std::size_t k = 0; k < classes; ++k) {
    for (std::size_t i = 0; i < per_class; ++i) {
      const double s = per_class > 1 ? static_cast<double>(i) / (per_class - 1) : 0.0;
      const double t = (static_cast<double>(k) + s) * turn + noise * detail::normal(rng);
      b.add({s * std::sin(t), s * std::cos(t)}, static_cast<Label>(k));
    }
  }
  return b.build(classes);
}

Dataset make_moons(std::size_t n, double noise, std::uint64_t seed) {
  require_noise(noise, "make_moons");
  std::mt19937_64 rng(seed);
  const std::size_t upper = n - n / 2, lower = n / 2;
  Builder b(2);
  for (std::size_t i = 0; i < upper; ++i) {
    const double t = upper > 1 ? pi * static_cast<double>(i) / (upper - 1) : 0.0;
    b.add({std::cos(t) + noise * detail::normal(rng), std::sin(t) + noise * detail::normal(rng)},
          0);
  }
  for (std::size_t i = 0; i < lower; ++i) {
    const double t = lower > 1 ? pi * static_cast<double>(i) / (lower - 1) : 0.0;
    b.add({1.0 - std::cos(t) + noise * detail::normal(rng),
           0.5 - std::sin(t) + noise * detail::normal(rng)},
          1);
  }
  return b.build(2);
}

Dataset make_blobs(std::size_t n, std::size_t classes, std::size_t features, double spread,
                   std::uint64_t seed) {
  require(classes >= 1, "make_blobs: classes must be positive");
  require(features >= 2, "make_blobs: needs at least 2 features");
  require(spread >= 0 && std::isfinite(spread), "make_blobs: spread must be finite and >= 0");
  std::mt19937_64 rng(seed);
  // Neighbouring centers 10 spreads apart: a class boundary is 5 standard deviations away.
  const double chord = 10.0 * (spread > 0 ? spread : 1.0);
  const double radius = classes > 1 ? chord / (2.0 * std::sin(pi / classes)) : 0.0;
  const double phase = detail::uniform(rng, 0.0, 2.0 * pi);
  Tensor x = Tensor::from_shape({n, features});
  std::vector<Label> labels(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = i % classes;
    const double angle = phase + 2.0 * pi * static_cast<double>(k) / classes;
    for (std::size_t j = 0; j < features; ++j) {
      const double center = j == 0   ? radius * std::cos(angle)
                            : j == 1 ? radius * std::sin(angle)
                                     : 0;
      x.data()[i * features + j] = static_cast<float>(center + spread * detail::normal(rng));
    }
    labels[i] = static_cast<Label>(k);
  }
  return Dataset(std::move(x), std::move(labels), classes);
}

Dataset make_linear(std::size_t n, double margin, std::uint64_t seed) {
  require(margin >= 0 && margin < 0.5, "make_linear: margin must be in [0, 0.5)");
  std::mt19937_64 rng(seed);
  // A line through the middle part of the square: unit normal w, offset c.
  const double angle = detail::uniform(rng, 0.0, 2.0 * pi);
  const double w0 = std::cos(angle), w1 = std::sin(angle);
  const double c = detail::uniform(rng, -0.3, 0.3);
  Builder b(2);
  while (b.labels.size() < n) {
    const double x0 = detail::uniform(rng, -1.0, 1.0), x1 = detail::uniform(rng, -1.0, 1.0);
    const double d = w0 * x0 + w1 * x1 - c;  // signed distance to the line
    if (std::abs(d) < margin) continue;
    b.add({x0, x1}, d > 0 ? 1 : 0);
  }
  return b.build(2);
}

Dataset make_curve(const std::function<double(double)>& f, std::size_t n, double x_min,
                   double x_max, double noise, std::uint64_t seed) {
  require_noise(noise, "make_curve");
  require(x_min <= x_max, "make_curve: x_min must not exceed x_max");
  std::mt19937_64 rng(seed);
  Tensor x = Tensor::from_shape({n, std::size_t(1)});
  Tensor y = Tensor::from_shape({n, std::size_t(1)});
  for (std::size_t i = 0; i < n; ++i) {
    const double v = detail::uniform(rng, x_min, x_max);
    const double t = f(v) + noise * detail::normal(rng);
    require(std::isfinite(t), "make_curve: f(" + std::to_string(v) + ") is not finite");
    x.data()[i] = static_cast<float>(v);
    y.data()[i] = static_cast<float>(t);
  }
  return Dataset(std::move(x), std::move(y));
}

Dataset make_sine(std::size_t n, double noise, std::uint64_t seed) {
  return make_curve([](double v) { return std::sin(v); }, n, -pi, pi, noise, seed);
}

}  // namespace retrograd::data
