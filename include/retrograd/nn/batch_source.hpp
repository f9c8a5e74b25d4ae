#pragma once
/// @file batch_source.hpp
/// Where fit() and evaluate() get batches: anything that writes the samples at given indices
/// into caller-owned tensors. fit() shuffles an index, never the data, and reuses its batch
/// tensors, so a source may keep its data in any form (bytes, a file) and convert per batch.

#include <cstddef>

#include "retrograd/tensor.hpp"

namespace retrograd::nn {

/// A set of (x, y) samples addressable by index.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  /// Number of samples.
  virtual std::size_t size() const = 0;
  /// Writes samples indices[0..count) into `x` ([count, ...features]) and `y` ([count, ...]
  /// targets), resizing them only when their shapes differ.
  virtual void fill_batch(const std::size_t* indices, std::size_t count, Tensor& x,
                          Tensor& y) const = 0;
  /// A hint that the samples at `indices` are the next to be filled: a source that holds them
  /// in memory may start loading them into the cache while the current batch trains. Indices
  /// past the end are ignored. Does nothing by default.
  virtual void prefetch(const std::size_t* /*indices*/, std::size_t /*count*/) const {}
};

/// A BatchSource over two tensors held by reference (they must outlive it): sample i is row i
/// of `x` and of `y`.
class TensorBatchSource : public BatchSource {
 public:
  /// Throws std::invalid_argument when x or y is 0-d or their numbers of rows differ.
  TensorBatchSource(const Tensor& x, const Tensor& y);
  /// A temporary would dangle: keep the tensors in variables.
  TensorBatchSource(Tensor&& x, const Tensor& y) = delete;
  /// A temporary would dangle: keep the tensors in variables.
  TensorBatchSource(const Tensor& x, Tensor&& y) = delete;
  /// A temporary would dangle: keep the tensors in variables.
  TensorBatchSource(Tensor&& x, Tensor&& y) = delete;
  /// Rows of x.
  std::size_t size() const override;
  /// Copies the chosen rows.
  void fill_batch(const std::size_t* indices, std::size_t count, Tensor& x,
                  Tensor& y) const override;

 private:
  const Tensor& x_;
  const Tensor& y_;
};

/// Copies rows indices[0..count) of `from` into `to` ([count, ...rest of from's shape]),
/// resizing `to` only when its shape differs.
void gather_rows(const Tensor& from, const std::size_t* indices, std::size_t count, Tensor& to);

}  // namespace retrograd::nn
