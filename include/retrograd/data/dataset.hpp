#pragma once
/// @file dataset.hpp
/// Dataset: samples with class labels or regression targets, a seeded sample order, and batches
/// written into caller-owned tensors. Stored data are never copied per epoch: shuffling permutes
/// an index vector, and scaling happens while a batch is filled.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <random>
#include <vector>

#include "retrograd/data/labels.hpp"
#include "retrograd/data/scaling.hpp"
#include "retrograd/tensor.hpp"

namespace retrograd::data {

/// One mini-batch. Reused from batch to batch: its tensors are reallocated only when the number
/// of rows changes (the last, partial batch of an epoch).
struct Batch {
  /// Features, [size, feature_count] (or [size, ...] in the dataset's batch_sample_shape()),
  /// scaled by the dataset's FeatureScaler.
  Tensor x;
  /// Targets: one-hot rows [size, num_classes] for a labelled set, the regression targets
  /// [size, target_count] for a regression set, shape [0, 0] for a set with neither.
  Tensor y;
  /// Class ids of the rows (labelled sets only; empty otherwise).
  std::vector<Label> labels;
  /// Position of this batch in the epoch.
  std::size_t index = 0;
  /// Number of rows.
  std::size_t size = 0;
};

class BatchRange;

/// A set of samples, each with a fixed number of features, stored either as bytes (images:
/// scaled to [0, 1] when batched, a quarter of the memory of floats) or as floats, with class
/// labels, regression targets, or neither.
///
/// The dataset keeps an order: a permutation of its samples that shuffle() changes and that
/// batches follow. Batch `i` of size `b` holds the samples at positions [i*b, min(n, (i+1)*b)) of
/// that order, so an epoch of batch(0..batch_count(b)-1) visits every sample exactly once.
class Dataset {
 public:
  /// An empty dataset (no samples, no features).
  Dataset();
  /// A labelled dataset: `features` is [n, ...] (each sample is flattened to one row; a 1-D
  /// tensor is n samples of one feature), `labels` holds n class ids. `num_classes` 0 means
  /// largest label + 1. Throws std::invalid_argument on a count mismatch or for samples without
  /// a feature (shape [n, 0]), std::out_of_range for a negative label or one not below a given
  /// `num_classes`.
  Dataset(Tensor features, std::vector<Label> labels, std::size_t num_classes = 0);
  /// A regression dataset: `targets` is [n] (one output) or [n, outputs]. Throws
  /// std::invalid_argument on a sample count mismatch, or for samples without a feature or
  /// without a target.
  Dataset(Tensor features, Tensor targets);
  /// A dataset of features only (for predict()). Throws std::invalid_argument for samples
  /// without a feature (shape [n, 0]).
  explicit Dataset(Tensor features);
  /// A labelled dataset stored as bytes: `bytes` holds n samples of shape `sample_shape`
  /// (e.g. {28, 28}) one after the other; batches divide them by 255 unless another scaler is
  /// set. Throws as the tensor constructor does, and if `bytes.size()` is not n times the
  /// sample size.
  static Dataset from_bytes(std::vector<std::uint8_t> bytes, const Shape& sample_shape,
                            std::vector<Label> labels, std::size_t num_classes = 0);

  /// Number of samples.
  std::size_t size() const { return size_; }
  /// True when there are no samples.
  bool empty() const { return size_ == 0; }
  /// Number of features per sample (the width of a batch's `x`).
  std::size_t feature_count() const { return features_per_sample_; }
  /// Shape of one sample as given at construction ({28, 28} for MNIST images).
  const Shape& sample_shape() const { return sample_shape_; }
  /// True when the features are stored as bytes.
  bool stores_bytes() const { return bytes_stored_; }
  /// Makes batches (and features()) hold each sample in `shape`, {1, 28, 28} giving x of shape
  /// [count, 1, 28, 28] for a convolutional model, instead of one row; {} restores rows. The
  /// values and their order are the same. Throws std::invalid_argument when `shape` does not
  /// hold feature_count() values.
  void set_batch_sample_shape(const Shape& shape);
  /// The shape of one sample in a batch: what set_batch_sample_shape gave, or
  /// {feature_count()}. Subsets keep it.
  Shape batch_sample_shape() const;

