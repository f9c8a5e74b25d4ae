#pragma once
/// @file tensor.hpp
/// The only public header that includes xtensor: tensor aliases and small shape helpers.
/// Every other header names tensors through these aliases, so an xtensor upgrade (0.26 moved
/// its headers into subfolders) is a change to this one file.

#include <cstddef>
#include <ostream>
#include <string>
#include <type_traits>
#include <xtensor/xarray.hpp>

namespace retrograd {

namespace detail {
/// A 64-byte aligned buffer of at least `bytes` bytes, reused from this thread's cache when
/// one of the same size class was released (see Note [buffer cache] in src/tensor.cpp).
void* acquire_buffer(std::size_t bytes);
/// Returns a buffer from acquire_buffer to this thread's cache.
void release_buffer(void* buffer, std::size_t bytes) noexcept;

/// The allocator of every tensor: training steps allocate the same sizes over and over, and
/// the cache turns each of those allocations into a pop from a free list.
template <class T>
struct BufferAllocator {
  using value_type = T;
  BufferAllocator() noexcept = default;
  template <class U>
  BufferAllocator(const BufferAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(acquire_buffer(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { release_buffer(p, n * sizeof(T)); }
  friend bool operator==(const BufferAllocator&, const BufferAllocator&) { return true; }
  friend bool operator!=(const BufferAllocator&, const BufferAllocator&) { return false; }
};
}  // namespace detail

/// A dense row-major n-dimensional array of `T` (an `xt::xarray` with a caching allocator).
template <class T>
using BasicTensor = xt::xarray<T, xt::layout_type::row_major, detail::BufferAllocator<T>>;
/// Single-precision tensor: what training uses.
using Tensor = BasicTensor<float>;
/// Double-precision tensor: gradient checks and teaching examples with exact numbers.
using TensorD = BasicTensor<double>;

/// The shape of a tensor; `{}` is a scalar (0-d tensor).
using Shape = typename Tensor::shape_type;

/// "[2, 3]" for a shape of two dimensions, "[]" for a scalar.
std::string shape_string(const Shape& shape);

/// "[1, 0]": the index of element `flat` (in row-major order) of a tensor of `shape`, for
/// messages that point at one element.
std::string index_string(std::size_t flat, const Shape& shape);

/// Number of elements a tensor of this shape holds.
std::size_t shape_size(const Shape& shape);

/// A zero-filled tensor of the given shape.
template <class T>
BasicTensor<T> zeros(const Shape& shape) {
  BasicTensor<T> t = BasicTensor<T>::from_shape(shape);
  t.fill(T(0));
  return t;
}

/// A tensor of the given shape with every element equal to `value`.
template <class T>
BasicTensor<T> full(const Shape& shape, T value) {
  BasicTensor<T> t = BasicTensor<T>::from_shape(shape);
  t.fill(value);
  return t;
}

/// A 0-d tensor holding `value`.
template <class T>
BasicTensor<T> scalar_tensor(T value) {
  BasicTensor<T> t = BasicTensor<T>::from_shape({});
  t() = value;
  return t;
}

/// Short text of a tensor's values for messages and traces: "-4", "[1, 2, 3]",
/// or "[2, 3] tensor" when it holds more than `max_elements` values.
template <class T>
std::string values_string(const BasicTensor<T>& t, std::size_t max_elements = 8);

/// A tensor's values nested by axis, followed by its shape, as traces and pages show them:
/// "-4" for a single number (0-d), "[1, 2, 3] (3)", "[[1, 2], [3, 4]] (2x2)". Above
/// `max_elements` values, every axis longer than four shows its first two and last two entries
/// around "...", as NumPy prints large arrays. Numbers keep `precision` significant digits.
template <class T>
std::string tensor_string(const BasicTensor<T>& t, std::size_t max_elements = 16,
                          int precision = 6);

namespace detail {
/// Blocks template argument deduction, so `var + 2.0` converts 2.0 to the Var's element type.
template <class T>
struct identity {
  using type = T;
};
template <class T>
using identity_t = typename identity<T>::type;
}  // namespace detail

}  // namespace retrograd

namespace xt {
/// Prints a tensor as retrograd::tensor_string() shows it: `std::cout << t` ("[1, 2, 3] (3)").
/// It lives in xt, the namespace of the tensor's type, so that it is found from any scope.
template <class T>
std::ostream& operator<<(std::ostream& out, const retrograd::BasicTensor<T>& t) {
  return out << retrograd::tensor_string(t);
}
}  // namespace xt
