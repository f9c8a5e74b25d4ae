#include "retrograd/nn/pooling.hpp"

#include <stdexcept>

#include "image_settings.hpp"

namespace retrograd::nn {

namespace {
std::vector<std::uint64_t> pair(Size2 s) { return {s.h, s.w}; }

std::string require_images(const std::string& layer, const Shape& s) {
  if (s.size() != 4) {
    throw std::invalid_argument(layer + ": input of shape " + shape_string(s) +
                                " does not fit; expected [batch, channels, height, width]");
  }
  return layer;
}
}  // namespace

template <class T>
BasicWindowPool<T>::BasicWindowPool(const char* name, const char* type, Size2 kernel,
                                    std::optional<Size2> stride, Size2 padding)
    : BasicModule<T>(name), kernel_(kernel), stride_(stride.value_or(kernel)), padding_(padding) {
  if (kernel_.h == 0 || kernel_.w == 0 || stride_.h == 0 || stride_.w == 0 ||
      padding_.h > kernel_.h / 2 || padding_.w > kernel_.w / 2) {
    throw std::invalid_argument(std::string(type) + "(kernel " + size2_string(kernel_) +
                                ", stride " + size2_string(stride_) + ", padding " +
                                size2_string(padding_) +
                                "): kernel and stride must be positive and padding at most half "
                                "the kernel");
  }
}

template <class T>
BasicVar<T> BasicWindowPool<T>::forward(const BasicVar<T>& x) {
  const std::string layer =
      this->type() + " '" + this->name() + "' (kernel " + size2_string(kernel_) + ")";
  require_images(layer, x.shape());
  try {
    return pool(x);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(layer + ": " + e.what());
  }
}

template <class T>
Shape BasicWindowPool<T>::output_shape(const Shape& input) const {
  if (input.size() != 4) return input;
  try {
    return {input[0], input[1],
            window_output_extent("pool", "height", input[2], kernel_.h, stride_.h, padding_.h),
            window_output_extent("pool", "width", input[3], kernel_.w, stride_.w, padding_.w)};
  } catch (const std::invalid_argument&) {
    return input;
  }
}

template <class T>
void BasicWindowPool<T>::save_config(Record& config) const {
  config.set("kernel", pair(kernel_));
  config.set("stride", pair(stride_));
  config.set("padding", pair(padding_));
}

template <class T>
typename BasicWindowPool<T>::Settings BasicWindowPool<T>::read_settings(const LayerRecord& record) {
  return {detail::read_size2(record.config, "kernel"), detail::read_size2(record.config, "stride"),
          detail::read_size2(record.config, "padding")};
}

template <class T>
BasicVar<T> BasicMaxPool2D<T>::pool(const BasicVar<T>& x) const {
  return max_pool2d(x, this->kernel(), this->stride(), this->padding());
}

template <class T>
std::unique_ptr<BasicMaxPool2D<T>> BasicMaxPool2D<T>::from_record(const LayerRecord& record) {
  const auto s = BasicWindowPool<T>::read_settings(record);
  return std::make_unique<BasicMaxPool2D>(s.kernel, s.stride, s.padding);
}

template <class T>
BasicVar<T> BasicAvgPool2D<T>::pool(const BasicVar<T>& x) const {
  return avg_pool2d(x, this->kernel(), this->stride(), this->padding());
}

template <class T>
std::unique_ptr<BasicAvgPool2D<T>> BasicAvgPool2D<T>::from_record(const LayerRecord& record) {
  const auto s = BasicWindowPool<T>::read_settings(record);
  return std::make_unique<BasicAvgPool2D>(s.kernel, s.stride, s.padding);
}

template <class T>
BasicVar<T> BasicGlobalAvgPool2D<T>::forward(const BasicVar<T>& x) {
  require_images("GlobalAvgPool2D '" + this->name() + "'", x.shape());
  return global_avg_pool2d(x);
}

template <class T>
Shape BasicGlobalAvgPool2D<T>::output_shape(const Shape& input) const {
  if (input.size() != 4) return input;
  return {input[0], input[1]};
}

template class BasicWindowPool<float>;
template class BasicWindowPool<double>;
template class BasicMaxPool2D<float>;
template class BasicMaxPool2D<double>;
template class BasicAvgPool2D<float>;
template class BasicAvgPool2D<double>;
template class BasicGlobalAvgPool2D<float>;
template class BasicGlobalAvgPool2D<double>;

}  // namespace retrograd::nn
