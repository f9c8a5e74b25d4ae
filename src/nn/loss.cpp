#include "retrograd/nn/loss.hpp"

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
  if constexpr (std::is_same_v<T, float>) {
    return function_->apply_float(pred, target, from_logits_);
  } else {
    return function_->apply_double(pred, target, from_logits_);
  }
}

template <class T>
std::string BasicLoss<T>::name() const {
  return from_logits_ ? name_ + "(from_logits)" : name_;
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
