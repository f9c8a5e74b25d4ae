#include "retrograd/io/dataset_source.hpp"

#include <stdexcept>

namespace retrograd::io {

DatasetSource::DatasetSource(const data::Dataset& data) : data_(data) {
  if (!data.has_labels() && !data.has_targets()) {
    throw std::invalid_argument(
        "DatasetSource: the dataset has neither labels nor targets to train or evaluate on");
  }
}

}  // namespace retrograd::io
