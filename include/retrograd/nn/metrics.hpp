#pragma once
/// @file metrics.hpp
/// Classification accuracy from predictions and targets (values only, no graph).

#include <cstddef>

#include "retrograd/tensor.hpp"

namespace retrograd::nn {

/// Number of rows of `pred` classified right.
/// - `pred` [n, c] with c > 1: the predicted class is the row's argmax; `target` is either
///   one-hot rows [n, c] (argmax) or class ids [n] / [n, 1].
/// - `pred` [n] or [n, 1]: binary, predicted 1 when pred > 0.5 (pred > 0 when `from_logits`);
///   the target class is target > 0.5.
/// Throws std::invalid_argument when the shapes fit none of these.
template <class T>
std::size_t count_correct(const BasicTensor<T>& pred, const BasicTensor<T>& target,
                          bool from_logits = false);

/// count_correct / n, in [0, 1]; 0 for an empty batch.
template <class T>
double accuracy(const BasicTensor<T>& pred, const BasicTensor<T>& target, bool from_logits = false);

}  // namespace retrograd::nn
