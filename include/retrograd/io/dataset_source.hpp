#pragma once
/// @file dataset_source.hpp
/// A data::Dataset as the nn::BatchSource that fit() and evaluate() read: samples are converted
/// (bytes scaled to floats) one batch at a time, never the whole set at once.

#include "retrograd/data/dataset.hpp"
#include "retrograd/nn/batch_source.hpp"

namespace retrograd::io {

/// Adapts a labelled or regression Dataset (held by reference: it must outlive the source).
/// y is one-hot rows for a labelled set, the targets for a regression set.
class DatasetSource : public nn::BatchSource {
 public:
  /// Throws std::invalid_argument for a dataset with neither labels nor targets.
  explicit DatasetSource(const data::Dataset& data);
  /// A temporary would dangle: keep the dataset in a variable.
  explicit DatasetSource(data::Dataset&& data) = delete;
  /// The dataset's number of samples.
  std::size_t size() const override { return data_.size(); }
  /// Dataset::gather() of the samples with these storage indices.
  void fill_batch(const std::size_t* indices, std::size_t count, Tensor& x,
                  Tensor& y) const override {
    data_.gather(indices, count, x, y);
  }

 private:
  const data::Dataset& data_;
};

}  // namespace retrograd::io
