#include "retrograd/data/scaling.hpp"

namespace retrograd::data {

FeatureScaler FeatureScaler::identity(std::size_t features) { return divide_by(features, 1.0f); }

FeatureScaler FeatureScaler::divide_by(std::size_t features, float divisor) {
  FeatureScaler s;
  s.offset.assign(features, 0.0f);
  s.scale.assign(features, 1.0f / divisor);
  return s;
}

}  // namespace retrograd::data
