#pragma once
/// @file split.hpp
/// Seeded train / validation / test splits, and scaling fitted on the training part.

#include <cstdint>

#include "retrograd/data/dataset.hpp"
#include "retrograd/data/scaling.hpp"

namespace retrograd::data {

/// Fractions of the samples that go to each part; they must be non-negative and sum to 1.
/// The default is the course's 70 / 20 / 10.
struct SplitFractions {
  /// Fraction for training.
  double train = 0.7;
  /// Fraction for validation.
  double validation = 0.2;
  /// Fraction for the final test.
  double test = 0.1;
};

/// Three disjoint parts of one dataset.
struct Split {
  /// Training part.
  Dataset train;
  /// Validation part (tuning, early stopping).
  Dataset validation;
  /// Test part (the final score).
  Dataset test;
};

/// Splits `data` at random (a permutation seeded by `seed`) into disjoint parts of
/// round(n * train) and round(n * validation) samples, the test part taking the rest. Each part
/// keeps the dataset's scaler and number of classes and starts in unshuffled order. Throws
/// std::invalid_argument if a fraction is negative or they do not sum to 1.
Split split(const Dataset& data, const SplitFractions& fractions = {}, std::uint64_t seed = 0);

/// Fits `kind` scaling on `parts.train` and applies the same scaler to all three parts, so no
/// information from validation or test data leaks into training.
void scale(Split& parts, Scaling kind);

/// Fits `kind` scaling on `train` and applies it to `train` and `other` (a test set).
void scale(Dataset& train, Dataset& other, Scaling kind);

}  // namespace retrograd::data
