#pragma once
/// @file conv2d.hpp
/// The 2-d convolution layer, PyTorch's Conv2d: NCHW images in, NCHW feature maps out.

#include <cstdint>

#include "retrograd/nn/init.hpp"
#include "retrograd/nn/layer_registry.hpp"
#include "retrograd/nn/module.hpp"
#include "retrograd/ops.hpp"

namespace retrograd::nn {

/// Stride, padding, dilation and bias of a Conv2D (PyTorch's defaults).
struct Conv2DOptions {
  /// Step of the window.
  Size2 stride = 1;
  /// Zeros added on each side.
  Size2 padding = 0;
  /// Spacing of the kernel's taps.
  Size2 dilation = 1;
  /// Whether the layer adds a bias per output channel.
  bool bias = true;
  /// Channel groups: output group k reads input group k only (in_channels groups: depthwise).
  /// It must divide both channel counts.
  std::size_t groups = 1;
};

/// y = conv2d(x, W, b): x [n, in_channels, h, w], W [out_channels, in_channels / groups, kh, kw]
/// (OIHW, PyTorch's layout), b [out_channels]. One conv2d node (src/ops/conv.cpp).
template <class T>
class BasicConv2D : public BasicModule<T> {
 public:
  /// W filled by `weights` with fan-in in_channels / groups kh kw and fan-out out_channels kh kw
  /// (PyTorch's), drawing from `engine` (default_engine() unless given); b zeros. Throws
  /// std::invalid_argument for a channel count, kernel, stride, dilation or group count of 0,
  /// or groups that do not divide both channel counts.
  BasicConv2D(std::size_t in_channels, std::size_t out_channels, Size2 kernel,
              Conv2DOptions options = {}, Initializer weights = Initializer::he_uniform(),
              Engine& engine = default_engine());

  /// The convolution. Throws std::invalid_argument naming the layer and the shapes when `x` is
  /// not [n, in_channels, h, w] or the kernel does not fit the padded image.
  BasicVar<T> forward(const BasicVar<T>& x) override;
  /// "Conv2D".
  std::string type() const override { return "Conv2D"; }
  /// "W" then "b" (without a bias, "W" alone).
  std::vector<NamedParameter<T>> named_parameters() const override;
  /// [n, out_channels, oh, ow] for [n, in_channels, h, w]; the input's shape for one it cannot
  /// take (forward() says why).
  Shape output_shape(const Shape& input) const override;
  /// Stride, padding, dilation, bias and, above 1, groups (the sizes come from the saved W).
  void save_config(Record& config) const override;
  /// A layer of the saved W's shape with the saved settings.
  static std::unique_ptr<BasicConv2D> from_record(const LayerRecord& record);
  /// Refills W by `weights` from `engine` and zeroes b.
  void reset_parameters(const Initializer& weights, Engine& engine);

  /// Weights, [out_channels, in_channels / groups, kh, kw].
  const BasicVar<T>& weight() const { return W_; }
  /// Bias, [out_channels] (an empty Var without one).
  const BasicVar<T>& bias() const { return b_; }
  /// Input channels.
  std::size_t in_channels() const { return in_; }
  /// Output channels.
  std::size_t out_channels() const { return out_; }
  /// Kernel height and width.
  Size2 kernel() const { return kernel_; }
  /// Stride, padding, dilation, bias, groups.
  const Conv2DOptions& options() const { return options_; }

 private:
  std::string describe() const;
  std::size_t in_, out_;
  Size2 kernel_;
  Conv2DOptions options_;
  BasicVar<T> W_;
  BasicVar<T> b_;
};

/// Single-precision Conv2D: training.
using Conv2D = BasicConv2D<float>;
/// Double-precision Conv2D: gradient checks.
using Conv2DD = BasicConv2D<double>;

extern template class BasicConv2D<float>;
extern template class BasicConv2D<double>;

RETROGRAD_REGISTER_LAYER(Conv2D);

}  // namespace retrograd::nn
