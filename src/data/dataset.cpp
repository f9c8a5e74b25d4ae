#include "retrograd/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include "random.hpp"

namespace retrograd::data {

namespace {

/// Resizes `t` to [rows, cols] only when its shape differs (a reused buffer keeps its memory).
void ensure_shape(Tensor& t, std::size_t rows, std::size_t cols) {
  if (t.dimension() != 2 || t.shape()[0] != rows || t.shape()[1] != cols) t.resize({rows, cols});
}

/// Resizes `t` to [rows, sample...] only when its shape differs.
void ensure_shape(Tensor& t, std::size_t rows, const Shape& sample) {
  Shape shape(sample.size() + 1);
  shape[0] = rows;
  std::copy(sample.begin(), sample.end(), shape.begin() + 1);
  if (t.shape() != shape) t.resize(shape);
}

Shape tail_shape(const Shape& shape) {
  Shape tail;
  tail.resize(shape.size() > 1 ? shape.size() - 1 : 1);
  if (shape.size() <= 1) {
    tail[0] = 1;
  } else {
    std::copy(shape.begin() + 1, shape.end(), tail.begin());
  }
  return tail;
}

}  // namespace

Dataset::Dataset() : rng_(0) { init_features(Shape{0}, 0); }

void Dataset::init_features(const Shape& sample_shape, std::size_t n) {
  size_ = n;
  sample_shape_ = sample_shape;
  features_per_sample_ = shape_size(sample_shape);
  order_ = detail::iota(n);
  scaler_ = bytes_stored_ ? FeatureScaler::divide_by(features_per_sample_, 255.0f)
                          : FeatureScaler::identity(features_per_sample_);
  identity_scaler_ = !bytes_stored_;
  targets_ = Tensor::from_shape({0, 0});  // a default xarray is a 0-d scalar, not empty
}

void Dataset::init_labels(std::vector<Label> labels, std::size_t num_classes) {
  if (labels.size() != size_) {
    throw std::invalid_argument("Dataset: " + std::to_string(size_) + " samples but " +
                                std::to_string(labels.size()) + " labels");
  }
  const std::size_t implied = count_classes(labels);  // throws on a negative label
  if (num_classes != 0 && implied > num_classes) {
    const auto it = std::find_if(labels.begin(), labels.end(), [&](Label l) {
      return static_cast<std::size_t>(l) >= num_classes;
    });
    throw std::out_of_range("Dataset: label " + std::to_string(*it) + " at index " +
                            std::to_string(it - labels.begin()) + " is not below num_classes " +
                            std::to_string(num_classes));
  }
  has_labels_ = true;
  num_classes_ = num_classes ? num_classes : implied;
  labels_ = std::move(labels);
}

Dataset::Dataset(Tensor features) : rng_(0) {
  if (features.dimension() == 0) {
    throw std::invalid_argument("Dataset: features must have a sample axis, got shape " +
                                shape_string(features.shape()));
  }
  const std::size_t n = features.shape()[0];
  const Shape sample = tail_shape(features.shape());
  if (n > 0 && shape_size(sample) == 0) {
    throw std::invalid_argument("Dataset: features of shape " + shape_string(features.shape()) +
                                " give each of the " + std::to_string(n) + " samples no feature");
  }
  floats_ = std::move(features);
  init_features(sample, n);
  if (floats_.dimension() != 2 || floats_.shape()[1] != features_per_sample_) {
    floats_.reshape({n, features_per_sample_});
  }
}

Dataset::Dataset(Tensor features, std::vector<Label> labels, std::size_t num_classes)
    : Dataset(std::move(features)) {
  init_labels(std::move(labels), num_classes);
}

Dataset::Dataset(Tensor features, Tensor targets) : Dataset(std::move(features)) {
  if (targets.dimension() == 0 || targets.shape()[0] != size_) {
    throw std::invalid_argument("Dataset: " + std::to_string(size_) +
                                " samples but targets of shape " + shape_string(targets.shape()));
  }
  const std::size_t outputs = shape_size(tail_shape(targets.shape()));
  if (size_ > 0 && outputs == 0) {
    throw std::invalid_argument("Dataset: targets of shape " + shape_string(targets.shape()) +
                                " give each of the " + std::to_string(size_) +
                                " samples no target");
  }
  targets_ = std::move(targets);
  if (targets_.dimension() != 2) targets_.reshape({size_, outputs});
  has_targets_ = true;
}

Dataset Dataset::from_bytes(std::vector<std::uint8_t> bytes, const Shape& sample_shape,
                            std::vector<Label> labels, std::size_t num_classes) {
  const std::size_t per_sample = shape_size(sample_shape);
  if (per_sample == 0 || bytes.size() != labels.size() * per_sample) {
    throw std::invalid_argument("Dataset::from_bytes: " + std::to_string(bytes.size()) +
                                " bytes for " + std::to_string(labels.size()) +
                                " samples of shape " + shape_string(sample_shape));
  }
  Dataset d;
  d.bytes_stored_ = true;
  d.bytes_ = std::move(bytes);
  d.init_features(sample_shape, labels.size());
  d.init_labels(std::move(labels), num_classes);
  return d;
}

// ---- order ------------------------------------------------------------------------------------

void Dataset::shuffle(std::uint64_t seed) {
  rng_.seed(seed);
  order_ = detail::iota(size_);
  detail::shuffle(order_, rng_);
}

void Dataset::shuffle() { detail::shuffle(order_, rng_); }

void Dataset::reset_order() { order_ = detail::iota(size_); }

// ---- batches ----------------------------------------------------------------------------------

std::size_t Dataset::batch_count(std::size_t batch_size, bool drop_last) const {
  if (batch_size == 0) throw std::invalid_argument("Dataset: batch size must be positive");
  return drop_last ? size_ / batch_size : (size_ + batch_size - 1) / batch_size;
}

void Dataset::check_batch(std::size_t index, std::size_t batch_size, std::size_t& first,
                          std::size_t& rows) const {
  const std::size_t count = batch_count(batch_size);
  if (index >= count) {
    throw std::out_of_range("Dataset: batch index " + std::to_string(index) + " is past the " +
                            std::to_string(count) + " batch(es) of size " +
                            std::to_string(batch_size) + " in " + std::to_string(size_) +
                            " samples");
  }
  first = index * batch_size;
  rows = std::min(batch_size, size_ - first);
}

void Dataset::fill_rows(const std::size_t* indices, std::size_t rows, float* out) const {
  const std::size_t f = features_per_sample_;
  const float* off = scaler_.offset.data();
  const float* sc = scaler_.scale.data();
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t src = indices[r];
    float* dst = out + r * f;
    if (bytes_stored_) {
      const std::uint8_t* s = bytes_.data() + src * f;
      // Rows come in shuffled order, so the hardware prefetcher cannot guess the next one.
      if (r + 1 < rows) {
        const std::uint8_t* next = bytes_.data() + indices[r + 1] * f;
        for (std::size_t j = 0; j < f; j += 64) __builtin_prefetch(next + j);
      }
      for (std::size_t j = 0; j < f; ++j) dst[j] = (static_cast<float>(s[j]) - off[j]) * sc[j];
    } else if (identity_scaler_) {
      std::memcpy(dst, floats_.data() + src * f, f * sizeof(float));
    } else {
      const float* s = floats_.data() + src * f;
      for (std::size_t j = 0; j < f; ++j) dst[j] = (s[j] - off[j]) * sc[j];
    }
  }
}

