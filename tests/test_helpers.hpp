#pragma once
// Shared test helpers: seeded random tensors and gradcheck assertions.

#include <catch2/catch.hpp>
#include <random>

#include <retrograd/retrograd.hpp>

namespace Catch {
// Full specializations: a partial one would be ambiguous with Catch's own for ranges.
template <>
struct StringMaker<retrograd::TensorD> {
  static std::string convert(const retrograd::TensorD& t) {
    return retrograd::values_string(t, 64) + " of shape " + retrograd::shape_string(t.shape());
  }
};
template <>
struct StringMaker<retrograd::Tensor> {
  static std::string convert(const retrograd::Tensor& t) {
    return retrograd::values_string(t, 64) + " of shape " + retrograd::shape_string(t.shape());
  }
};
}  // namespace Catch

namespace retrograd::testing {

/// Matches a tensor of the same shape and exactly the same values.
template <class T>
struct TensorEquals : Catch::MatcherBase<BasicTensor<T>> {
  explicit TensorEquals(BasicTensor<T> expected) : expected_(std::move(expected)) {}
  bool match(const BasicTensor<T>& actual) const override {
    return actual.shape() == expected_.shape() &&
           std::equal(actual.begin(), actual.end(), expected_.begin());
  }
  std::string describe() const override {
    return "equals " + Catch::StringMaker<BasicTensor<T>>::convert(expected_);
  }
  BasicTensor<T> expected_;
};

template <class T>
TensorEquals<T> Equals(BasicTensor<T> expected) {
  return TensorEquals<T>(std::move(expected));
}

/// A tensor of the given shape holding `values` in row-major order.
template <class T = double>
BasicTensor<T> shaped(std::vector<T> values, const Shape& shape) {
  BasicTensor<T> t = BasicTensor<T>::from_shape(shape);
  std::copy(values.begin(), values.end(), t.begin());
  return t;
}


/// Uniform values in [lo, hi), or in +-[min_magnitude, hi) when min_magnitude > 0 (keeps inputs
/// away from kinks such as relu's 0).
inline TensorD random_tensor(const Shape& shape, std::uint64_t seed, double lo = -2, double hi = 2,
                             double min_magnitude = 0) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  TensorD t = TensorD::from_shape(shape);
  for (double& v : t) {
    do {
      v = dist(engine);
    } while (std::abs(v) < min_magnitude);
  }
  return t;
}

inline void require_gradcheck(const GradcheckFn& f, const std::vector<TensorD>& inputs,
                              const GradcheckOptions& options = {}) {
  const GradcheckResult result = gradcheck(f, inputs, options);
  INFO(result.summary());
  REQUIRE(result.passed);
}

}  // namespace retrograd::testing