  /// True for a labelled (classification) dataset.
  bool has_labels() const { return has_labels_; }
  /// Number of classes (0 unless has_labels()).
  std::size_t num_classes() const { return num_classes_; }
  /// Class ids of all samples in storage order (not the shuffled order).
  const std::vector<Label>& labels() const { return labels_; }

  /// True for a regression dataset.
  bool has_targets() const { return has_targets_; }
  /// Number of regression outputs per sample (0 unless has_targets()).
  std::size_t target_count() const { return has_targets_ ? targets_.shape()[1] : 0; }
  /// Regression targets of all samples, [n, target_count()], in storage order ([0, 0] for a
  /// set without targets).
  const Tensor& targets() const { return targets_; }

  /// All features as one [n, feature_count()] float tensor in storage order, scaled. This
  /// allocates the whole set; training should use batch() instead.
  Tensor features() const;

  /// Reorders the samples by a permutation that depends only on `seed` (not on earlier calls),
  /// and seeds this dataset's own std::mt19937_64 for later shuffle() calls.
  void shuffle(std::uint64_t seed);
  /// Reshuffles the current order with this dataset's engine: the next epoch's order. The
  /// sequence of orders is fixed by the last shuffle(seed) (or by seed 0 if none was given).
  void shuffle();
  /// Restores storage order.
  void reset_order();
  /// The current order: `order()[k]` is the storage index of the sample at position k.
  const std::vector<std::size_t>& order() const { return order_; }

  /// Number of batches of `batch_size` in an epoch: ceil(n / batch_size), or floor with
  /// `drop_last`. Throws std::invalid_argument if `batch_size` is 0.
  std::size_t batch_count(std::size_t batch_size, bool drop_last = false) const;

  /// Fills `x` ([count, features], resized only when its shape differs) with the scaled features
  /// of the samples at `indices`, in that order: batching by an index permutation owned by the
  /// caller (a training loop's shuffle). Throws std::out_of_range for an index past the end.
  void gather(const std::size_t* indices, std::size_t count, Tensor& x) const;
  /// Starts loading the stored features of the samples at `indices` into the CPU cache, for a
  /// gather soon after (rows of a shuffled epoch are scattered over the whole set, and each one
  /// read from memory stalls the copy). Indices past the end are ignored.
  void prefetch(const std::size_t* indices, std::size_t count) const;

  /// Writes the features of batch `index` into `x` ([rows, feature_count()]) and returns
  /// rows, which is `batch_size` except for a last partial batch. `x` is resized only when its
  /// shape differs. Throws std::out_of_range for an index past the last batch.
  std::size_t batch(std::size_t index, std::size_t batch_size, Tensor& x) const;
  /// As batch(index, batch_size, x), and writes the class ids of the rows into `labels`.
  /// Throws std::logic_error if the dataset has no labels.
  std::size_t batch(std::size_t index, std::size_t batch_size, Tensor& x,
                    std::vector<Label>& labels) const;
  /// As batch(index, batch_size, x), and writes `y`: one-hot rows [rows, num_classes()] for a
  /// labelled set, targets [rows, target_count()] for a regression set. Throws
  /// std::logic_error if the dataset has neither.
  std::size_t batch(std::size_t index, std::size_t batch_size, Tensor& x, Tensor& y) const;
  /// Writes the samples with storage indices indices[0..count) into `x` ([count,
  /// feature_count()], scaled) and `y` (as batch() does), whatever the current order: what a
  /// training loop that shuffles its own index needs. `x` and `y` are resized only when their
  /// shapes differ. Throws std::logic_error if the dataset has neither labels nor targets and
  /// std::out_of_range for an index not below size().
  void gather(const std::size_t* indices, std::size_t count, Tensor& x, Tensor& y) const;
  /// Fills every field of `out` for batch `index` (y and labels as available).
  std::size_t batch(std::size_t index, std::size_t batch_size, Batch& out) const;

  /// The batches of one epoch in the current order, for a range-for loop:
  /// `for (const Batch& b : data.batches(64)) ...`. The range owns one Batch that every step
  /// overwrites. The dataset must outlive the range and must not be reshuffled during the loop.
  BatchRange batches(std::size_t batch_size, bool drop_last = false) const;

