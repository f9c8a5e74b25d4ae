#include "retrograd/nn/batch_source.hpp"

#include <algorithm>
#include <stdexcept>

namespace retrograd::nn {

TensorBatchSource::TensorBatchSource(const Tensor& x, const Tensor& y) : x_(x), y_(y) {
  if (x.dimension() == 0 || y.dimension() == 0 || x.shape()[0] != y.shape()[0]) {
    throw std::invalid_argument("TensorBatchSource: x of shape " + shape_string(x.shape()) +
                                " and y of shape " + shape_string(y.shape()) +
                                " must both have one row per sample, the same number of rows");
  }
}

std::size_t TensorBatchSource::size() const { return x_.shape()[0]; }

void TensorBatchSource::fill_batch(const std::size_t* indices, std::size_t count, Tensor& x,
                                   Tensor& y) const {
  gather_rows(x_, indices, count, x);
  gather_rows(y_, indices, count, y);
}

void gather_rows(const Tensor& from, const std::size_t* indices, std::size_t count, Tensor& to) {
  const std::size_t rows = from.shape()[0];
  const std::size_t width = rows == 0 ? 0 : from.size() / rows;
  Shape shape = from.shape();
  shape[0] = count;
  if (to.shape() != shape) to.resize(shape);
  for (std::size_t i = 0; i < count; ++i) {
    if (indices[i] >= rows) {
      throw std::out_of_range("gather_rows: index " + std::to_string(indices[i]) +
                              " is past the last of " + std::to_string(rows) + " rows");
    }
    std::copy_n(from.data() + indices[i] * width, width, to.data() + i * width);
  }
}

}  // namespace retrograd::nn
