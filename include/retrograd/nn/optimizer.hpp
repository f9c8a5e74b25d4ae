#pragma once
/// @file optimizer.hpp
/// Optimizers. They read each parameter's value() and grad() and write the next value and
/// state into a second set of buffers, which a step then swaps in (a step whose result is not
/// finite can so be refused with nothing changed), outside any graph. The state is allocated by
/// attach() and the second set by the first step: later steps allocate nothing.
/// The formulas follow PyTorch's (torch.optim); each class states its own.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "retrograd/nn/record.hpp"
#include "retrograd/nn/registry.hpp"
#include "retrograd/var.hpp"

namespace retrograd::nn {

/// A named optimizer state tensor ("velocity.0" is parameter 0's velocity), for saving.
template <class T>
struct NamedState {
  /// "<kind>.<parameter index>".
  std::string name;
  /// The optimizer's tensor, written in place when loading.
  BasicTensor<T>* tensor;
};

/// What schedules and callbacks change on any optimizer, whatever its element type.
class OptimizerBase {
 public:
  virtual ~OptimizerBase() = default;
  /// "SGD", "Adam", ...
  const std::string& name() const { return name_; }
  /// The current learning rate.
  double learning_rate() const { return lr_; }
  /// Sets the learning rate. Throws std::invalid_argument naming the optimizer unless `lr` is
  /// positive and finite.
  void set_learning_rate(double lr);
  /// Steps taken since attach().
  std::size_t iterations() const { return iterations_; }
  /// Sets the step count (Adam's bias correction depends on it): resuming from a saved state.
  void set_iterations(std::size_t iterations) { iterations_ = iterations; }
  /// Clips gradients by their global norm before every step: when the norm of all gradients
  /// together exceeds `max_norm`, every gradient is scaled by max_norm / norm. 0 turns it off.
  /// Throws std::invalid_argument for a negative or non-finite value.
  void set_clip_norm(double max_norm);
  /// The clipping threshold (0: off).
  double clip_norm() const { return clip_norm_; }

  /// Writes the hyperparameters besides the learning rate (what the registered factory reads).
  virtual void save_config(Record& /*config*/) const {}

 protected:
  /// Checks and stores the learning rate; `name` names the optimizer in messages.
  OptimizerBase(std::string name, double lr);
  /// Throws std::invalid_argument "<name>: <what> must be ... (got v)" unless lo <= v < hi.
  void require_in(const char* what, double v, double lo, double hi) const;

  /// "SGD", ...
  std::string name_;
  /// Learning rate.
  double lr_ = 0;
  /// Steps taken.
  std::size_t iterations_ = 0;
  /// Global-norm threshold (0: off).
  double clip_norm_ = 0;
};

/// An optimizer over parameters of element type T.
template <class T>
class BasicOptimizer : public OptimizerBase {
 public:
  /// Sets the parameters to update and (re)allocates the state for them; resets iterations.
  void attach(std::vector<BasicVar<T>> params);
  /// The parameters attached.
  const std::vector<BasicVar<T>>& parameters() const { return params_; }
  /// One update of every parameter that has a gradient (others are skipped). Throws
  /// std::logic_error when nothing is attached.
  void step();
  /// step(), unless it would leave a NaN or an infinity in a parameter: then nothing changes
  /// (values, state, iterations) and the index of the first such parameter (in parameters())
  /// is returned, its refused value in rejected_value().
  std::optional<std::size_t> step_if_finite();
  /// The value step_if_finite() refused for parameter `i` (valid until the next step; after a
  /// refused step_slices() only the elements of its slices are current).
  const BasicTensor<T>& rejected_value(std::size_t i) const { return next_params_.at(i); }
  /// The same, writable: a data-parallel group fills in the other processes' slices.
  BasicTensor<T>& rejected_value(std::size_t i) { return next_params_.at(i); }

