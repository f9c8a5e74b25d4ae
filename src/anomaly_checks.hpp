#pragma once
// Internal: the checks of anomaly mode (retrograd/anomaly.hpp), called by the op machinery for
// every forward value and by the engine for every gradient sent to an input, only while
// anomaly_detection_enabled(). Each throws AnomalyError naming what it found.

#include <cstddef>

#include "retrograd/anomaly.hpp"
#include "retrograd/node.hpp"

namespace retrograd::detail {

/// Throws unless every element of the value `op` computed from `inputs` is finite.
template <class T>
void check_forward(const char* op, const BasicTensor<T>& value, const InputList<T>& inputs);
/// The same for a scalar node's number.
template <class T>
void check_forward(const char* op, T value, const InputList<T>& inputs);

/// Throws unless every element of the gradient `node` sends to its input `input` is finite.
template <class T>
void check_backward(const Node<T>& node, std::size_t input, const BasicTensor<T>& grad);
/// The same for a scalar rule's number.
template <class T>
void check_backward(const Node<T>& node, std::size_t input, T grad);

}  // namespace retrograd::detail
