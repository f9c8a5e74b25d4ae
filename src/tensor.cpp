#include "retrograd/tensor.hpp"

#include <sstream>

namespace retrograd {

std::string shape_string(const Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::size_t shape_size(const Shape& shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

template <class T>
std::string values_string(const BasicTensor<T>& t, std::size_t max_elements) {
  if (t.size() > max_elements) return shape_string(t.shape()) + " tensor";
  std::ostringstream out;
  out.precision(6);
  if (t.dimension() == 0) {
    out << t();
    return out.str();
  }
  out << '[';
  for (std::size_t i = 0; i < t.size(); ++i) out << (i ? ", " : "") << t.data()[i];
  out << ']';
  return out.str();
}

template std::string values_string(const Tensor&, std::size_t);
template std::string values_string(const TensorD&, std::size_t);

}  // namespace retrograd
