#pragma once
/// @file pooling.hpp
/// Pooling layers over NCHW images: MaxPool2D, AvgPool2D (windows) and GlobalAvgPool2D.

#include <optional>

#include "retrograd/nn/layer_registry.hpp"
#include "retrograd/nn/module.hpp"
#include "retrograd/ops.hpp"

namespace retrograd::nn {

/// What the window poolings share: kernel, stride (the kernel unless given) and padding, their
/// record and their output shape.
template <class T>
class BasicWindowPool : public BasicModule<T> {
 public:
  /// Kernel height and width.
  Size2 kernel() const { return kernel_; }
  /// Step of the window.
  Size2 stride() const { return stride_; }
  /// Padding on each side.
  Size2 padding() const { return padding_; }
  /// The pooling of `x` [n, c, h, w]. Throws std::invalid_argument naming the layer and the
  /// shape for another rank or a window that does not fit.
  BasicVar<T> forward(const BasicVar<T>& x) override;
  /// [n, c, oh, ow] for [n, c, h, w]; the input's shape for one it cannot take.
  Shape output_shape(const Shape& input) const override;
  /// Kernel, stride and padding.
  void save_config(Record& config) const override;

 protected:
  /// Throws std::invalid_argument naming `type` for a kernel or stride of 0, or padding above
  /// half the kernel.
  BasicWindowPool(const char* name, const char* type, Size2 kernel, std::optional<Size2> stride,
                  Size2 padding);
  /// The op on an input already checked to be 4-d.
  virtual BasicVar<T> pool(const BasicVar<T>& x) const = 0;
  /// Reads kernel, stride and padding from a record.
  struct Settings {
    Size2 kernel, stride, padding;
  };
  static Settings read_settings(const LayerRecord& record);

 private:
  Size2 kernel_, stride_, padding_;
};

/// The largest value of each window; the gradient goes to it (max_pool2d).
template <class T>
class BasicMaxPool2D : public BasicWindowPool<T> {
 public:
  /// Windows of `kernel`, moved by `stride` (the kernel unless given), with `padding` counting
  /// as -infinity. Throws std::invalid_argument for a kernel or stride of 0, or padding above
  /// half the kernel.
  explicit BasicMaxPool2D(Size2 kernel, std::optional<Size2> stride = {}, Size2 padding = 0)
      : BasicWindowPool<T>("max_pool2d", "MaxPool2D", kernel, stride, padding) {}
  /// "MaxPool2D".
  std::string type() const override { return "MaxPool2D"; }
  /// A layer with the saved settings.
  static std::unique_ptr<BasicMaxPool2D> from_record(const LayerRecord& record);

 private:
  BasicVar<T> pool(const BasicVar<T>& x) const override;
};

/// The mean of each window, padded zeros included (avg_pool2d).
template <class T>
class BasicAvgPool2D : public BasicWindowPool<T> {
 public:
  /// As MaxPool2D, with padded zeros counted in each mean.
  explicit BasicAvgPool2D(Size2 kernel, std::optional<Size2> stride = {}, Size2 padding = 0)
      : BasicWindowPool<T>("avg_pool2d", "AvgPool2D", kernel, stride, padding) {}
  /// "AvgPool2D".
  std::string type() const override { return "AvgPool2D"; }
  /// A layer with the saved settings.
  static std::unique_ptr<BasicAvgPool2D> from_record(const LayerRecord& record);

 private:
  BasicVar<T> pool(const BasicVar<T>& x) const override;
};

/// The mean of each channel over the whole image: [n, c, h, w] to [n, c]
/// (global_avg_pool2d; PyTorch's AdaptiveAvgPool2d(1) followed by Flatten).
template <class T>
class BasicGlobalAvgPool2D : public BasicModule<T> {
 public:
  BasicGlobalAvgPool2D() : BasicModule<T>("global_avg_pool2d") {}
  /// Throws std::invalid_argument naming the layer and the shape for an input that is not 4-d.
  BasicVar<T> forward(const BasicVar<T>& x) override;
  /// "GlobalAvgPool2D".
  std::string type() const override { return "GlobalAvgPool2D"; }
  /// [n, c] for [n, c, h, w].
  Shape output_shape(const Shape& input) const override;
  /// A new layer (it has no settings).
  static std::unique_ptr<BasicGlobalAvgPool2D> from_record(const LayerRecord&) {
    return std::make_unique<BasicGlobalAvgPool2D>();
  }
};

/// Single-precision MaxPool2D.
using MaxPool2D = BasicMaxPool2D<float>;
/// Single-precision AvgPool2D.
using AvgPool2D = BasicAvgPool2D<float>;
/// Single-precision GlobalAvgPool2D.
using GlobalAvgPool2D = BasicGlobalAvgPool2D<float>;

extern template class BasicWindowPool<float>;
extern template class BasicWindowPool<double>;
extern template class BasicMaxPool2D<float>;
extern template class BasicMaxPool2D<double>;
extern template class BasicAvgPool2D<float>;
extern template class BasicAvgPool2D<double>;
extern template class BasicGlobalAvgPool2D<float>;
extern template class BasicGlobalAvgPool2D<double>;

RETROGRAD_REGISTER_LAYER(MaxPool2D);
RETROGRAD_REGISTER_LAYER(AvgPool2D);
RETROGRAD_REGISTER_LAYER(GlobalAvgPool2D);

}  // namespace retrograd::nn
