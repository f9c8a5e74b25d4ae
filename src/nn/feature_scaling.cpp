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
BasicVar<T> BasicFeatureScaling<T>::forward(const BasicVar<T>& x) {
  const Shape& s = x.shape();
  const std::size_t features = offset_.size();
  if (s.size() < 2 || s[0] == 0 || x.size() / s[0] != features) {
    throw std::invalid_argument("FeatureScaling '" + this->name() + "' (" +
                                std::to_string(features) + " features): input of shape " +
                                shape_string(s) + " does not fit; expected [batch, " +
                                std::to_string(features) + "] or samples of " +
                                std::to_string(features) + " values");
  }
  // Constants: the buffers take no gradient, and the input normally needs none either. Images
  // ([n, c, h, w]) see them in the shape of one sample.
  BasicTensor<T> offset = offset_, scale = scale_;
  if (s.size() > 2) {
    const Shape sample(s.begin() + 1, s.end());
    offset.reshape(sample);
    scale.reshape(sample);
  }
  return (x - BasicVar<T>(std::move(offset))) * BasicVar<T>(std::move(scale));
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
