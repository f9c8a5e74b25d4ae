#pragma once
/// @file activation.hpp
/// Activation functions, as an option of Dense and as layers of their own. Each is a
/// composition of ops: nothing here has a backward of its own. Every function is registered
/// by name: the built-ins in one list where activation_registry() is defined
/// (src/nn/activation.cpp; filled on first use, so a Dense made during static initialization
/// finds them), a user's with register_activation. Model files and the command line's
/// --activation know them only through the registry.

#include <memory>
#include <optional>
#include <string>

#include "retrograd/nn/layer_registry.hpp"
#include "retrograd/nn/module.hpp"
#include "retrograd/nn/registry.hpp"
#include "retrograd/ops.hpp"

namespace retrograd::nn {

/// A registered activation function.
struct ActivationFunction {
  /// The function on single-precision Vars; `parameter` is its parameter (or unused).
  BasicVar<float> (*apply_float)(const BasicVar<float>& x, double parameter) = nullptr;
  /// The same on double-precision Vars.
  BasicVar<double> (*apply_double)(const BasicVar<double>& x, double parameter) = nullptr;
  /// The form the fused linear op applies itself (Dense uses it), when it has one.
  std::optional<LinearActivation> fused;
  /// Its parameter's name ("negative_slope"), empty when it takes none.
  std::string parameter_name;
  /// The parameter's default, and its allowed range [min, max).
  double parameter_default = 0, parameter_min = 0, parameter_max = 0;
  /// A rectifier (relu family): He initialization suits the layers before it.
  bool rectifier = false;
};

/// The registry of activation functions.
Registry<ActivationFunction>& activation_registry();

/// Registers `function` under `name`; `Tag` is a type unique to it.
template <class Tag>
bool register_activation(const std::string& name, ActivationFunction function) {
  return activation_registry().add(name, typeid(Tag), std::move(function));
}

/// An activation function: a registered function and its parameter.
class Activation {
 public:
  /// The identity (Dense's default).
  static Activation linear() { return from_name("linear"); }
  /// 1 / (1 + e^-x).
  static Activation sigmoid() { return from_name("sigmoid"); }
  /// tanh(x).
  static Activation tanh() { return from_name("tanh"); }
  /// max(x, 0), relu'(0) = 0.
  static Activation relu() { return from_name("relu"); }
  /// x for x > 0, slope * x otherwise. Throws std::invalid_argument unless 0 <= slope < 1.
  static Activation leaky_relu(double negative_slope = 0.01) {
    return from_name("leaky_relu", negative_slope);
  }
  /// Softmax along the last axis (the class axis of a [n, classes] batch).
  static Activation softmax() { return from_name("softmax"); }
  /// The function registered as `name`, with `parameter` (its default when not given). Throws
  /// std::invalid_argument for an unknown name (listing the registered ones) or a parameter
  /// out of range.
  static Activation from_name(const std::string& name, std::optional<double> parameter = {});

  /// The registered name ("leaky_relu").
  const std::string& function_name() const { return name_; }
  /// The parameter (0 for functions without one).
  double parameter() const { return parameter_; }
  /// The slope for x < 0 of leaky_relu (0 for the others).
  double negative_slope() const { return function_->parameter_name.empty() ? 0 : parameter_; }
  /// "relu", "leaky_relu(0.01)", ...
  std::string name() const;
  /// The fused linear op's form, when it has one.
  const std::optional<LinearActivation>& fused() const { return function_->fused; }
  /// True for the relu family.
  bool rectifier() const { return function_->rectifier; }
  /// Writes the function's name and parameter into a config record.
  void save(Record& config) const;
  /// The activation a config record names (save()'s fields).
  static Activation load(const Record& config);

  /// Applies the function to `x`.
  template <class T>
  BasicVar<T> operator()(const BasicVar<T>& x) const;

  /// Same function and parameter.
  friend bool operator==(const Activation& a, const Activation& b) {
    return a.name_ == b.name_ && a.parameter_ == b.parameter_;
  }

 private:
  Activation(std::string name, const ActivationFunction* function, double parameter)
      : name_(std::move(name)), function_(function), parameter_(parameter) {}
  std::string name_;
  const ActivationFunction* function_;
  double parameter_;
};

/// Single precision: the registered function's float form.
template <>
BasicVar<float> Activation::operator()(const BasicVar<float>& x) const;
/// Double precision.
template <>
BasicVar<double> Activation::operator()(const BasicVar<double>& x) const;

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
  /// The function's name and parameter.
  void save_config(Record& config) const override { activation_.save(config); }
  /// The layer a saved record describes.
  static std::unique_ptr<BasicActivationLayer> from_record(const LayerRecord& record);

 private:
  Activation activation_;
};

/// Single-precision activation layer.
using ActivationLayer = BasicActivationLayer<float>;

extern template class BasicActivationLayer<float>;
extern template class BasicActivationLayer<double>;

RETROGRAD_REGISTER_LAYER_AS(ActivationLayer, "Activation");

}  // namespace retrograd::nn
