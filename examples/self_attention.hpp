#pragma once
// Single-head self-attention on batched matmul: softmax(Q K^T / sqrt(d)) V, with
// Q = x Wq, K = x Wk, V = x Wv for x [batch, tokens, features] and W* [features, d].
// examples/self_attention.cpp runs it; tests/test_op_examples.cpp gradchecks it.

#include <cmath>
#include <retrograd/retrograd.hpp>

namespace example {

/// The attention weights softmax(Q K^T / sqrt(d)) [batch, tokens, tokens]: row i says how much
/// token i reads from each token.
template <class T>
retrograd::BasicVar<T> attention_weights(const retrograd::BasicVar<T>& x,
                                         const retrograd::BasicVar<T>& wq,
                                         const retrograd::BasicVar<T>& wk) {
  using namespace retrograd;
  const BasicVar<T> q = matmul(x, wq);  // [batch, tokens, d]: one GEMM per batch entry
  const BasicVar<T> k = matmul(x, wk);
  const T scale = T(1) / std::sqrt(static_cast<T>(wq.shape().back()));
  // K^T of each batch entry: axes 1 and 2 swapped
  return softmax(matmul(q, permute(k, {0, 2, 1})) * scale, -1);
}

/// The attention block's output [batch, tokens, d]: each token's weighted mix of the values.
template <class T>
retrograd::BasicVar<T> self_attention(const retrograd::BasicVar<T>& x,
                                      const retrograd::BasicVar<T>& wq,
                                      const retrograd::BasicVar<T>& wk,
                                      const retrograd::BasicVar<T>& wv) {
  return retrograd::matmul(attention_weights(x, wq, wk), retrograd::matmul(x, wv));
}

}  // namespace example
