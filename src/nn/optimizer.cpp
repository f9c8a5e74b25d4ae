#include "retrograd/nn/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "finite.hpp"
#include "xtensor_math.hpp"

namespace retrograd::nn {

namespace {
std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}
}  // namespace

OptimizerBase::OptimizerBase(std::string name, double lr) : name_(std::move(name)) {
  set_learning_rate(lr);
}

void OptimizerBase::set_learning_rate(double lr) {
  if (!(lr > 0) || !std::isfinite(lr)) {
    throw std::invalid_argument(name() + ": learning rate must be positive and finite (got " +
                                number(lr) + ")");
  }
  lr_ = lr;
}

void OptimizerBase::set_clip_norm(double max_norm) {
  if (!(max_norm >= 0) || !std::isfinite(max_norm)) {
    throw std::invalid_argument(name() + ": clip norm must be finite and >= 0 (got " +
                                number(max_norm) + ")");
  }
  clip_norm_ = max_norm;
}

void OptimizerBase::require_in(const char* what, double v, double lo, double hi) const {
  if (!(v >= lo && v < hi)) {
    throw std::invalid_argument(name() + ": " + what + " must be in [" + number(lo) + ", " +
                                number(hi) + ") (got " + number(v) + ")");
  }
}

template <class T>
void BasicOptimizer<T>::attach(std::vector<BasicVar<T>> params) {
  params_ = std::move(params);
  state_.assign(params_.size(), {});
  const std::size_t slots = state_names().size();
  if (slots > max_state_slots) {
    throw std::logic_error(name() + ": " + std::to_string(slots) + " state slots per parameter; " +
                           "at most " + std::to_string(max_state_slots) + " are supported");
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    for (std::size_t k = 0; k < slots; ++k) {
      state_[i].push_back(full<T>(params_[i].shape(), initial_state()));
    }
  }
  next_params_.clear();
  next_state_.clear();
  iterations_ = 0;
}

// Note [double-buffered steps]: update() writes each parameter's next value and state into
// buffers of their own, which step() then swaps with the current ones (a swap moves pointers,
// no copy). A step whose result holds a NaN or an infinity can so be refused with nothing
// changed (step_if_finite: the Trainer undoes a failed step this way) for the price of a second
// set of buffers; the update reads and writes as many bytes as one in place.

template <class T>
void BasicOptimizer<T>::step() {
  compute_next();
  commit();
}

template <class T>
std::optional<std::size_t> BasicOptimizer<T>::step_if_finite() {
  const std::optional<std::size_t> bad = compute_next();
  if (bad) {
    --iterations_;
    return bad;
  }
  commit();
  return std::nullopt;
}

template <class T>
std::optional<std::size_t> BasicOptimizer<T>::compute_next() {
  if (params_.empty()) {
    throw std::logic_error(name() + ": step() with no parameters; call attach(params) first");
  }
  T scale = T(1);
  if (clip_norm_ > 0) {
    const double norm = global_grad_norm(params_);
    if (norm > clip_norm_) scale = static_cast<T>(clip_norm_ / norm);
  }
  allocate_next();
  ++iterations_;
  std::optional<std::size_t> bad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].has_grad()) continue;
    if (!update_elements(i, 0, params_[i].size(), params_[i].grad().data(), scale) && !bad) {
      bad = i;
    }
  }
  return bad;
}

template <class T>
void BasicOptimizer<T>::commit() {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].has_grad()) continue;
    // Swapped element by element: the tensors stay where they are (state() hands out pointers
    // to them), their contents change places.
    std::swap(params_[i].value(), next_params_[i]);
    for (std::size_t k = 0; k < state_[i].size(); ++k) std::swap(state_[i][k], next_state_[i][k]);
  }
}

template <class T>
std::optional<std::size_t> BasicOptimizer<T>::step_slices(const std::vector<Slice>& slices, T scale,
                                                          const SliceVerdict& verdict) {
  for (const Slice& s : slices) {
    if (s.index >= params_.size() || s.first > params_[s.index].size() ||
        s.count > params_[s.index].size() - s.first) {
      throw std::out_of_range(name() + ": step_slices: elements [" + std::to_string(s.first) +
                              ", " + std::to_string(s.first + s.count) + ") of parameter " +
                              std::to_string(s.index) + " of " + std::to_string(params_.size()) +
                              " are outside it");
    }
  }
  allocate_next();
  ++iterations_;
  std::optional<std::size_t> bad;
  for (const Slice& s : slices) {
    if (!update_elements(s.index, s.first, s.count, s.gradient, scale) &&
        (!bad || s.index < *bad)) {
      bad = s.index;
    }
  }
  if (verdict) bad = verdict(bad);
  if (bad) {
    --iterations_;
    return bad;
  }
  // Only the slices' elements of the next buffers are current: copied, not swapped.
  for (const Slice& s : slices) {
    const T* next = next_params_[s.index].data() + s.first;
    std::copy(next, next + s.count, params_[s.index].value().data() + s.first);
    for (std::size_t k = 0; k < state_[s.index].size(); ++k) {
      const T* next_state = next_state_[s.index][k].data() + s.first;
      std::copy(next_state, next_state + s.count, state_[s.index][k].data() + s.first);
    }
  }
  return std::nullopt;
}