  /// A new dataset holding copies of the samples with these storage indices, in this order,
  /// with the same scaler, number of classes and storage type. Throws std::out_of_range for an
  /// index not below size().
  Dataset subset(const std::vector<std::size_t>& indices) const;

  /// Computes a scaler from this dataset's stored values (ignoring the current scaler):
  /// Scaling::none gives the default (identity for floats, divide by 255 for bytes).
  FeatureScaler fit_scaler(Scaling kind) const;
  /// Uses `scaler` for every later batch and features(). Throws std::invalid_argument if its
  /// size is not feature_count() or a scale is not finite.
  void set_scaler(FeatureScaler scaler);
  /// The scaler batches use.
  const FeatureScaler& scaler() const { return scaler_; }

 private:
  void init_features(const Shape& shape, std::size_t n);
  void init_labels(std::vector<Label> labels, std::size_t num_classes);
  void check_batch(std::size_t index, std::size_t batch_size, std::size_t& first,
                   std::size_t& rows) const;
  void fill_rows(const std::size_t* indices, std::size_t rows, float* out) const;
  void fill_x(std::size_t first, std::size_t rows, Tensor& x) const;
  void fill_labels(std::size_t first, std::size_t rows, std::vector<Label>& labels) const;
  void fill_y(const std::size_t* indices, std::size_t rows, Tensor& y) const;

  std::size_t size_ = 0;
  std::size_t features_per_sample_ = 0;
  Shape sample_shape_;
  Shape batch_sample_shape_;  // empty: rows
  bool bytes_stored_ = false;
  std::vector<std::uint8_t> bytes_;
  Tensor floats_;  // [n, features] when !bytes_stored_
  bool has_labels_ = false;
  std::size_t num_classes_ = 0;
  std::vector<Label> labels_;
  bool has_targets_ = false;
  Tensor targets_;  // [n, outputs]
  FeatureScaler scaler_;
  bool identity_scaler_ = true;
  std::vector<std::size_t> order_;
  std::mt19937_64 rng_;
};

/// One epoch of batches over a Dataset; see Dataset::batches().
class BatchRange {
 public:
  /// Input iterator over the batches; dereferences to the range's reused Batch.
  class iterator {
   public:
    /// Iterator category for standard algorithms.
    using iterator_category = std::input_iterator_tag;
    /// The element type.
    using value_type = Batch;
    /// Difference type.
    using difference_type = std::ptrdiff_t;
    /// Pointer type.
    using pointer = const Batch*;
    /// Reference type.
    using reference = const Batch&;

    /// The batch at the current position (filled on first access).
    const Batch& operator*() const { return range_->load(index_); }
    /// Member access to the current batch.
    const Batch* operator->() const { return &range_->load(index_); }
    /// Moves to the next batch.
    iterator& operator++() {
      ++index_;
      return *this;
    }
    /// True when both iterators are at the same batch.
    bool operator==(const iterator& other) const { return index_ == other.index_; }
    /// True when the iterators are at different batches.
    bool operator!=(const iterator& other) const { return index_ != other.index_; }

   private:
    friend class BatchRange;
    iterator(BatchRange* range, std::size_t index) : range_(range), index_(index) {}
    BatchRange* range_;
    std::size_t index_;
  };

  /// The range over `data`'s batches of `batch_size` (see Dataset::batches()).
  BatchRange(const Dataset& data, std::size_t batch_size, bool drop_last)
      : data_(&data), batch_size_(batch_size), count_(data.batch_count(batch_size, drop_last)) {}
  /// First batch.
  iterator begin() { return iterator(this, 0); }
  /// Past the last batch.
  iterator end() { return iterator(this, count_); }
  /// Number of batches in the epoch.
  std::size_t size() const { return count_; }

 private:
  const Batch& load(std::size_t index) {
    if (!loaded_ || batch_.index != index) {
      data_->batch(index, batch_size_, batch_);
      loaded_ = true;
    }
    return batch_;
  }
  const Dataset* data_;
  std::size_t batch_size_;
  std::size_t count_;
  bool loaded_ = false;
  Batch batch_;
};

inline BatchRange Dataset::batches(std::size_t batch_size, bool drop_last) const {
  return BatchRange(*this, batch_size, drop_last);
}

}  // namespace retrograd::data
