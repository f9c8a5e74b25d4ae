#pragma once
// Shared test helpers: seeded random tensors, tensor matchers and the gradient check of every
// test suite.

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

/// The gradient check of every test suite: gradcheck(f, inputs, parameters) in double must
/// pass; when it does not, the worst element is reported. `parameters` are Vars that f reads
/// without receiving them.
inline void require_gradcheck(const GradcheckFn& f, const std::vector<TensorD>& inputs,
                              const std::vector<VarD>& parameters,
                              const GradcheckOptions& options = {}) {
  const GradcheckResult result = gradcheck(f, inputs, parameters, options);
  INFO(result.summary());
  REQUIRE(result.passed);
}

/// require_gradcheck for a function of its inputs alone.
inline void require_gradcheck(const GradcheckFn& f, const std::vector<TensorD>& inputs,
                              const GradcheckOptions& options = {}) {
  require_gradcheck(f, inputs, {}, options);
}

/// require_gradcheck for a module: the gradients of module(x) with respect to x (input 0) and
/// to each of its parameters (inputs 1, 2, ... in named_parameters() order).
inline void require_gradcheck(nn::BasicModule<double>& module, const TensorD& x,
                              const GradcheckOptions& options = {}) {
  std::vector<VarD> parameters;
  std::string inputs = "input 0: x";
  for (const nn::NamedParameter<double>& p : module.named_parameters()) {
    parameters.push_back(p.var);
    inputs += ", input " + std::to_string(parameters.size()) + ": " + p.name;
  }
  INFO(module.type() << " '" << module.name() << "', " << inputs);
  require_gradcheck([&](const std::vector<VarD>& in) { return module(in[0]); }, {x}, parameters,
                    options);
}

}  // namespace retrograd::testing
