#pragma once
/// @file broadcast.hpp
/// numpy broadcasting: the shape two operands broadcast to, and its undoing for gradients.

#include <string>

#include "retrograd/tensor.hpp"

namespace retrograd {

/// The shape `a` and `b` broadcast to under numpy rules. Throws std::invalid_argument naming
/// `op` and both shapes when they do not broadcast.
Shape broadcast_shape(const std::string& op, const Shape& a, const Shape& b);

/// Sums `grad` over the axes that broadcasting added or stretched, giving a tensor of `shape`:
/// the gradient of a broadcast input. The one place where broadcasting is undone.
template <class T>
BasicTensor<T> sum_to(BasicTensor<T> grad, const Shape& shape);

}  // namespace retrograd
