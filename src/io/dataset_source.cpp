#include "retrograd/io/dataset_source.hpp"

#include <stdexcept>

namespace retrograd::io {

DatasetSource::DatasetSource(const data::Dataset& data, Targets targets)
    : data_(data), targets_(targets) {
  if (!data.has_labels() && !data.has_targets()) {
    throw std::invalid_argument(
        "DatasetSource: the dataset has neither labels nor targets to train or evaluate on");
  }
  if (targets == Targets::class_ids && !data.has_labels()) {
    throw std::invalid_argument(
        "DatasetSource: class ids asked of a dataset without labels (a regression set)");
  }
}

void DatasetSource::prefetch(const std::size_t* indices, std::size_t count) const {
  data_.prefetch(indices, count);
}

void DatasetSource::fill_batch(const std::size_t* indices, std::size_t count, Tensor& x,
                               Tensor& y) const {
  if (targets_ == Targets::rows) return data_.gather(indices, count, x, y);
  data_.gather(indices, count, x);  // checks the indices
  if (y.dimension() != 1 || y.shape()[0] != count) y = Tensor::from_shape({count});
  const std::vector<data::Label>& labels = data_.labels();
  for (std::size_t i = 0; i < count; ++i) y(i) = static_cast<float>(labels[indices[i]]);
}

}  // namespace retrograd::io
