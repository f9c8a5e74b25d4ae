#include "retrograd/nn/feature_scaling.hpp"

#include <cmath>
#include <stdexcept>

#include "retrograd/ops.hpp"

namespace retrograd::nn {

template <class T>
BasicFeatureScaling<T>::BasicFeatureScaling(std::vector<T> offset, std::vector<T> scale)
    : BasicModule<T>("feature_scaling") {
  if (offset.empty() || offset.size() != scale.size()) {
    throw std::invalid_argument("FeatureScaling: " + std::to_string(offset.size()) +
                                " offsets and " + std::to_string(scale.size()) +
                                " scales; expected as many of each, at least one");
  }
  for (std::size_t j = 0; j < offset.size(); ++j) {
    if (!std::isfinite(offset[j]) || !std::isfinite(scale[j])) {
      throw std::invalid_argument("FeatureScaling: feature " + std::to_string(j) +
                                  " has a non-finite offset or scale");
    }
  }
  offset_ = BasicTensor<T>::from_shape({offset.size()});
  scale_ = BasicTensor<T>::from_shape({scale.size()});
  std::copy(offset.begin(), offset.end(), offset_.begin());
  std::copy(scale.begin(), scale.end(), scale_.begin());
}

template <class T>
void BasicFeatureScaling<T>::check_input(const Shape& s) const {
  const std::size_t features = offset_.size();
  std::size_t values = 1;
  for (std::size_t k = 1; k < s.size(); ++k) values *= s[k];
  if (s.size() < 2 || s[0] == 0 || values != features) {
    throw std::invalid_argument(
        "FeatureScaling '" + this->name() + "' (" + std::to_string(features) +
        " features): input of shape " + shape_string(s) + " does not fit; expected [batch, " +
        std::to_string(features) + "] or samples of " + std::to_string(features) + " values");
  }
}

template <class T>
BasicTensor<T> BasicFeatureScaling<T>::scaled(const BasicTensor<T>& x) const {
  // One pass, rounding after the subtraction and after the product as the two ops of forward()
  // do: the same values bit for bit. A sample's values, images too, are in offset's order.
  BasicTensor<T> y = BasicTensor<T>::from_shape(x.shape());
  const std::size_t features = offset_.size();
  const std::size_t rows = x.shape()[0];
  const T* in = x.data();
  T* out = y.data();
  const T* offset = offset_.data();
  const T* scale = scale_.data();
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < features; ++j) {
      out[i * features + j] = (in[i * features + j] - offset[j]) * scale[j];
    }
  }
  return y;
}

template <class T>
BasicVar<T> BasicFeatureScaling<T>::forward(const BasicVar<T>& x) {
  const Shape& s = x.shape();
  check_input(s);
  // The usual input, a batch of data, needs no gradient: the scaled batch is a constant, made
  // without graph nodes or broadcasting (once per training step; docs/performance.md).
  if (!x.requires_grad()) return BasicVar<T>(scaled(x.value()));
  // Constants: the buffers take no gradient. Images ([n, c, h, w]) see them in the shape of
  // one sample.
  BasicTensor<T> offset = offset_, scale = scale_;
  if (s.size() > 2) {
    const Shape sample(s.begin() + 1, s.end());
    offset.reshape(sample);
    scale.reshape(sample);
  }
  return (x - BasicVar<T>(std::move(offset))) * BasicVar<T>(std::move(scale));
}

template <class T>
BasicTensor<T> BasicFeatureScaling<T>::infer_tensor(const BasicTensor<T>& x) const {
  check_input(x.shape());
  return scaled(x);
}

template <class T>
std::vector<NamedBuffer<T>> BasicFeatureScaling<T>::named_buffers() {
  return {{"offset", &offset_}, {"scale", &scale_}};
}

template <class T>
std::unique_ptr<BasicFeatureScaling<T>> BasicFeatureScaling<T>::from_record(
    const LayerRecord& record) {
  const Shape& s = record.tensors.tensor("offset").shape();
  if (s.size() != 1 || s[0] == 0) {
    record.tensors.fail("offset of shape " + shape_string(s) + " is not a non-empty vector");
  }
  return std::make_unique<BasicFeatureScaling>(std::vector<T>(s[0], T(0)),
                                               std::vector<T>(s[0], T(1)));
}

template class BasicFeatureScaling<float>;
template class BasicFeatureScaling<double>;

}  // namespace retrograd::nn
