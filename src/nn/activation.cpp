#include "retrograd/nn/activation.hpp"

#include <sstream>
#include <stdexcept>

#include "retrograd/ops.hpp"

namespace retrograd::nn {

Activation Activation::leaky_relu(double negative_slope) {
  // max(x, a x) is leaky relu only for 0 <= a < 1.
  if (!(negative_slope >= 0 && negative_slope < 1)) {
    throw std::invalid_argument("Activation::leaky_relu: negative slope must be in [0, 1) (got " +
                                std::to_string(negative_slope) + ")");
  }
  return Activation(Kind::leaky_relu, negative_slope);
}

std::string Activation::name() const {
  switch (kind_) {
    case Kind::linear:
      return "linear";
    case Kind::sigmoid:
      return "sigmoid";
    case Kind::tanh:
      return "tanh";
    case Kind::relu:
      return "relu";
    case Kind::leaky_relu: {
      std::ostringstream out;
      out << "leaky_relu(" << slope_ << ")";
      return out.str();
    }
    case Kind::softmax:
      return "softmax";
  }
  return "?";
}

template <class T>
BasicVar<T> leaky_relu(const BasicVar<T>& x, double negative_slope) {
  return maximum(x, x * static_cast<T>(negative_slope));
}

template <class T>
BasicVar<T> Activation::operator()(const BasicVar<T>& x) const {
  switch (kind_) {
    case Kind::linear:
      return x;
    case Kind::sigmoid:
      return retrograd::sigmoid(x);
    case Kind::tanh:
      return retrograd::tanh(x);
    case Kind::relu:
      return retrograd::relu(x);
    case Kind::leaky_relu:
      return nn::leaky_relu(x, slope_);
    case Kind::softmax:
      return retrograd::softmax(x, -1);
  }
  return x;
}

template <class T>
BasicActivationLayer<T>::BasicActivationLayer(Activation activation)
    : BasicModule<T>("activation"), activation_(activation) {}

template BasicVar<float> leaky_relu(const BasicVar<float>&, double);
template BasicVar<double> leaky_relu(const BasicVar<double>&, double);
template BasicVar<float> Activation::operator()(const BasicVar<float>&) const;
template BasicVar<double> Activation::operator()(const BasicVar<double>&) const;
template class BasicActivationLayer<float>;
template class BasicActivationLayer<double>;

}  // namespace retrograd::nn
