#pragma once
// Internal: whether a buffer holds only finite values, checked on every training step.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace retrograd::nn::detail {

/// Whether every value is finite. A float or double is NaN or infinite exactly when its
/// exponent bits are all ones; testing the bits needs no floating-point sum (a sum of floats
/// must keep its order, so the compiler cannot vectorize it: one dependent add per element),
/// and the loop vectorizes.
template <class T>
bool all_finite(const T* values, std::size_t count) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr Bits exponent = static_cast<Bits>(sizeof(T) == 4 ? 0x7f800000 : 0x7ff0000000000000);
  Bits found = 0;
  for (std::size_t i = 0; i < count; ++i) {
    Bits bits;
    std::memcpy(&bits, values + i, sizeof bits);
    found |= static_cast<Bits>((bits & exponent) == exponent);
  }
  return found == 0;
}

}  // namespace retrograd::nn::detail
