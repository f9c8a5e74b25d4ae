#pragma once
/// @file module.hpp
/// `BasicModule`: what every layer and model has in common. Parameters are ordinary leaf Vars;
/// a module's forward is a composition of ops, so backward needs nothing from the module.
///
/// Threads (docs/design.md): a module trains on one thread at a time. Inference — infer(),
/// Sequential::predict and evaluate — is const and may run on one module from many threads at
/// once, because a forward pass in evaluation mode must not change the module: layers keep
/// what training updates (running statistics, random engines) out of their evaluation path.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "retrograd/engine.hpp"
#include "retrograd/nn/record.hpp"
#include "retrograd/var.hpp"

namespace retrograd::nn {

/// A parameter and its name: "W" inside a Dense, "dense_0.W" inside a Sequential.
template <class T>
struct NamedParameter {
  /// "W", or "dense_0.W" inside a Sequential.
  std::string name;
  /// The parameter (a handle: the module's own node).
  BasicVar<T> var;
};

/// A tensor a module keeps between calls that no optimizer trains (BatchNorm's running
/// statistics): saved with the parameters, counted as non-trainable.
template <class T>
struct NamedBuffer {
  /// "running_mean", or "batch_norm_1.running_mean" inside a Sequential.
  std::string name;
  /// The module's tensor, written in place when loading.
  BasicTensor<T>* tensor;
};

/// A random engine a module draws from while training (Dropout's masks), named like a
/// parameter so that a checkpoint can save and restore its state.
struct NamedEngine {
  /// "engine", or "dropout_1.engine" inside a Sequential.
  std::string name;
  /// The module's engine.
  std::mt19937_64* engine;
};

/// While one lives, every module on this thread runs in evaluation mode (training() is false)
/// and no graph is recorded: what infer(), predict() and evaluate() use so that inference
/// never flips a module's own train/eval flag, which other threads may be reading.
class InferenceGuard {
 public:
  InferenceGuard();
  ~InferenceGuard();
  InferenceGuard(const InferenceGuard&) = delete;
  InferenceGuard& operator=(const InferenceGuard&) = delete;

 private:
  bool previous_;
  NoGradGuard no_grad_;
};

/// True while an InferenceGuard lives on this thread.
bool inference_mode();

/// Base of layers and models.
template <class T>
class BasicModule {
 public:
  virtual ~BasicModule() = default;

  /// Output for a batch `x` (rows are samples). Records a graph unless under NoGradGuard.
  virtual BasicVar<T> forward(const BasicVar<T>& x) = 0;
  /// Same as forward(x).
  BasicVar<T> operator()(const BasicVar<T>& x) { return forward(x); }
  /// forward(x) in evaluation mode without a graph, on a const module: safe to call from many
  /// threads at once (see the file comment).
  BasicVar<T> infer(const BasicVar<T>& x) const;
  /// The value of infer(x) for a tensor `x`, equal to it bit for bit and as safe to call from
  /// many threads. The default runs infer() on a Var over a copy of `x`; a layer whose
  /// evaluation-mode output is a plain computation on tensors overrides it to skip the graph
  /// machinery (Dense). Sequential::predict goes through it.
  virtual BasicTensor<T> infer_tensor(const BasicTensor<T>& x) const;

  /// The kind of layer, as summary() shows it: "Dense", "Dropout", ...
  virtual std::string type() const = 0;
  /// This instance's name, used in parameter names and error messages ("dense_0").
  const std::string& name() const { return name_; }
  /// Renames the module.
  void set_name(std::string name) { name_ = std::move(name); }
  /// True until set_name() changes the name the constructor gave.
  bool has_default_name() const { return name_ == default_name_; }

  /// Trainable parameters with their names, in a fixed order. The default lists the
  /// children's, each prefixed with "<child name>."; a layer with parameters of its own
  /// overrides it (and appends children_parameters() if it also has children).
  virtual std::vector<NamedParameter<T>> named_parameters() const { return children_parameters(); }
  /// Non-trainable state with names (pointers into this module; valid while it lives). The
  /// default lists the children's, prefixed as above.
  virtual std::vector<NamedBuffer<T>> named_buffers() { return children_buffers(); }
  /// Random engines the module draws from in training, with names (pointers into this module).
  /// The default lists the children's, prefixed as above.
  virtual std::vector<NamedEngine> named_engines() { return children_engines(); }
  /// Modules this one is made of (Sequential's layers). Their parameters, buffers and engines
  /// appear in this module's lists prefixed with "<child name>."; model files save each child
  /// as a record of its own. Must not change the module (const lists call it).
  virtual std::vector<BasicModule*> children() { return {}; }
  /// The children's parameters, each named "<child name>.<its name>".
  std::vector<NamedParameter<T>> children_parameters() const;
  /// The children's buffers, each named "<child name>.<its name>".
  std::vector<NamedBuffer<T>> children_buffers();
  /// The children's engines, each named "<child name>.<its name>".
  std::vector<NamedEngine> children_engines();

  /// Writes the settings that rebuild this module through its registered factory
  /// (nn/layer_registry.hpp): widths, activation, rates... — not its parameters and buffers,
  /// which model files store by name.
  virtual void save_config(Record& /*config*/) const {}
  /// Layout version of save_config()'s record, saved beside it: bump it when the layout
  /// changes, and let the factory read every older version.
  virtual std::int64_t config_version() const { return 1; }
  /// The trainable parameters (the Vars named_parameters() names).
  std::vector<BasicVar<T>> parameters() const;
  /// Number of trainable scalars.
  std::size_t parameter_count() const;
  /// Number of scalars in the buffers.
  std::size_t buffer_count();
  /// Zeroes the gradient of every parameter.
  void zero_grad();

  /// Training mode (the default) or evaluation mode: Dropout drops and BatchNorm uses batch
  /// statistics only in training mode.
  virtual void train(bool on = true) { training_ = on; }
  /// Same as train(false).
  void eval() { train(false); }
  /// True in training mode and outside any InferenceGuard of this thread.
  bool training() const { return training_ && !inference_mode(); }

  /// Shape of the output for an input of shape `input` (summary() uses it; no computation).
  virtual Shape output_shape(const Shape& input) const { return input; }
  /// Number of input features the module requires, or 0 when any width fits.
  virtual std::size_t input_features() const { return 0; }
  /// This module's regularization penalty (a scalar added to the loss), or an empty Var when
  /// it has none.
  virtual BasicVar<T> penalty() const { return {}; }

 protected:
  /// `name` is the module's default name ("dense").
  explicit BasicModule(std::string name) : name_(name), default_name_(std::move(name)) {}

 private:
  std::string name_;
  std::string default_name_;
  bool training_ = true;
};

/// Single-precision module: training.
using Module = BasicModule<float>;

extern template class BasicModule<float>;
extern template class BasicModule<double>;

}  // namespace retrograd::nn