  /// Elements [first, first + count) of parameter `index`, and their gradient (count values).
  struct Slice {
    std::size_t index;
    std::size_t first;
    std::size_t count;
    const T* gradient;
  };
  /// Decides whether a computed step is taken: given the index of the first parameter whose
  /// slices hold a NaN or an infinity here, if any, returns the one that refuses the step
  /// (a data-parallel group agrees on it across processes).
  using SliceVerdict = std::function<std::optional<std::size_t>(std::optional<std::size_t>)>;
  /// One step that updates only the given slices, from their gradients times `scale` (the
  /// caller clips): each element it touches, of the weights and of the state, ends as step()
  /// would leave it, and the other elements keep their values. Like step_if_finite(), it
  /// computes into the second buffers and commits only when `verdict` (default: this
  /// process's finding) returns no parameter; otherwise nothing changes and that index is
  /// returned. A data-parallel group splits the update this way (distributed::DataParallel).
  /// Throws std::out_of_range for a slice outside its parameter.
  std::optional<std::size_t> step_slices(const std::vector<Slice>& slices, T scale,
                                         const SliceVerdict& verdict = {});
  /// Zeroes every attached parameter's gradient.
  void zero_grad();
  /// The state tensors, named "<kind>.<parameter index>" (empty for plain SGD).
  std::vector<NamedState<T>> state();

 protected:
  using OptimizerBase::OptimizerBase;
  /// Names of the state tensors kept per parameter ("velocity").
  virtual std::vector<std::string> state_names() const { return {}; }
  /// Most state slots an optimizer keeps per parameter.
  static constexpr std::size_t max_state_slots = 4;
  /// Updates `n` consecutive elements of one parameter: from its values `w`, their gradient `g`
  /// times `scale` (gradient clipping) and the same elements of its state slots
  /// `s[0..state_names().size())`, writes the next values into `w_next` and the next state into
  /// `s_next` (never aliasing the inputs). Elementwise, so a step may be split in slices; the
  /// optimizer makes the outputs current (Note [double-buffered steps]).
  virtual void update(const T* w, const T* g, std::size_t n, T scale, const T* const* s, T* w_next,
                      T* const* s_next) = 0;
  /// Value the state starts from (Adagrad's initial accumulator).
  virtual T initial_state() const { return T(0); }

 private:
  /// Computes every update into the next buffers; the index of the first parameter whose next
  /// value is not finite, if any.
  std::optional<std::size_t> compute_next();
  /// Makes the next buffers current.
  void commit();
  /// Allocates the next buffers (once).
  void allocate_next();
  /// Updates elements [first, first + count) of parameter `index` into the next buffers;
  /// whether they are all finite.
  bool update_elements(std::size_t index, std::size_t first, std::size_t count, const T* gradient,
                       T scale);

  std::vector<BasicVar<T>> params_;
  /// state_[i][k]: state k of parameter i.
  std::vector<std::vector<BasicTensor<T>>> state_;
  /// What update() writes, made current by commit() (allocated by the first step).
  std::vector<BasicTensor<T>> next_params_;
  std::vector<std::vector<BasicTensor<T>>> next_state_;
};

/// SGD: g' = g + wd w; v = momentum v + g'; w -= lr (nesterov ? g' + momentum v : v).
/// With momentum 0: w -= lr g'.
template <class T>
class BasicSGD : public BasicOptimizer<T> {
 public:
  /// Throws std::invalid_argument for lr <= 0 or NaN, momentum outside [0, 1), negative
  /// weight decay, or nesterov without momentum.
  explicit BasicSGD(double lr, double momentum = 0, bool nesterov = false, double weight_decay = 0);
  /// Momentum factor (0: plain SGD).
  double momentum() const { return momentum_; }
  /// True for Nesterov momentum.
  bool nesterov() const { return nesterov_; }
  /// L2 coefficient added to the gradient.
  double weight_decay() const { return weight_decay_; }

  /// The hyperparameters.
  void save_config(Record& config) const override;
  /// An optimizer with learning rate `lr` and the hyperparameters of `config`.
  static std::unique_ptr<BasicSGD> from_config(double lr, const Record& config);

 protected:
  std::vector<std::string> state_names() const override;
  void update(const T* w, const T* g, std::size_t n, T scale, const T* const* s, T* w_next,
              T* const* s_next) override;

