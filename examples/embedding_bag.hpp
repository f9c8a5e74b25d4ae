#pragma once
// An embedding bag: each example is a bag of token ids; the model looks up each token's
// embedding (take on axis 0), averages them, and scores two classes with a linear map.
// examples/embedding_bag.cpp trains it; tests/test_op_examples.cpp gradchecks it.

#include <retrograd/retrograd.hpp>

namespace example {

/// Logits [bags, 2] for `ids` [bags, tokens]: mean over each bag of table[id], times W, plus b.
template <class T>
retrograd::BasicVar<T> embedding_bag_logits(const retrograd::IndexTensor& ids,
                                            const retrograd::BasicVar<T>& table,
                                            const retrograd::BasicVar<T>& w,
                                            const retrograd::BasicVar<T>& b) {
  using namespace retrograd;
  const BasicVar<T> vectors = take(table, ids, 0);  // [bags, tokens, dim]; gradients scatter-add
  return linear(mean(vectors, 1), w, b);            // [bags, dim] x [dim, 2] + [2]
}

}  // namespace example
