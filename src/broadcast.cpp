#include "retrograd/broadcast.hpp"

#include <stdexcept>

#include "xtensor_math.hpp"

namespace retrograd {

Shape broadcast_shape(const std::string& op, const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out = Shape(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    // Align trailing axes; a missing leading axis acts as size 1.
    const std::size_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::size_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw std::invalid_argument(op + ": shapes " + shape_string(a) + " and " + shape_string(b) +
                                  " do not broadcast (axis " + std::to_string(i) + ": " +
                                  std::to_string(da) + " vs " + std::to_string(db) + ")");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

template <class T>
BasicTensor<T> sum_to(BasicTensor<T> grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const Shape& from = grad.shape();
  if (from.size() < shape.size() || broadcast_shape("sum_to", from, shape) != from) {
    throw std::invalid_argument("sum_to: gradient of shape " + shape_string(from) +
                                " cannot be reduced to shape " + shape_string(shape));
  }
  const std::size_t lead = from.size() - shape.size();
  std::vector<std::size_t> axes;
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (i < lead || (shape[i - lead] == 1 && from[i] != 1)) axes.push_back(i);
  }
  BasicTensor<T> reduced = xt::sum(grad, axes, xt::evaluation_strategy::immediate);
  reduced.reshape(shape);
  return reduced;
}

template Tensor sum_to(Tensor, const Shape&);
template TensorD sum_to(TensorD, const Shape&);

}  // namespace retrograd
