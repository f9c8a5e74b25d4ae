#pragma once
// The model and comparisons shared by the data-parallel tests: threads as shards
// (tests/nn/test_shard_group.cpp) and processes over MPI (tests/distributed/).

#include <algorithm>
#include <cmath>
#include <retrograd/retrograd.hpp>
#include <vector>

#include "../test_helpers.hpp"

namespace retrograd::testing {

/// 4-16-3 relu, softmax cross-entropy on logits, SGD with momentum, seeded.
inline nn::Sequential data_parallel_model(std::uint64_t seed) {
  nn::manual_seed(seed);
  nn::Sequential model;
  model.add(nn::Dense(4, 16, nn::Activation::relu()));
  model.add(nn::Dense(16, 3));
  model.compile(nn::Loss::categorical_cross_entropy(true), nn::SGD(0.1, 0.9), {"accuracy"});
  return model;
}

/// A copy of every parameter's value.
inline std::vector<Tensor> weights_of(const nn::Module& model) {
  std::vector<Tensor> out;
  for (const Var& p : model.parameters()) out.push_back(p.value());
  return out;
}

/// The largest absolute difference between two lists of tensors of the same shapes.
inline float max_difference(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  REQUIRE(a.size() == b.size());
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].shape() == b[i].shape());
    for (std::size_t k = 0; k < a[i].size(); ++k) {
      worst = std::max(worst, std::abs(a[i].data()[k] - b[i].data()[k]));
    }
  }
  return worst;
}

}  // namespace retrograd::testing
