#pragma once
/// @file flatten.hpp
/// Flatten: each sample to one row, in its own axis order (C-H-W for NCHW images, as PyTorch's
/// nn.Flatten), so that a Dense layer can follow the convolutions.

#include "retrograd/nn/layer_registry.hpp"
#include "retrograd/nn/module.hpp"

namespace retrograd::nn {

/// [n, d1, d2, ...] to [n, d1 d2 ...]: a reshape node, no copy of the values' order.
template <class T>
class BasicFlatten : public BasicModule<T> {
 public:
  BasicFlatten() : BasicModule<T>("flatten") {}
  /// x as [n, features]. Throws std::invalid_argument naming the layer for a 0-d input.
  BasicVar<T> forward(const BasicVar<T>& x) override;
  /// "Flatten".
  std::string type() const override { return "Flatten"; }
  /// [n, d1 d2 ...].
  Shape output_shape(const Shape& input) const override;
  /// A new layer (it has no settings).
  static std::unique_ptr<BasicFlatten> from_record(const LayerRecord&) {
    return std::make_unique<BasicFlatten>();
  }
};

/// Single-precision Flatten.
using Flatten = BasicFlatten<float>;

extern template class BasicFlatten<float>;
extern template class BasicFlatten<double>;

RETROGRAD_REGISTER_LAYER(Flatten);

}  // namespace retrograd::nn
