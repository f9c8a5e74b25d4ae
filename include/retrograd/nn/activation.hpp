#pragma once
/// @file activation.hpp
/// Activation functions, as an option of Dense and as layers of their own. Each is a
/// composition of ops: nothing here has a backward of its own.

#include <string>

#include "retrograd/nn/module.hpp"

namespace retrograd::nn {

/// An activation function.
class Activation {
 public:
  /// Which function.
  enum class Kind { linear, sigmoid, tanh, relu, leaky_relu, softmax };

  /// The identity (Dense's default).
  static Activation linear() { return Activation(Kind::linear); }
  /// 1 / (1 + e^-x).
  static Activation sigmoid() { return Activation(Kind::sigmoid); }
  /// tanh(x).
  static Activation tanh() { return Activation(Kind::tanh); }
  /// max(x, 0), relu'(0) = 0.
  static Activation relu() { return Activation(Kind::relu); }
  /// x for x > 0, slope * x otherwise. Throws std::invalid_argument unless 0 <= slope < 1.
  static Activation leaky_relu(double negative_slope = 0.01);
  /// Softmax along the last axis (the class axis of a [n, classes] batch).
  static Activation softmax() { return Activation(Kind::softmax); }

  /// Which function.
  Kind kind() const { return kind_; }
  /// The slope for x < 0 of leaky_relu (0 for the others).
  double negative_slope() const { return slope_; }
  /// "relu", "leaky_relu(0.01)", ...
  std::string name() const;

  /// Applies the function to `x`.
  template <class T>
  BasicVar<T> operator()(const BasicVar<T>& x) const;

 private:
  explicit Activation(Kind kind, double slope = 0) : kind_(kind), slope_(slope) {}
  Kind kind_;
  double slope_;
};

/// max(x, slope * x) for 0 <= slope < 1. At 0 the gradient is `slope` (Note [ties] of maximum).
template <class T>
BasicVar<T> leaky_relu(const BasicVar<T>& x, double negative_slope = 0.01);

/// An activation as a layer of its own, for Sequential: `model.add(ActivationLayer(...))`.
template <class T>
class BasicActivationLayer : public BasicModule<T> {
 public:
  /// A layer applying `activation`.
  explicit BasicActivationLayer(Activation activation);
  /// activation(x).
  BasicVar<T> forward(const BasicVar<T>& x) override { return activation_(x); }
  /// "Activation".
  std::string type() const override { return "Activation"; }
  /// The function applied.
  const Activation& activation() const { return activation_; }

 private:
  Activation activation_;
};

/// Single-precision activation layer.
using ActivationLayer = BasicActivationLayer<float>;

extern template class BasicActivationLayer<float>;
extern template class BasicActivationLayer<double>;

}  // namespace retrograd::nn
