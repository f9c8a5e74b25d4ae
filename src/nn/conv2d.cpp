#include "retrograd/nn/conv2d.hpp"

#include <stdexcept>

#include "image_settings.hpp"

namespace retrograd::nn {

template <class T>
BasicConv2D<T>::BasicConv2D(std::size_t in_channels, std::size_t out_channels, Size2 kernel,
                            Conv2DOptions options, Initializer weights, Engine& engine)
    : BasicModule<T>("conv2d"),
      in_(in_channels),
      out_(out_channels),
      kernel_(kernel),
      options_(options) {
  const Size2 s = options.stride, d = options.dilation;
  const std::size_t groups = options.groups;
  if (in_ == 0 || out_ == 0 || kernel.h == 0 || kernel.w == 0 || s.h == 0 || s.w == 0 || d.h == 0 ||
      d.w == 0 || groups == 0) {
    throw std::invalid_argument(
        "Conv2D(" + std::to_string(in_) + " -> " + std::to_string(out_) + ", kernel " +
        size2_string(kernel) + ", stride " + size2_string(s) + ", dilation " + size2_string(d) +
        ", groups " + std::to_string(groups) +
        "): channels, kernel, stride, dilation and groups must be positive");
  }
  if (in_ % groups != 0 || out_ % groups != 0) {
    throw std::invalid_argument("Conv2D(" + std::to_string(in_) + " -> " + std::to_string(out_) +
                                ", groups " + std::to_string(groups) +
                                "): the groups must divide both channel counts");
  }
  W_ = BasicVar<T>(BasicTensor<T>::from_shape({out_, in_ / groups, kernel.h, kernel.w}),
                   requires_grad, "W");
  if (options.bias) b_ = BasicVar<T>(zeros<T>({out_}), requires_grad, "b");
  reset_parameters(weights, engine);
}

template <class T>
void BasicConv2D<T>::reset_parameters(const Initializer& weights, Engine& engine) {
  const std::size_t taps = kernel_.h * kernel_.w;
  weights.fill(W_.value(), in_ / options_.groups * taps, out_ * taps, engine);
  if (b_.defined()) b_.value().fill(T(0));
}

template <class T>
std::string BasicConv2D<T>::describe() const {
  return "Conv2D '" + this->name() + "' (" + std::to_string(in_) + " -> " + std::to_string(out_) +
         " channels, kernel " + size2_string(kernel_) +
         (options_.groups > 1 ? ", " + std::to_string(options_.groups) + " groups" : "") + ")";
}

template <class T>
BasicVar<T> BasicConv2D<T>::forward(const BasicVar<T>& x) {
  const Shape& s = x.shape();
  if (s.size() != 4 || s[1] != in_) {
    throw std::invalid_argument(
        describe() + ": input of shape " + shape_string(s) + " does not fit; expected [batch, " +
        std::to_string(in_) + ", height, width]" +
        (s.size() == 2 ? " (flat rows need an input shape such as 1x28x28)" : ""));
  }
  try {
    return conv2d(x, W_, b_, options_.stride, options_.padding, options_.dilation, options_.groups);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(describe() + ": " + e.what());
  }
}

template <class T>
std::vector<NamedParameter<T>> BasicConv2D<T>::named_parameters() const {
  if (!b_.defined()) return {{"W", W_}};
  return {{"W", W_}, {"b", b_}};
}

template <class T>
Shape BasicConv2D<T>::output_shape(const Shape& input) const {
  if (input.size() != 4) return input;
  const Conv2DOptions& o = options_;
  try {
    return {input[0], out_,
            window_output_extent("Conv2D", "height", input[2], kernel_.h, o.stride.h, o.padding.h,
                                 o.dilation.h),
            window_output_extent("Conv2D", "width", input[3], kernel_.w, o.stride.w, o.padding.w,
                                 o.dilation.w)};
  } catch (const std::invalid_argument&) {
    return input;
  }
}

template <class T>
void BasicConv2D<T>::save_config(Record& config) const {
  const auto pair = [](Size2 s) { return std::vector<std::uint64_t>{s.h, s.w}; };
  config.set("stride", pair(options_.stride));
  config.set("padding", pair(options_.padding));
  config.set("dilation", pair(options_.dilation));
  config.set("bias", std::int64_t{options_.bias});
  // Only when grouped: files of ungrouped layers stay as they were.
  if (options_.groups > 1) config.set("groups", static_cast<std::int64_t>(options_.groups));
}

template <class T>
std::unique_ptr<BasicConv2D<T>> BasicConv2D<T>::from_record(const LayerRecord& record) {
  const Shape& w = record.tensors.tensor("W").shape();
  if (w.size() != 4) {
    record.tensors.fail("W of shape " + shape_string(w) + " is not [out, in, kh, kw]");
  }
  Conv2DOptions options;
  options.stride = detail::read_size2(record.config, "stride");
  options.padding = detail::read_size2(record.config, "padding");
  options.dilation = detail::read_size2(record.config, "dilation");
  options.bias = record.config.flag("bias");
  if (record.config.has("groups")) options.groups = record.config.count("groups", w[0]);
  if (options.groups == 0 || w[0] % options.groups != 0) {
    record.config.fail("groups " + std::to_string(options.groups) + " do not divide the " +
                       std::to_string(w[0]) + " output channels of W");
  }
  Engine unused(0);
  return std::make_unique<BasicConv2D>(w[1] * options.groups, w[0], Size2{w[2], w[3]}, options,
                                       Initializer::zeros(), unused);
}

template class BasicConv2D<float>;
template class BasicConv2D<double>;

}  // namespace retrograd::nn
