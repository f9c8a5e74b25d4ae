#pragma once
/// @file feature_scaling.hpp
/// `FeatureScaling`: y = (x - offset) * scale per feature, as a model's first layer, so that a
/// saved model carries the input scaling it was trained with and predict() takes raw input
/// (pixels 0..255, unscaled CSV columns). Its offset and scale are buffers: saved, not trained.

#include <memory>
#include <vector>

#include "retrograd/nn/layer_registry.hpp"
#include "retrograd/nn/module.hpp"

namespace retrograd::nn {

/// Per-feature affine input scaling (see the file comment).
template <class T>
class BasicFeatureScaling : public BasicModule<T> {
 public:
  /// Scaling with these per-feature offsets and scales (equal, positive lengths, finite
  /// values). Throws std::invalid_argument naming the first bad entry.
  BasicFeatureScaling(std::vector<T> offset, std::vector<T> scale);
  /// (x - offset) * scale; x is [batch, features], or [batch, ...] with samples of `features`
  /// values (images) that see offset and scale in their own shape. An input that requires no
  /// gradient gives a constant (no graph nodes); one that does goes through the sub and mul ops.
  BasicVar<T> forward(const BasicVar<T>& x) override;
  /// The same values on tensors, without a graph.
  BasicTensor<T> infer_tensor(const BasicTensor<T>& x) const override;
  /// "FeatureScaling".
  std::string type() const override { return "FeatureScaling"; }
  /// "offset" and "scale".
  std::vector<NamedBuffer<T>> named_buffers() override;
  /// The number of features.
  std::size_t input_features() const override { return offset_.size(); }
  /// A layer of the saved offset's width.
  static std::unique_ptr<BasicFeatureScaling> from_record(const LayerRecord& record);

 private:
  void check_input(const Shape& s) const;
  BasicTensor<T> scaled(const BasicTensor<T>& x) const;

  BasicTensor<T> offset_;
  BasicTensor<T> scale_;
};

/// Single-precision feature scaling.
using FeatureScaling = BasicFeatureScaling<float>;

extern template class BasicFeatureScaling<float>;
extern template class BasicFeatureScaling<double>;

RETROGRAD_REGISTER_LAYER(FeatureScaling);

}  // namespace retrograd::nn