void Dataset::prefetch(const std::size_t* indices, std::size_t count) const {
  const std::size_t f = features_per_sample_;
  const std::size_t row_bytes = f * (bytes_stored_ ? 1 : sizeof(float));
  const char* base = bytes_stored_ ? reinterpret_cast<const char*>(bytes_.data())
                                   : reinterpret_cast<const char*>(floats_.data());
  for (std::size_t r = 0; r < count; ++r) {
    if (indices[r] >= size_) continue;
    const char* row = base + indices[r] * row_bytes;
    for (std::size_t j = 0; j < row_bytes; j += 64) __builtin_prefetch(row + j);
    __builtin_prefetch(row + row_bytes - 1);
  }
}

void Dataset::gather(const std::size_t* indices, std::size_t count, Tensor& x) const {
  for (std::size_t r = 0; r < count; ++r) {
    if (indices[r] >= size_) {
      throw std::out_of_range("Dataset::gather: index " + std::to_string(indices[r]) +
                              " at position " + std::to_string(r) + " is past the end (" +
                              std::to_string(size_) + " samples)");
    }
  }
  ensure_shape(x, count, batch_sample_shape());
  fill_rows(indices, count, x.data());
}

void Dataset::fill_x(std::size_t first, std::size_t rows, Tensor& x) const {
  ensure_shape(x, rows, batch_sample_shape());
  fill_rows(order_.data() + first, rows, x.data());
}