 private:
  double momentum_;
  bool nesterov_;
  double weight_decay_;
};

/// Adagrad: g' = g + wd w; s += g'^2; w -= lr g' / (sqrt(s) + eps).
template <class T>
class BasicAdagrad : public BasicOptimizer<T> {
 public:
  /// Throws std::invalid_argument for bad values.
  explicit BasicAdagrad(double lr = 0.01, double eps = 1e-10, double initial_accumulator = 0,
                        double weight_decay = 0);
  /// Term added to the root of the accumulator.
  double eps() const { return eps_; }
  /// Value the accumulator starts from.
  double initial_accumulator() const { return initial_; }
  /// L2 coefficient added to the gradient.
  double weight_decay() const { return weight_decay_; }

  /// The hyperparameters.
  void save_config(Record& config) const override;
  /// An optimizer with learning rate `lr` and the hyperparameters of `config`.
  static std::unique_ptr<BasicAdagrad> from_config(double lr, const Record& config);

 protected:
  std::vector<std::string> state_names() const override { return {"sum_squares"}; }
  void update(const T* w, const T* g, std::size_t n, T scale, const T* const* s, T* w_next,
              T* const* s_next) override;
  T initial_state() const override { return static_cast<T>(initial_); }

 private:
  double eps_;
  double initial_;
  double weight_decay_;
};

/// RMSProp: g' = g + wd w; s = rho s + (1 - rho) g'^2; u = g' / (sqrt(s) + eps);
/// with momentum: b = momentum b + u, w -= lr b; without: w -= lr u.
template <class T>
class BasicRMSProp : public BasicOptimizer<T> {
 public:
  /// Throws std::invalid_argument for bad values.
  explicit BasicRMSProp(double lr = 0.001, double rho = 0.9, double eps = 1e-8, double momentum = 0,
                        double weight_decay = 0);
  /// Decay of the squared-gradient average.
  double rho() const { return rho_; }
  /// Term added to the root of the average.
  double eps() const { return eps_; }
  /// Momentum factor (0: none).
  double momentum() const { return momentum_; }
  /// L2 coefficient added to the gradient.
  double weight_decay() const { return weight_decay_; }

  /// The hyperparameters.
  void save_config(Record& config) const override;
  /// An optimizer with learning rate `lr` and the hyperparameters of `config`.
  static std::unique_ptr<BasicRMSProp> from_config(double lr, const Record& config);

 protected:
  std::vector<std::string> state_names() const override;
  void update(const T* w, const T* g, std::size_t n, T scale, const T* const* s, T* w_next,
              T* const* s_next) override;

 private:
  double rho_;
  double eps_;
  double momentum_;
  double weight_decay_;
};

/// Adam: g' = g + wd w (L2, coupled); m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2;
/// w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). AdamW decouples the decay.
template <class T>
class BasicAdam : public BasicOptimizer<T> {
 public:
  /// Throws std::invalid_argument for bad values.
  explicit BasicAdam(double lr = 0.001, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                     double weight_decay = 0);
  /// Decay of the first moment.
  double beta1() const { return beta1_; }
  /// Decay of the second moment.
  double beta2() const { return beta2_; }
  /// Term added to the root of the second moment.
  double eps() const { return eps_; }
  /// Weight decay coefficient (through the gradient for Adam, decoupled for AdamW).
  double weight_decay() const { return weight_decay_; }

  /// The hyperparameters.
  void save_config(Record& config) const override;
  /// An optimizer with learning rate `lr` and the hyperparameters of `config`.
  static std::unique_ptr<BasicAdam> from_config(double lr, const Record& config);

 protected:
  std::vector<std::string> state_names() const override { return {"m", "v"}; }
  void update(const T* w, const T* g, std::size_t n, T scale, const T* const* s, T* w_next,
              T* const* s_next) override;
  /// AdamW's constructor: `decoupled` applies the decay as w -= lr wd w, not through g.
  BasicAdam(std::string name, bool decoupled, double lr, double beta1, double beta2, double eps,
            double weight_decay);