template <class T>
void BasicOptimizer<T>::allocate_next() {
  if (next_params_.size() == params_.size()) return;
  next_params_.assign(params_.size(), {});
  for (std::size_t i = 0; i < params_.size(); ++i) next_params_[i].resize(params_[i].shape());
  next_state_ = state_;
}

template <class T>
bool BasicOptimizer<T>::update_elements(std::size_t index, std::size_t first, std::size_t count,
                                        const T* gradient, T scale) {
  const T* slots[max_state_slots] = {};
  T* next_slots[max_state_slots] = {};
  for (std::size_t k = 0; k < state_[index].size(); ++k) {
    slots[k] = state_[index][k].data() + first;
    next_slots[k] = next_state_[index][k].data() + first;
  }
  T* next = next_params_[index].data() + first;
  update(std::as_const(params_[index]).value().data() + first, gradient, count, scale, slots, next,
         next_slots);
  return detail::all_finite(next, count);
}

template <class T>
void BasicOptimizer<T>::zero_grad() {
  for (BasicVar<T>& p : params_) p.zero_grad();
}

template <class T>
std::vector<NamedState<T>> BasicOptimizer<T>::state() {
  std::vector<NamedState<T>> out;
  const std::vector<std::string> names = state_names();
  for (std::size_t i = 0; i < state_.size(); ++i) {
    for (std::size_t k = 0; k < names.size(); ++k) {
      out.push_back({names[k] + "." + std::to_string(i), &state_[i][k]});
    }
  }
  return out;
}

template <class T>
double global_grad_norm(const std::vector<BasicVar<T>>& params) {
  double total = 0;
  for (const BasicVar<T>& p : params) {
    if (!p.has_grad()) continue;
    for (const T g : p.grad()) total += static_cast<double>(g) * g;
  }
  return std::sqrt(total);
}