void Dataset::fill_labels(std::size_t first, std::size_t rows, std::vector<Label>& labels) const {
  labels.resize(rows);
  for (std::size_t r = 0; r < rows; ++r) labels[r] = labels_[order_[first + r]];
}

void Dataset::fill_y(const std::size_t* indices, std::size_t rows, Tensor& y) const {
  if (has_labels_) {
    ensure_shape(y, rows, num_classes_);
    float* p = y.data();
    std::fill(p, p + rows * num_classes_, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) {
      p[r * num_classes_ + static_cast<std::size_t>(labels_[indices[r]])] = 1.0f;
    }
  } else if (has_targets_) {
    const std::size_t t = targets_.shape()[1];
    ensure_shape(y, rows, t);
    for (std::size_t r = 0; r < rows; ++r) {
      std::memcpy(y.data() + r * t, targets_.data() + indices[r] * t, t * sizeof(float));
    }
  } else {
    throw std::logic_error("Dataset: no labels or targets to fill y with");
  }
}

std::size_t Dataset::batch(std::size_t index, std::size_t batch_size, Tensor& x) const {
  std::size_t first, rows;
  check_batch(index, batch_size, first, rows);
  fill_x(first, rows, x);
  return rows;
}

std::size_t Dataset::batch(std::size_t index, std::size_t batch_size, Tensor& x,
                           std::vector<Label>& labels) const {
  if (!has_labels_) throw std::logic_error("Dataset: batch with labels asked of an unlabelled set");
  std::size_t first, rows;
  check_batch(index, batch_size, first, rows);
  fill_x(first, rows, x);
  fill_labels(first, rows, labels);
  return rows;
}

std::size_t Dataset::batch(std::size_t index, std::size_t batch_size, Tensor& x, Tensor& y) const {
  if (!has_labels_ && !has_targets_) {
    throw std::logic_error("Dataset: batch with y asked of a set without labels or targets");
  }
  std::size_t first, rows;
  check_batch(index, batch_size, first, rows);
  fill_x(first, rows, x);
  fill_y(order_.data() + first, rows, y);
  return rows;
}

void Dataset::gather(const std::size_t* indices, std::size_t count, Tensor& x, Tensor& y) const {
  if (!has_labels_ && !has_targets_) {
    throw std::logic_error("Dataset: gather with y asked of a set without labels or targets");
  }
  gather(indices, count, x);
  fill_y(indices, count, y);
}

std::size_t Dataset::batch(std::size_t index, std::size_t batch_size, Batch& out) const {
  std::size_t first, rows;
  check_batch(index, batch_size, first, rows);
  fill_x(first, rows, out.x);
  if (has_labels_) {
    fill_labels(first, rows, out.labels);
  } else {
    out.labels.clear();
  }
  if (has_labels_ || has_targets_) {
    fill_y(order_.data() + first, rows, out.y);
  } else if (out.y.size() != 0) {
    out.y = Tensor::from_shape({0, 0});
  }
  out.index = index;
  out.size = rows;
  return rows;
}

Tensor Dataset::features() const {
  Tensor x;
  ensure_shape(x, size_, batch_sample_shape());
  const std::vector<std::size_t> all = detail::iota(size_);
  fill_rows(all.data(), size_, x.data());
  return x;
}

void Dataset::set_batch_sample_shape(const Shape& shape) {
  if (!shape.empty() && shape_size(shape) != features_per_sample_) {
    std::string dims;
    for (std::size_t d = 0; d < shape.size(); ++d)
      dims += (d ? "x" : "") + std::to_string(shape[d]);
    throw std::invalid_argument(
        "Dataset: input shape " + dims + " (" + std::to_string(shape_size(shape)) +
        " values) does not match the row width " + std::to_string(features_per_sample_));
  }
  batch_sample_shape_ = shape;
}

Shape Dataset::batch_sample_shape() const {
  return batch_sample_shape_.empty() ? Shape{features_per_sample_} : batch_sample_shape_;
}

// ---- subsets and scaling ----------------------------------------------------------------------