 private:
  double beta1_;
  double beta2_;
  double eps_;
  double weight_decay_;
  bool decoupled_;
};

/// AdamW: w -= lr wd w, then the Adam step on the plain gradient (Loshchilov and Hutter).
template <class T>
class BasicAdamW : public BasicAdam<T> {
 public:
  /// Throws std::invalid_argument for bad values.
  explicit BasicAdamW(double lr = 0.001, double beta1 = 0.9, double beta2 = 0.999,
                      double eps = 1e-8, double weight_decay = 0.01);
  /// An optimizer with learning rate `lr` and the hyperparameters of `config`.
  static std::unique_ptr<BasicAdamW> from_config(double lr, const Record& config);
};

/// The norm of all gradients of `params` together, sqrt(sum of squares); parameters without a
/// gradient count as zero.
template <class T>
double global_grad_norm(const std::vector<BasicVar<T>>& params);

/// Single-precision optimizer base.
using Optimizer = BasicOptimizer<float>;
/// Single-precision SGD.
using SGD = BasicSGD<float>;
/// Single-precision Adagrad.
using Adagrad = BasicAdagrad<float>;
/// Single-precision RMSProp.
using RMSProp = BasicRMSProp<float>;
/// Single-precision Adam.
using Adam = BasicAdam<float>;
/// Single-precision AdamW.
using AdamW = BasicAdamW<float>;

extern template class BasicOptimizer<float>;
extern template class BasicOptimizer<double>;
extern template class BasicSGD<float>;
extern template class BasicSGD<double>;
extern template class BasicAdagrad<float>;
extern template class BasicAdagrad<double>;
extern template class BasicRMSProp<float>;
extern template class BasicRMSProp<double>;
extern template class BasicAdam<float>;
extern template class BasicAdam<double>;
extern template class BasicAdamW<float>;
extern template class BasicAdamW<double>;

/// Builds an optimizer from its learning rate and save_config()'s record.
using OptimizerFactory = std::function<std::unique_ptr<Optimizer>(double lr, const Record& config)>;
/// The registry of optimizers, by name() ("SGD", "Adam").
Registry<OptimizerFactory>& optimizer_registry();

/// Records `name`'s default settings, what optimizer_defaults() returns (register_optimizer
/// calls it).
void register_optimizer_defaults(const std::string& name, std::function<Record()> defaults);
/// The settings of the optimizer registered as `name` and their defaults: the save_config() of
/// one made from a learning rate alone, so that a user may give only the settings to change
/// (`adamw:weight_decay=0.01`). Throws std::invalid_argument for an unregistered name, listing
/// the registered ones.
Record optimizer_defaults(const std::string& name);

/// Registers `Opt` under `name`; `Opt::from_config(lr, config)` builds it, and `Opt(lr)` gives
/// its defaults.
template <class Opt>
bool register_optimizer(const std::string& name) {
  register_optimizer_defaults(name, [] {
    Record config;
    Opt(0.001).save_config(config);
    return config;
  });
  return optimizer_registry().add(name, typeid(Opt), [](double lr, const Record& config) {
    return std::unique_ptr<Optimizer>(Opt::from_config(lr, config));
  });
}

/// The optimizer as a record: name, learning rate, clip norm, step count, hyperparameters and
/// state tensors. Throws std::invalid_argument when its class is not registered under name().
Record optimizer_record(Optimizer& optimizer);
/// A new, unattached optimizer of the kind and settings `record` holds (its state is restored
/// by restore_optimizer_state() once attached).
std::unique_ptr<Optimizer> build_optimizer(const Record& record);
/// Puts the step count, learning rate and state tensors of `record` into an attached optimizer.
/// Throws RecordError when names or shapes differ.
void restore_optimizer_state(Optimizer& optimizer, const Record& record);

}  // namespace retrograd::nn

/// Registers an optimizer class (a qualified name is fine) under `name`, which its name() must
/// return. Write it at namespace scope beside the class.
#define RETROGRAD_REGISTER_OPTIMIZER(Opt, name)                    \
  [[maybe_unused]] static const bool RETROGRAD_REGISTRATION_NAME = \
      ::retrograd::nn::register_optimizer<Opt>(name)

namespace retrograd::nn {
RETROGRAD_REGISTER_OPTIMIZER(SGD, "SGD");
RETROGRAD_REGISTER_OPTIMIZER(Adagrad, "Adagrad");
RETROGRAD_REGISTER_OPTIMIZER(RMSProp, "RMSProp");
RETROGRAD_REGISTER_OPTIMIZER(Adam, "Adam");
RETROGRAD_REGISTER_OPTIMIZER(AdamW, "AdamW");

}  // namespace retrograd::nn
