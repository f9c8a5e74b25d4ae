#include "retrograd/nn/flatten.hpp"

#include <stdexcept>

#include "retrograd/ops.hpp"

namespace retrograd::nn {

template <class T>
BasicVar<T> BasicFlatten<T>::forward(const BasicVar<T>& x) {
  const Shape& s = x.shape();
  if (s.empty()) {
    throw std::invalid_argument("Flatten '" + this->name() +
                                "': input of shape [] has no batch axis");
  }
  if (s.size() == 2) return x;
  return reshape(x, output_shape(s));
}

template <class T>
Shape BasicFlatten<T>::output_shape(const Shape& input) const {
  if (input.empty()) return input;
  std::size_t features = 1;
  for (std::size_t d = 1; d < input.size(); ++d) features *= input[d];
  return {input[0], features};
}

template class BasicFlatten<float>;
template class BasicFlatten<double>;

}  // namespace retrograd::nn