namespace {
// Plain loops over raw pointers: GCC vectorizes them once __restrict (on parameters; it ignored
// it on local pointers) says the arrays do not overlap. The xtensor expression they replace
// went through xtensor's generic assigner, and the earlier loop ran one float at a time.
template <class T>
void sgd_step(const T* __restrict w, T* __restrict w_next, const T* __restrict g, std::size_t n,
              T lr, T scale, T wd) {
  for (std::size_t i = 0; i < n; ++i) w_next[i] = w[i] - lr * (scale * g[i] + wd * w[i]);
}

template <class T>
void momentum_step(const T* __restrict w, T* __restrict w_next, const T* __restrict v,
                   T* __restrict v_next, const T* __restrict g, std::size_t n, T lr, T mu, T scale,
                   T wd, bool nesterov) {
  if (nesterov) {
    for (std::size_t i = 0; i < n; ++i) {
      const T step = scale * g[i] + wd * w[i];
      const T velocity = mu * v[i] + step;
      v_next[i] = velocity;
      w_next[i] = w[i] - lr * (step + mu * velocity);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      const T velocity = mu * v[i] + scale * g[i] + wd * w[i];
      v_next[i] = velocity;
      w_next[i] = w[i] - lr * velocity;
    }
  }
}

// s sums the squares of the gradients; g' = scale g + wd w.
template <class T>
void adagrad_step(const T* __restrict w, T* __restrict w_next, const T* __restrict s,
                  T* __restrict s_next, const T* __restrict g, std::size_t n, T lr, T eps, T scale,
                  T wd) {
  for (std::size_t i = 0; i < n; ++i) {
    const T step = scale * g[i] + wd * w[i];
    const T sum = s[i] + step * step;
    s_next[i] = sum;
    w_next[i] = w[i] - lr * step / (std::sqrt(sum) + eps);
  }
}

// ms is the running mean of the squares; buf (null without momentum) the momentum buffer.
template <class T>
void rmsprop_step(const T* __restrict w, T* __restrict w_next, const T* __restrict ms,
                  T* __restrict ms_next, const T* __restrict buf, T* __restrict buf_next,
                  const T* __restrict g, std::size_t n, T lr, T rho, T eps, T momentum, T scale,
                  T wd) {
  for (std::size_t i = 0; i < n; ++i) {
    const T step = scale * g[i] + wd * w[i];
    const T mean = rho * ms[i] + (T(1) - rho) * step * step;
    ms_next[i] = mean;
    if (buf) {
      const T b = momentum * buf[i] + step / (std::sqrt(mean) + eps);
      buf_next[i] = b;
      w_next[i] = w[i] - lr * b;
    } else {
      w_next[i] = w[i] - lr * step / (std::sqrt(mean) + eps);
    }
  }
}

// m and v are the first and second moment estimates; w -= step_size m / (sqrt(v) / root + eps).
template <class T>
void adam_step(const T* __restrict w, T* __restrict w_next, const T* __restrict m,
               T* __restrict m_next, const T* __restrict v, T* __restrict v_next,
               const T* __restrict g, std::size_t n, T b1, T b2, T step_size, T root, T eps,
               T scale, T coupled_wd, T decay) {
  for (std::size_t i = 0; i < n; ++i) {
    const T gi = scale * g[i] + coupled_wd * w[i];
    const T decayed = w[i] - decay * w[i];
    const T mi = b1 * m[i] + (T(1) - b1) * gi;
    const T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
    m_next[i] = mi;
    v_next[i] = vi;
    w_next[i] = decayed - step_size * mi / (std::sqrt(vi) / root + eps);
  }
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// The update rules. `g` is the raw gradient; every rule reads it as scale * g (clipping).

template <class T>
BasicSGD<T>::BasicSGD(double lr, double momentum, bool nesterov, double weight_decay)
    : BasicOptimizer<T>("SGD", lr),
      momentum_(momentum),
      nesterov_(nesterov),
      weight_decay_(weight_decay) {
  this->require_in("momentum", momentum, 0, 1);
  this->require_in("weight decay", weight_decay, 0, INFINITY);
  if (nesterov && momentum == 0) {
    throw std::invalid_argument("SGD: Nesterov momentum needs a momentum > 0");
  }
}

template <class T>
std::vector<std::string> BasicSGD<T>::state_names() const {
  if (momentum_ == 0) return {};
  return {"velocity"};
}

template <class T>
void BasicSGD<T>::update(const T* w, const T* g, std::size_t n, T scale, const T* const* s,
                         T* w_next, T* const* s_next) {
  const T lr = static_cast<T>(this->lr_), mu = static_cast<T>(momentum_);
  const T wd = static_cast<T>(weight_decay_);
  if (momentum_ == 0) {
    sgd_step(w, w_next, g, n, lr, scale, wd);
  } else {
    // One pass over w, g and v instead of two: with 670k parameters (784-512-512-10) a second
    // sweep costs as much as the first.
    momentum_step(w, w_next, s[0], s_next[0], g, n, lr, mu, scale, wd, nesterov_);
  }
}

template <class T>
BasicAdagrad<T>::BasicAdagrad(double lr, double eps, double initial_accumulator,
                              double weight_decay)
    : BasicOptimizer<T>("Adagrad", lr),
      eps_(eps),
      initial_(initial_accumulator),
      weight_decay_(weight_decay) {
  this->require_in("eps", eps, 0, INFINITY);
  this->require_in("initial accumulator", initial_accumulator, 0, INFINITY);
  this->require_in("weight decay", weight_decay, 0, INFINITY);
}

template <class T>
void BasicAdagrad<T>::update(const T* w, const T* g, std::size_t n, T scale, const T* const* s,
                             T* w_next, T* const* s_next) {
  adagrad_step(w, w_next, s[0], s_next[0], g, n, static_cast<T>(this->lr_), static_cast<T>(eps_),
               scale, static_cast<T>(weight_decay_));
}

template <class T>
BasicRMSProp<T>::BasicRMSProp(double lr, double rho, double eps, double momentum,
                              double weight_decay)
    : BasicOptimizer<T>("RMSProp", lr),
      rho_(rho),
      eps_(eps),
      momentum_(momentum),
      weight_decay_(weight_decay) {
  this->require_in("rho", rho, 0, 1);
  this->require_in("eps", eps, 0, INFINITY);
  this->require_in("momentum", momentum, 0, 1);
  this->require_in("weight decay", weight_decay, 0, INFINITY);
}

template <class T>
std::vector<std::string> BasicRMSProp<T>::state_names() const {
  if (momentum_ == 0) return {"mean_square"};
  return {"mean_square", "momentum_buffer"};
}

template <class T>
void BasicRMSProp<T>::update(const T* w, const T* g, std::size_t n, T scale, const T* const* s,
                             T* w_next, T* const* s_next) {
  const bool momentum = momentum_ != 0;
  rmsprop_step(w, w_next, s[0], s_next[0], momentum ? s[1] : nullptr,
               momentum ? s_next[1] : nullptr, g, n, static_cast<T>(this->lr_),
               static_cast<T>(rho_), static_cast<T>(eps_), static_cast<T>(momentum_), scale,
               static_cast<T>(weight_decay_));
}

template <class T>
BasicAdam<T>::BasicAdam(double lr, double beta1, double beta2, double eps, double weight_decay)
    : BasicAdam("Adam", false, lr, beta1, beta2, eps, weight_decay) {}

template <class T>
BasicAdam<T>::BasicAdam(std::string name, bool decoupled, double lr, double beta1, double beta2,
                        double eps, double weight_decay)
    : BasicOptimizer<T>(std::move(name), lr),
      beta1_(beta1),
      beta2_(beta2),
      eps_(eps),
      weight_decay_(weight_decay),
      decoupled_(decoupled) {
  this->require_in("beta1", beta1, 0, 1);
  this->require_in("beta2", beta2, 0, 1);
  this->require_in("eps", eps, 0, INFINITY);
  this->require_in("weight decay", weight_decay, 0, INFINITY);
}

template <class T>
void BasicAdam<T>::update(const T* w, const T* g, std::size_t n, T scale, const T* const* s,
                          T* w_next, T* const* s_next) {
  const double t = static_cast<double>(this->iterations_);
  const T b1 = static_cast<T>(beta1_), b2 = static_cast<T>(beta2_);
  const T lr = static_cast<T>(this->lr_), eps = static_cast<T>(eps_);
  const T wd = static_cast<T>(weight_decay_);
  // Bias corrections folded into two scalars: w -= step_size m / (sqrt(v) / root + eps).
  const T step_size = static_cast<T>(this->lr_ / (1 - std::pow(beta1_, t)));
  const T root = static_cast<T>(std::sqrt(1 - std::pow(beta2_, t)));
  // AdamW decays w itself; Adam adds wd w to the gradient. One of the two factors is zero.
  const T decay = decoupled_ ? lr * wd : T(0);
  const T coupled_wd = decoupled_ ? T(0) : wd;
  adam_step(w, w_next, s[0], s_next[0], s[1], s_next[1], g, n, b1, b2, step_size, root, eps, scale,
            coupled_wd, decay);
}

template <class T>
BasicAdamW<T>::BasicAdamW(double lr, double beta1, double beta2, double eps, double weight_decay)
    : BasicAdam<T>("AdamW", true, lr, beta1, beta2, eps, weight_decay) {}

// ---------------------------------------------------------------------------------------------
// Saving and rebuilding: each optimizer writes its hyperparameters and reads them back.

template <class T>
void BasicSGD<T>::save_config(Record& config) const {
  config.set("momentum", momentum_);
  config.set("nesterov", std::int64_t{nesterov_});
  config.set("weight_decay", weight_decay_);
}

template <class T>
std::unique_ptr<BasicSGD<T>> BasicSGD<T>::from_config(double lr, const Record& config) {
  return std::make_unique<BasicSGD>(lr, config.number("momentum"), config.flag("nesterov"),
                                    config.number("weight_decay"));
}

template <class T>
void BasicAdagrad<T>::save_config(Record& config) const {
  config.set("eps", eps_);
  config.set("initial_accumulator", initial_);
  config.set("weight_decay", weight_decay_);
}

template <class T>
std::unique_ptr<BasicAdagrad<T>> BasicAdagrad<T>::from_config(double lr, const Record& config) {
  return std::make_unique<BasicAdagrad>(lr, config.number("eps"),
                                        config.number("initial_accumulator"),
                                        config.number("weight_decay"));
}

template <class T>
void BasicRMSProp<T>::save_config(Record& config) const {
  config.set("rho", rho_);
  config.set("eps", eps_);
  config.set("momentum", momentum_);
  config.set("weight_decay", weight_decay_);
}

template <class T>
std::unique_ptr<BasicRMSProp<T>> BasicRMSProp<T>::from_config(double lr, const Record& config) {
  return std::make_unique<BasicRMSProp>(lr, config.number("rho"), config.number("eps"),
                                        config.number("momentum"), config.number("weight_decay"));
}

template <class T>
void BasicAdam<T>::save_config(Record& config) const {
  config.set("beta1", beta1_);
  config.set("beta2", beta2_);
  config.set("eps", eps_);
  config.set("weight_decay", weight_decay_);
}

template <class T>
std::unique_ptr<BasicAdam<T>> BasicAdam<T>::from_config(double lr, const Record& config) {
  return std::make_unique<BasicAdam>(lr, config.number("beta1"), config.number("beta2"),
                                     config.number("eps"), config.number("weight_decay"));
}

template <class T>
std::unique_ptr<BasicAdamW<T>> BasicAdamW<T>::from_config(double lr, const Record& config) {
  return std::make_unique<BasicAdamW>(lr, config.number("beta1"), config.number("beta2"),
                                      config.number("eps"), config.number("weight_decay"));
}

Registry<OptimizerFactory>& optimizer_registry() {
  static Registry<OptimizerFactory> registry("optimizer");
  return registry;
}

namespace {
std::map<std::string, std::function<Record()>>& optimizer_default_makers() {
  static std::map<std::string, std::function<Record()>> makers;
  return makers;
}
}  // namespace

void register_optimizer_defaults(const std::string& name, std::function<Record()> defaults) {
  optimizer_default_makers()[name] = std::move(defaults);
}

Record optimizer_defaults(const std::string& name) {
  const auto& makers = optimizer_default_makers();
  const auto it = makers.find(name);
  if (it == makers.end()) {
    throw std::invalid_argument("unknown optimizer '" + name +
                                "' (registered: " + optimizer_registry().joined_names() + ")");
  }
  return it->second();
}

Record optimizer_record(Optimizer& optimizer) {
  if (!optimizer_registry().registered_as(optimizer.name(), typeid(optimizer))) {
    throw std::invalid_argument("optimizer " + optimizer.name() +
                                " cannot be saved: its class is not registered under that name "
                                "(RETROGRAD_REGISTER_OPTIMIZER; registered: " +
                                optimizer_registry().joined_names() + ")");
  }
  Record record("optimizer " + optimizer.name());
  record.set("name", optimizer.name());
  record.set("learning_rate", optimizer.learning_rate());
  record.set("clip_norm", optimizer.clip_norm());
  record.set("iterations", static_cast<std::int64_t>(optimizer.iterations()));
  Record config("optimizer " + optimizer.name() + " config");
  optimizer.save_config(config);
  record.set("config", nested(std::move(config)));
  Record state("optimizer " + optimizer.name() + " state");
  for (const NamedState<float>& s : optimizer.state()) state.set(s.name, *s.tensor);
  record.set("state", nested(std::move(state)));
  return record;
}

std::unique_ptr<Optimizer> build_optimizer(const Record& record) {
  const std::string& name = record.text("name");
  std::unique_ptr<Optimizer> optimizer;
  try {
    optimizer =
        optimizer_registry().get(name)(record.number("learning_rate"), record.record("config"));
    optimizer->set_clip_norm(record.number("clip_norm"));
  } catch (const RecordError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    record.fail(e.what());
  }
  return optimizer;
}

void restore_optimizer_state(Optimizer& optimizer, const Record& record) {
  if (record.text("name") != optimizer.name()) {
    record.fail("saved for " + record.text("name") + ", restored into " + optimizer.name());
  }
  const Record& saved = record.record("state");
  std::vector<NamedState<float>> state = optimizer.state();
  if (saved.size() != state.size()) {
    saved.fail(std::to_string(saved.size()) + " saved tensors for " + std::to_string(state.size()) +
               " in the optimizer");
  }
  for (const NamedState<float>& s : state) {
    const Tensor& t = saved.tensor(s.name);
    if (t.shape() != s.tensor->shape()) {
      saved.fail("'" + s.name + "' has shape " + shape_string(t.shape()) +
                 ", the optimizer needs " + shape_string(s.tensor->shape()));
    }
  }
  for (const NamedState<float>& s : state) *s.tensor = saved.tensor(s.name);
  optimizer.set_learning_rate(record.number("learning_rate"));
  optimizer.set_iterations(static_cast<std::size_t>(
      record.count("iterations", std::numeric_limits<std::int64_t>::max())));
}

#define RETROGRAD_INSTANTIATE_OPTIMIZERS(T) \
  template class BasicOptimizer<T>;         \
  template class BasicSGD<T>;               \
  template class BasicAdagrad<T>;           \
  template class BasicRMSProp<T>;           \
  template class BasicAdam<T>;              \
  template class BasicAdamW<T>;             \
  template double global_grad_norm(const std::vector<BasicVar<T>>& params);

RETROGRAD_INSTANTIATE_OPTIMIZERS(float)
RETROGRAD_INSTANTIATE_OPTIMIZERS(double)

}  // namespace retrograd::nn
