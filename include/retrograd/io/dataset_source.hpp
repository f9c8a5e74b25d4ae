#pragma once
/// @file dataset_source.hpp
/// A data::Dataset as the nn::BatchSource that fit() and evaluate() read: samples are converted
/// (bytes scaled to floats) one batch at a time, never the whole set at once.

#include "retrograd/data/dataset.hpp"
#include "retrograd/nn/batch_source.hpp"

namespace retrograd::io {

/// What a DatasetSource writes into y.
enum class Targets {
  /// One-hot rows [count, classes] for a labelled set, the targets for a regression set.
  rows,
  /// The class ids [count] of a labelled set: what a loss with sparse traits takes.
  class_ids
};

/// Adapts a labelled or regression Dataset (held by reference: it must outlive the source).
class DatasetSource : public nn::BatchSource {
 public:
  /// Throws std::invalid_argument for a dataset with neither labels nor targets, or for
  /// class ids asked of a set without labels.
  explicit DatasetSource(const data::Dataset& data, Targets targets = Targets::rows);
  /// A temporary would dangle: keep the dataset in a variable.
  explicit DatasetSource(data::Dataset&& data, Targets targets = Targets::rows) = delete;
  /// The dataset's number of samples.
  std::size_t size() const override { return data_.size(); }
  /// Dataset::gather() of the samples with these storage indices, or their features and
  /// class ids.
  /// Dataset::prefetch of these samples.
  void prefetch(const std::size_t* indices, std::size_t count) const override;
  void fill_batch(const std::size_t* indices, std::size_t count, Tensor& x,
                  Tensor& y) const override;

 private:
  const data::Dataset& data_;
  Targets targets_;
};

}  // namespace retrograd::io
