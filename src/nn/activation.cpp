#include "retrograd/nn/activation.hpp"

#include <sstream>
#include <stdexcept>

namespace retrograd::nn {

// The functions; activation_registry() below registers them. `p` is the parameter (unused by
// most).

struct Linear {
  template <class T>
  static BasicVar<T> apply(const BasicVar<T>& x, double) {
    return x;
  }
};
struct Sigmoid {
  template <class T>
  static BasicVar<T> apply(const BasicVar<T>& x, double) {
    return retrograd::sigmoid(x);
  }
};
struct Tanh {
  template <class T>
  static BasicVar<T> apply(const BasicVar<T>& x, double) {
    return retrograd::tanh(x);
  }
};
struct Relu {
  template <class T>
  static BasicVar<T> apply(const BasicVar<T>& x, double) {
    return retrograd::relu(x);
  }
};
struct LeakyRelu {
  template <class T>
  static BasicVar<T> apply(const BasicVar<T>& x, double p) {
    return nn::leaky_relu(x, p);
  }
};
struct Softmax {
  template <class T>
  static BasicVar<T> apply(const BasicVar<T>& x, double) {
    return retrograd::softmax(x, -1);
  }
};

namespace {
template <class F>
ActivationFunction function_of(std::optional<LinearActivation> fused, bool rectifier = false) {
  ActivationFunction f;
  f.apply_float = &F::template apply<float>;
  f.apply_double = &F::template apply<double>;
  f.fused = fused;
  f.rectifier = rectifier;
  return f;
}

ActivationFunction leaky_relu_function() {
  ActivationFunction f = function_of<LeakyRelu>(std::nullopt, true);
  // max(x, a x) is leaky relu only for 0 <= a < 1.
  f.parameter_name = "negative_slope";
  f.parameter_default = 0.01;
  f.parameter_min = 0;
  f.parameter_max = 1;
  return f;
}

}  // namespace

Registry<ActivationFunction>& activation_registry() {
  // Filled on first use, so that an Activation made during static initialization (a global
  // Dense) already finds the built-ins. Never destroyed: layers may outlive static destructors.
  static Registry<ActivationFunction>* registry = [] {
    auto* r = new Registry<ActivationFunction>("activation");
    r->add("linear", typeid(Linear), function_of<Linear>(LinearActivation::none));
    r->add("sigmoid", typeid(Sigmoid), function_of<Sigmoid>(LinearActivation::sigmoid));
    r->add("tanh", typeid(Tanh), function_of<Tanh>(LinearActivation::tanh));
    r->add("relu", typeid(Relu), function_of<Relu>(LinearActivation::relu, true));
    r->add("leaky_relu", typeid(LeakyRelu), leaky_relu_function());
    r->add("softmax", typeid(Softmax), function_of<Softmax>(std::nullopt));
    return r;
  }();
  return *registry;
}

Activation Activation::from_name(const std::string& name, std::optional<double> parameter) {
  const ActivationFunction& f = activation_registry().get(name);
  if (f.parameter_name.empty()) {
    if (parameter && *parameter != 0) {
      throw std::invalid_argument("Activation " + name + " takes no parameter (got " +
                                  std::to_string(*parameter) + ")");
    }
    return Activation(name, &f, 0);
  }
  const double p = parameter.value_or(f.parameter_default);
  if (!(p >= f.parameter_min && p < f.parameter_max)) {
    std::ostringstream out;
    out << "Activation " << name << ": " << f.parameter_name << " must be in [" << f.parameter_min
        << ", " << f.parameter_max << ") (got " << p << ")";
    throw std::invalid_argument(out.str());
  }
  return Activation(name, &f, p);
}

std::string Activation::name() const {
  if (function_->parameter_name.empty()) return name_;
  std::ostringstream out;
  out << name_ << "(" << parameter_ << ")";
  return out.str();
}

void Activation::save(Record& config) const {
  config.set("activation", name_);
  config.set("activation_parameter", parameter_);
}

Activation Activation::load(const Record& config) {
  return from_name(config.text("activation"), config.number("activation_parameter"));
}

template <class T>
BasicVar<T> leaky_relu(const BasicVar<T>& x, double negative_slope) {
  return maximum(x, x * static_cast<T>(negative_slope));
}

template <>
BasicVar<float> Activation::operator()(const BasicVar<float>& x) const {
  return function_->apply_float(x, parameter_);
}
template <>
BasicVar<double> Activation::operator()(const BasicVar<double>& x) const {
  return function_->apply_double(x, parameter_);
}

template <class T>
BasicActivationLayer<T>::BasicActivationLayer(Activation activation)
    : BasicModule<T>("activation"), activation_(activation) {}

template <class T>
std::unique_ptr<BasicActivationLayer<T>> BasicActivationLayer<T>::from_record(
    const LayerRecord& record) {
  return std::make_unique<BasicActivationLayer>(Activation::load(record.config));
}

template BasicVar<float> leaky_relu(const BasicVar<float>&, double);
template BasicVar<double> leaky_relu(const BasicVar<double>&, double);
template class BasicActivationLayer<float>;
template class BasicActivationLayer<double>;

}  // namespace retrograd::nn
