#include "retrograd/nn/loss.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "retrograd/ops.hpp"

namespace retrograd::nn {

namespace {
template <class T>
void require_same_shape(const char* loss, const BasicVar<T>& pred, const BasicVar<T>& target) {
  if (pred.shape() != target.shape()) {
    throw std::invalid_argument(std::string(loss) + ": predictions of shape " +
                                shape_string(pred.shape()) + " and targets of shape " +
                                shape_string(target.shape()) + " differ");
  }
  if (pred.size() == 0) {
    throw std::invalid_argument(std::string(loss) + ": empty predictions of shape " +
                                shape_string(pred.shape()));
  }
}

template <class T>
void require_matrix(const char* loss, const BasicVar<T>& pred) {
  if (pred.shape().size() != 2 || pred.size() == 0) {
    throw std::invalid_argument(std::string(loss) + ": predictions of shape " +
                                shape_string(pred.shape()) +
                                " must be a non-empty [n, classes] matrix");
  }
}

// Keras's epsilon: a probability of 0 costs -log(1e-7) = 16 instead of infinity.
constexpr double kClip = 1e-7;
}  // namespace

template <class T>
BasicVar<T> mse(const BasicVar<T>& pred, const BasicVar<T>& target) {
  require_same_shape("mse", pred, target);
  const BasicVar<T> diff = pred - target;
  return mean(diff * diff);
}

template <class T>
BasicVar<T> quadratic_cost(const BasicVar<T>& pred, const BasicVar<T>& target) {
  require_same_shape("quadratic_cost", pred, target);
  const BasicVar<T> diff = pred - target;
  const T rows = static_cast<T>(pred.shape().empty() ? 1 : pred.shape()[0]);
  return sum(diff * diff) / (T(2) * rows);
}

template <class T>
BasicVar<T> categorical_cross_entropy(const BasicVar<T>& probs, const BasicVar<T>& target) {
  require_matrix("categorical_cross_entropy", probs);
  require_same_shape("categorical_cross_entropy", probs, target);
  const BasicVar<T> clipped = minimum(maximum(probs, static_cast<T>(kClip)), T(1));
  return -mean(sum(target * log(clipped), 1));
}

template <class T>
BasicVar<T> categorical_cross_entropy_with_logits(const BasicVar<T>& logits,
                                                  const BasicVar<T>& target) {
  return softmax_cross_entropy(logits, target);
}

template <class T>
BasicVar<T> sparse_categorical_cross_entropy(const BasicVar<T>& probs,
                                             const BasicTensor<T>& labels) {
  const char* loss = "sparse_categorical_cross_entropy";
  require_matrix(loss, probs);
  const std::vector<std::size_t> ids = class_ids(loss, labels, probs.shape(), "predictions");
  BasicTensor<T> one_hot = zeros<T>(probs.shape());
  for (std::size_t i = 0; i < ids.size(); ++i) one_hot(i, ids[i]) = T(1);
  return categorical_cross_entropy(probs, BasicVar<T>(std::move(one_hot)));
}

template <class T>
BasicVar<T> sparse_categorical_cross_entropy_with_logits(const BasicVar<T>& logits,
                                                         const BasicTensor<T>& labels) {
  return sparse_softmax_cross_entropy(logits, labels);
}

template <class T>
BasicVar<T> binary_cross_entropy(const BasicVar<T>& probs, const BasicVar<T>& target) {
  require_same_shape("binary_cross_entropy", probs, target);
  const BasicVar<T> p = minimum(maximum(probs, static_cast<T>(kClip)), static_cast<T>(1 - kClip));
  return -mean(target * log(p) + (T(1) - target) * log(T(1) - p));
}

template <class T>
BasicVar<T> binary_cross_entropy_with_logits(const BasicVar<T>& logits, const BasicVar<T>& target) {
  return sigmoid_binary_cross_entropy(logits, target);
}

Registry<LossFunction>& loss_registry() {
  // Never destroyed: a Loss (a global model's) may outlive static destructors.
  static Registry<LossFunction>* registry = new Registry<LossFunction>("loss");
  return *registry;
}

template <class T>
BasicVar<T> BasicLoss<T>::operator()(const BasicVar<T>& pred, const BasicVar<T>& target) const {
  if (parts_) {
    std::size_t width = 0, target_width = 0;
    for (const Part& p : *parts_) {
      width += p.width;
      target_width += p.loss.sparse() ? 1 : p.width;
    }
    if (pred.shape().size() != 2 || pred.shape()[1] != width || target.shape().size() != 2 ||
        target.shape()[1] != target_width) {
      throw std::invalid_argument("loss " + name() + ": predictions " + shape_string(pred.shape()) +
                                  " and targets " + shape_string(target.shape()) +
                                  "; it reads [n, " + std::to_string(width) + "] and [n, " +
                                  std::to_string(target_width) + "]");
    }
    // Each output's columns against its target's: the slices route the gradient back.
    BasicVar<T> total;
    std::int64_t at = 0, target_at = 0;
    for (const Part& p : *parts_) {
      const auto w = static_cast<std::int64_t>(p.width);
      const std::int64_t tw = p.loss.sparse() ? 1 : w;
      const BasicVar<T> term =
          p.loss(slice(pred, 1, at, at + w), slice(target, 1, target_at, target_at + tw)) *
          static_cast<T>(p.weight);
      total = total.defined() ? total + term : term;
      at += w;
      target_at += tw;
    }
    return total;
  }
  if constexpr (std::is_same_v<T, float>) {
    return function_->apply_float(pred, target, from_logits_);
  } else {
    return function_->apply_double(pred, target, from_logits_);
  }
}

template <class T>
std::string BasicLoss<T>::name() const {
  if (parts_) {
    std::ostringstream out;
    out << "per_output(";
    for (std::size_t k = 0; k < parts_->size(); ++k) {
      out << (k ? ", " : "") << (*parts_)[k].loss.name() << " * " << (*parts_)[k].weight;
    }
    return out.str() + ")";
  }
  return from_logits_ ? name_ + "(from_logits)" : name_;
}

template <class T>
const LossTraits& BasicLoss<T>::traits() const {
  static const LossTraits plain;
  return parts_ ? plain : function_->traits;
}

template <class T>
BasicLoss<T> BasicLoss<T>::per_output(std::vector<BasicLoss> losses, std::vector<double> weights,
                                      std::vector<std::size_t> widths) {
  if (losses.empty() || losses.size() != weights.size() || losses.size() != widths.size()) {
    throw std::invalid_argument("Loss::per_output: " + std::to_string(losses.size()) + " losses, " +
                                std::to_string(weights.size()) + " weights and " +
                                std::to_string(widths.size()) + " widths");
  }
  auto parts = std::make_shared<std::vector<Part>>();
  for (std::size_t k = 0; k < losses.size(); ++k) {
    if (!(std::isfinite(weights[k]) && weights[k] >= 0) || widths[k] == 0) {
      throw std::invalid_argument("Loss::per_output: output " + std::to_string(k) + " (" +
                                  losses[k].name() + ") has weight " + std::to_string(weights[k]) +
                                  " and width " + std::to_string(widths[k]));
    }
    parts->push_back(Part{losses[k], weights[k], widths[k]});
  }
  BasicLoss loss("per_output", nullptr, false);
  loss.parts_ = std::move(parts);
  return loss;
}

template <class T>
BasicLoss<T> BasicLoss<T>::from_name(const std::string& name, bool from_logits) {
  const LossFunction& function = loss_registry().get(name);
  if (from_logits && !function.traits.accepts_logits) {
    std::string with_logits;
    for (const std::string& other : loss_registry().names()) {
      if (loss_registry().get(other).traits.accepts_logits) {
        with_logits += (with_logits.empty() ? "" : ", ") + other;
      }
    }
    throw std::invalid_argument("loss " + name +
                                " takes no logits (losses that do: " + with_logits + ")");
  }
  return BasicLoss(name, &function, from_logits);
}

#define RETROGRAD_INSTANTIATE_LOSSES(T)                                                          \
  template BasicVar<T> mse(const BasicVar<T>&, const BasicVar<T>&);                              \
  template BasicVar<T> quadratic_cost(const BasicVar<T>&, const BasicVar<T>&);                   \
  template BasicVar<T> categorical_cross_entropy(const BasicVar<T>&, const BasicVar<T>&);        \
  template BasicVar<T> categorical_cross_entropy_with_logits(const BasicVar<T>&,                 \
                                                             const BasicVar<T>&);                \
  template BasicVar<T> sparse_categorical_cross_entropy(const BasicVar<T>&,                      \
                                                        const BasicTensor<T>&);                  \
  template BasicVar<T> sparse_categorical_cross_entropy_with_logits(const BasicVar<T>&,          \
                                                                    const BasicTensor<T>&);      \
  template BasicVar<T> binary_cross_entropy(const BasicVar<T>&, const BasicVar<T>&);             \
  template BasicVar<T> binary_cross_entropy_with_logits(const BasicVar<T>&, const BasicVar<T>&); \
  template class BasicLoss<T>;

RETROGRAD_INSTANTIATE_LOSSES(float)
RETROGRAD_INSTANTIATE_LOSSES(double)

}  // namespace retrograd::nn
