#pragma once
/// @file scaling.hpp
/// Feature scaling: a per-feature affine map `x' = (x - offset) * scale` that a Dataset applies
/// while it fills a batch, so stored data are never rewritten.

#include <cstddef>
#include <vector>

namespace retrograd::data {

/// How to scale features.
enum class Scaling {
  /// Leave values as stored (bytes still map to [0, 1] by dividing by 255).
  none,
  /// Min-max: the minimum of each feature maps to 0, the maximum to 1.
  min_max,
  /// Standardization: each feature gets mean 0 and standard deviation 1.
  standard,
};

/// Per-feature affine scaling `x' = (x - offset[j]) * scale[j]`, computed on a training set by
/// Dataset::fit_scaler() and applied to the training, validation and test sets alike. A feature
/// that is constant in the training set gets scale 1 (as scikit-learn does), so it maps to 0
/// there instead of dividing by zero.
struct FeatureScaler {
  /// Value subtracted from each feature.
  std::vector<float> offset;
  /// Factor each feature is multiplied by after the subtraction.
  std::vector<float> scale;

  /// The scaler that changes nothing, for `features` features.
  static FeatureScaler identity(std::size_t features);
  /// The scaler that divides every one of `features` features by `divisor` (255 for bytes).
  static FeatureScaler divide_by(std::size_t features, float divisor);
  /// Number of features this scaler applies to.
  std::size_t size() const { return offset.size(); }
};

}  // namespace retrograd::data
