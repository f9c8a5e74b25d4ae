#pragma once
// A masked mean-squared error: only the entries whose mask is 1 count, and the mean is over
// them. examples/masked_mse.cpp runs it; tests/test_op_examples.cpp gradchecks it.

#include <retrograd/retrograd.hpp>

namespace example {

/// sum over mask of (prediction - target)^2, divided by the number of entries in the mask.
/// The missing targets must hold a finite filler (0): where() sends them a zero gradient, but
/// 0 x NaN is NaN, so a NaN target would poison the gradient of its prediction.
template <class T>
retrograd::BasicVar<T> masked_mse(const retrograd::BasicVar<T>& prediction,
                                  const retrograd::BasicVar<T>& target,
                                  const retrograd::BasicVar<T>& mask) {
  using namespace retrograd;
  const BasicVar<T> error = prediction - target;
  const BasicVar<T> kept = where(mask, error * error, BasicVar<T>(T(0)));
  return sum(kept) / sum(mask).item();
}

}  // namespace example
