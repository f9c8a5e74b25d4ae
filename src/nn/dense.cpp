#include "retrograd/nn/dense.hpp"

#include <optional>
#include <stdexcept>

#include "retrograd/anomaly.hpp"
#include "retrograd/ops.hpp"

namespace retrograd::nn {

template <class T>
BasicDense<T>::BasicDense(std::size_t in, std::size_t out, Activation activation,
                          Initializer weights, Engine& engine)
    : BasicModule<T>("dense"), in_(in), out_(out), activation_(activation) {
  if (in == 0 || out == 0) {
    throw std::invalid_argument("Dense(" + std::to_string(in) + ", " + std::to_string(out) +
                                "): input and output widths must be positive");
  }
  W_ = BasicVar<T>(BasicTensor<T>::from_shape({in, out}), requires_grad, "W");
  b_ = BasicVar<T>(zeros<T>({out}), requires_grad, "b");
  reset_parameters(weights, engine);
}

template <class T>
BasicDense<T>::BasicDense(std::size_t in, std::size_t out, Activation activation,
                          Initializer weights, std::uint64_t seed)
    // Zeros draw nothing from the engine; the seeded engine then fills W.
    : BasicDense(in, out, activation, Initializer::zeros(), default_engine()) {
  Engine engine(seed);
  reset_parameters(weights, engine);
}

template <class T>
BasicDense<T>::BasicDense(BasicVar<T> weight, BasicVar<T> bias, Activation activation)
    : BasicModule<T>("dense"), in_(0), out_(0), activation_(activation) {
  const Shape& ws = weight.shape();
  if (ws.size() != 2 || ws[0] == 0 || ws[1] == 0 || bias.shape() != Shape{ws[1]}) {
    throw std::invalid_argument("Dense: weight of shape " + shape_string(ws) +
                                " and bias of shape " + shape_string(bias.shape()) +
                                " do not make a layer; expected [in, out] and [out]");
  }
  in_ = ws[0];
  out_ = ws[1];
  W_ = std::move(weight);
  b_ = std::move(bias);
}

template <class T>
void BasicDense<T>::reset_parameters(const Initializer& weights, Engine& engine) {
  weights.fill(W_.value(), in_, out_, engine);
  b_.value().fill(T(0));
}

template <class T>
void BasicDense<T>::check_input(const Shape& s) const {
  if (s.size() != 2 || s[1] != in_) {
    throw std::invalid_argument("Dense '" + this->name() + "' (" + std::to_string(in_) + " -> " +
                                std::to_string(out_) + "): input of shape " + shape_string(s) +
                                " does not fit; expected [batch, " + std::to_string(in_) + "]");
  }
}

template <class T>
BasicVar<T> BasicDense<T>::pre_activation(const BasicVar<T>& x) const {
  check_input(x.shape());
  return linear(x, W_, b_);
}

template <class T>
BasicVar<T> BasicDense<T>::forward(const BasicVar<T>& x) {
  // Activations the linear node applies itself; the others follow it as a node of their own.
  if (const auto& fused = activation_.fused()) {
    check_input(x.shape());
    return linear(x, W_, b_, *fused);
  }
  return activation_(pre_activation(x));
}

template <class T>
BasicTensor<T> BasicDense<T>::infer_tensor(const BasicTensor<T>& x) const {
  check_input(x.shape());
  // Under a DetectAnomalyGuard the graph path checks each node's value.
  if (anomaly_detection_enabled()) return BasicModule<T>::infer_tensor(x);
  const auto& fused = activation_.fused();
  BasicTensor<T> y =
      linear_value(x, W_.value(), b_.value(), fused.value_or(LinearActivation::none));
  if (fused) return y;
  InferenceGuard inference;
  return activation_(BasicVar<T>(std::move(y))).value();
}

template <class T>
std::vector<NamedParameter<T>> BasicDense<T>::named_parameters() const {
  return {{"W", W_}, {"b", b_}};
}

template <class T>
Shape BasicDense<T>::output_shape(const Shape& input) const {
  Shape out = input;
  if (!out.empty()) out.back() = out_;
  return out;
}

template <class T>
BasicVar<T> BasicDense<T>::penalty() const {
  if (!regularizer_.active()) return {};
  return weight_penalty<T>({W_}, regularizer_.l1, regularizer_.l2);
}

template <class T>
BasicDense<T>& BasicDense<T>::set_regularizer(Regularizer regularizer) {
  if (!(regularizer.l1 >= 0) || !(regularizer.l2 >= 0)) {
    throw std::invalid_argument(
        "Dense '" + this->name() + "': regularizer coefficients must be >= 0 (got l1 " +
        std::to_string(regularizer.l1) + ", l2 " + std::to_string(regularizer.l2) + ")");
  }
  regularizer_ = regularizer;
  return *this;
}

template <class T>
void BasicDense<T>::save_config(Record& config) const {
  activation_.save(config);
  config.set("l1", regularizer_.l1);
  config.set("l2", regularizer_.l2);
}

template <class T>
std::unique_ptr<BasicDense<T>> BasicDense<T>::from_record(const LayerRecord& record) {
  const Shape& w = record.tensors.tensor("W").shape();
  if (w.size() != 2) {
    record.tensors.fail("W of shape " + shape_string(w) + " is not a matrix [in, out]");
  }
  auto dense = std::make_unique<BasicDense>(w[0], w[1], Activation::load(record.config),
                                            Initializer::zeros(), std::uint64_t{0});
  Regularizer reg;
  reg.l1 = record.config.number("l1");
  reg.l2 = record.config.number("l2");
  if (reg.active()) dense->set_regularizer(reg);
  return dense;
}

template class BasicDense<float>;
template class BasicDense<double>;

}  // namespace retrograd::nn