Dataset Dataset::subset(const std::vector<std::size_t>& indices) const {
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= size_) {
      throw std::out_of_range("Dataset::subset: index " + std::to_string(indices[k]) +
                              " at position " + std::to_string(k) + " is not below size " +
                              std::to_string(size_));
    }
  }
  const std::size_t n = indices.size();
  const std::size_t f = features_per_sample_;
  Dataset d;
  d.bytes_stored_ = bytes_stored_;
  d.size_ = n;
  d.features_per_sample_ = f;
  d.sample_shape_ = sample_shape_;
  d.batch_sample_shape_ = batch_sample_shape_;
  if (bytes_stored_) {
    d.bytes_.resize(n * f);
    for (std::size_t k = 0; k < n; ++k) {
      std::memcpy(d.bytes_.data() + k * f, bytes_.data() + indices[k] * f, f);
    }
  } else {
    d.floats_.resize({n, f});
    for (std::size_t k = 0; k < n; ++k) {
      std::memcpy(d.floats_.data() + k * f, floats_.data() + indices[k] * f, f * sizeof(float));
    }
  }
  d.has_labels_ = has_labels_;
  d.num_classes_ = num_classes_;
  if (has_labels_) {
    d.labels_.resize(n);
    for (std::size_t k = 0; k < n; ++k) d.labels_[k] = labels_[indices[k]];
  }
  d.has_targets_ = has_targets_;
  if (has_targets_) {
    const std::size_t t = targets_.shape()[1];
    d.targets_.resize({n, t});
    for (std::size_t k = 0; k < n; ++k) {
      std::memcpy(d.targets_.data() + k * t, targets_.data() + indices[k] * t, t * sizeof(float));
    }
  }
  d.scaler_ = scaler_;
  d.identity_scaler_ = identity_scaler_;
  d.order_ = detail::iota(n);
  return d;
}

FeatureScaler Dataset::fit_scaler(Scaling kind) const {
  const std::size_t f = features_per_sample_;
  if (kind == Scaling::none) {
    return bytes_stored_ ? FeatureScaler::divide_by(f, 255.0f) : FeatureScaler::identity(f);
  }
  if (size_ == 0) throw std::invalid_argument("Dataset::fit_scaler: the dataset is empty");
  auto value = [&](std::size_t i, std::size_t j) -> double {
    return bytes_stored_ ? bytes_[i * f + j] : floats_.data()[i * f + j];
  };
  FeatureScaler s;
  s.offset.resize(f);
  s.scale.resize(f);
  if (kind == Scaling::min_max) {
    std::vector<double> lo(f, std::numeric_limits<double>::infinity());
    std::vector<double> hi(f, -std::numeric_limits<double>::infinity());
    for (std::size_t i = 0; i < size_; ++i) {
      for (std::size_t j = 0; j < f; ++j) {
        lo[j] = std::min(lo[j], value(i, j));
        hi[j] = std::max(hi[j], value(i, j));
      }
    }
    for (std::size_t j = 0; j < f; ++j) {
      s.offset[j] = static_cast<float>(lo[j]);
      s.scale[j] = hi[j] > lo[j] ? static_cast<float>(1.0 / (hi[j] - lo[j])) : 1.0f;
    }
  } else {
    std::vector<double> sum(f, 0.0), sum_sq(f, 0.0);
    for (std::size_t i = 0; i < size_; ++i) {
      for (std::size_t j = 0; j < f; ++j) sum[j] += value(i, j);
    }
    for (std::size_t j = 0; j < f; ++j) sum[j] /= static_cast<double>(size_);
    for (std::size_t i = 0; i < size_; ++i) {
      for (std::size_t j = 0; j < f; ++j) {
        const double d = value(i, j) - sum[j];
        sum_sq[j] += d * d;
      }
    }
    for (std::size_t j = 0; j < f; ++j) {
      const double sd = std::sqrt(sum_sq[j] / static_cast<double>(size_));  // population std
      s.offset[j] = static_cast<float>(sum[j]);
      s.scale[j] = sd > 0 ? static_cast<float>(1.0 / sd) : 1.0f;
    }
  }
  return s;
}

void Dataset::set_scaler(FeatureScaler scaler) {
  if (scaler.offset.size() != features_per_sample_ || scaler.scale.size() != features_per_sample_) {
    throw std::invalid_argument("Dataset::set_scaler: scaler for " +
                                std::to_string(scaler.offset.size()) + " offsets and " +
                                std::to_string(scaler.scale.size()) + " scales, dataset has " +
                                std::to_string(features_per_sample_) + " features");
  }
  bool identity = !bytes_stored_;
  for (std::size_t j = 0; j < features_per_sample_; ++j) {
    if (!std::isfinite(scaler.offset[j]) || !std::isfinite(scaler.scale[j])) {
      throw std::invalid_argument("Dataset::set_scaler: feature " + std::to_string(j) +
                                  " has a non-finite offset or scale");
    }
    identity = identity && scaler.offset[j] == 0.0f && scaler.scale[j] == 1.0f;
  }
  scaler_ = std::move(scaler);
  identity_scaler_ = identity;
}

}  // namespace retrograd::data
