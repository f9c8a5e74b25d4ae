// Fused losses. Their compositions (log of softmax, log of sigmoid) lose precision or overflow
// for large logits; fused, the forward goes through log-sum-exp and the backward is one pass.

#include "ops/op_machinery.hpp"
#include "ops/op_rows.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {
using namespace detail;

namespace {
// Each loss's gradients on tensors (one fused pass, as before) and on Vars (the same formula as
// ops, so that it can be differentiated again): Note [one rule, two paths].

// L = -1/n sum t log p:  dz = (p sum_k t_k - t) / n,  dt = -log p / n
template <class T>
GradList<T> softmax_cross_entropy_grads(const TensorSide<T>& side, Grad<T> g,
                                        const BasicTensor<T>& log_p) {
  const Node<T>& node = side.node;
  const std::size_t n = log_p.shape()[0], c = log_p.shape()[1];
  const T scale = g() / T(n);
  BasicTensor<T> dz = none<T>(), dt = none<T>();
  if (node.input_needs_grad(0)) {
    dz = BasicTensor<T>::from_shape({n, c});
    const T* t = node.input(1).data();
    for (std::size_t i = 0; i < n; ++i) {
      T mass = 0;
      for (std::size_t k = 0; k < c; ++k) mass += t[i * c + k];
      for (std::size_t k = 0; k < c; ++k) {
        const std::size_t j = i * c + k;
        dz.data()[j] = scale * (std::exp(log_p.data()[j]) * mass - t[j]);
      }
    }
  }
  if (node.input_needs_grad(1)) dt = BasicTensor<T>(-scale * log_p);
  return {std::move(dz), std::move(dt)};
}
template <class T>
VarGrads<T> softmax_cross_entropy_grads(const VarSide<T>& side, const BasicVar<T>& g,
                                        const BasicTensor<T>& log_p_value) {
  const BasicVar<T> z = side.input(0), t = side.input(1);
  const BasicVar<T> scale = g / T(log_p_value.shape()[0]);
  const BasicVar<T> log_p = log_softmax(z, 1);
  BasicVar<T> dz, dt;
  if (side.input_needs_grad(0)) dz = scale * (exp(log_p) * sum(t, 1, true) - t);
  if (side.input_needs_grad(1)) dt = -scale * log_p;
  return {dz, dt};
}

// L = -1/n sum_i log p_i,y_i:  dz = (p - onehot(y)) / n
template <class T>
GradList<T> sparse_cross_entropy_grads(const TensorSide<T>&, Grad<T> g, const BasicTensor<T>& p,
                                       const std::vector<std::size_t>& ids) {
  const std::size_t n = p.shape()[0], c = p.shape()[1];
  const T scale = g() / T(n);
  BasicTensor<T> dz = scale * p;
  for (std::size_t i = 0; i < n; ++i) dz.data()[i * c + ids[i]] -= scale;
  return {std::move(dz)};
}
template <class T>
VarGrads<T> sparse_cross_entropy_grads(const VarSide<T>& side, const BasicVar<T>& g,
                                       const BasicTensor<T>& p,
                                       const std::vector<std::size_t>& ids) {
  const std::size_t n = p.shape()[0], c = p.shape()[1];
  BasicTensor<T> one_hot = zeros<T>(p.shape());
  for (std::size_t i = 0; i < n; ++i) one_hot.data()[i * c + ids[i]] = T(1);
  return {g / T(n) * (softmax(side.input(0), 1) - BasicVar<T>(std::move(one_hot)))};
}

// L = mean(max(z,0) - z t + log(1 + e^-|z|)):  dz = (sigmoid(z) - t) / N,  dt = -z / N
template <class T>
GradList<T> binary_cross_entropy_grads(const TensorSide<T>& side, Grad<T> g) {
  const Node<T>& node = side.node;
  const BasicTensor<T>& z = node.input(0);
  const BasicTensor<T>& t = node.input(1);
  const std::size_t count = z.size();
  const T scale = g() / T(count);
  BasicTensor<T> dz = none<T>(), dt = none<T>();
  if (node.input_needs_grad(0)) {
    dz = BasicTensor<T>::from_shape(z.shape());
    for (std::size_t j = 0; j < count; ++j) {
      // Written per sign so that exp never overflows.
      const T e = std::exp(-std::abs(z.data()[j]));
      const T s = z.data()[j] >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
      dz.data()[j] = scale * (s - t.data()[j]);
    }
  }
  if (node.input_needs_grad(1)) dt = BasicTensor<T>(-scale * z);
  return {std::move(dz), std::move(dt)};
}
template <class T>
VarGrads<T> binary_cross_entropy_grads(const VarSide<T>& side, const BasicVar<T>& g) {
  const BasicVar<T> z = side.input(0), t = side.input(1);
  const BasicVar<T> scale = g / T(z.size());
  BasicVar<T> dz, dt;
  if (side.input_needs_grad(0)) dz = scale * (sigmoid(z) - t);
  if (side.input_needs_grad(1)) dt = -scale * z;
  return {dz, dt};
}
}  // namespace

template <class T>
BasicVar<T> softmax_cross_entropy(const BasicVar<T>& logits, const BasicVar<T>& targets) {
  require_logits_matrix("softmax_cross_entropy", logits.value());
  if (targets.shape() != logits.shape()) {
    throw std::invalid_argument("softmax_cross_entropy: targets of shape " +
                                shape_string(targets.shape()) + " do not match logits of shape " +
                                shape_string(logits.shape()));
  }
  const std::size_t n = logits.shape()[0], c = logits.shape()[1];
  BasicTensor<T> log_p = BasicTensor<T>::from_shape(logits.shape());
  T total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const T* z = logits.value().data() + i * c;
    const T* t = targets.value().data() + i * c;
    T* lp = log_p.data() + i * c;
    const T lse = log_sum_exp(z, c);
    for (std::size_t k = 0; k < c; ++k) {
      lp[k] = z[k] - lse;
      total += t[k] * lp[k];
    }
  }
  return record<T>("softmax_cross_entropy", scalar_tensor<T>(-total / T(n)),
                   {logits.node(), targets.node()},
                   two_paths<T>([log_p = std::move(log_p)](const auto& node, const auto& g) {
                     return softmax_cross_entropy_grads(node, g, log_p);
                   }));
}

template <class T>
BasicVar<T> sparse_softmax_cross_entropy(const BasicVar<T>& logits, const BasicTensor<T>& labels) {
  const char* op = "sparse_softmax_cross_entropy";
  require_logits_matrix(op, logits.value());
  const std::size_t n = logits.shape()[0], c = logits.shape()[1];
  const std::vector<std::size_t> ids = class_ids(op, labels, logits.shape(), "logits");
  BasicTensor<T> p = BasicTensor<T>::from_shape({n, c});
  T total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const T* z = logits.value().data() + i * c;
    const T lse = log_sum_exp(z, c);
    total += z[ids[i]] - lse;
    for (std::size_t k = 0; k < c; ++k) p.data()[i * c + k] = std::exp(z[k] - lse);
  }
  return record<T>(
      op, scalar_tensor<T>(-total / T(n)), {logits.node()},
      two_paths<T>([ids = std::move(ids), p = std::move(p)](const auto& node, const auto& g) {
        return sparse_cross_entropy_grads(node, g, p, ids);
      }));
}

template <class T>
BasicVar<T> sigmoid_binary_cross_entropy(const BasicVar<T>& logits, const BasicVar<T>& targets) {
  const char* op = "sigmoid_binary_cross_entropy";
  require_nonempty(op, logits.value());
  if (targets.shape() != logits.shape()) {
    throw std::invalid_argument(std::string(op) + ": targets of shape " +
                                shape_string(targets.shape()) + " do not match logits of shape " +
                                shape_string(logits.shape()));
  }
  const std::size_t count = logits.size();
  const T* z = logits.value().data();
  const T* t = targets.value().data();
  T total = 0;
  for (std::size_t j = 0; j < count; ++j) {
    total += std::max(z[j], T(0)) - z[j] * t[j] + std::log1p(std::exp(-std::abs(z[j])));
  }
  return record<T>(op, scalar_tensor<T>(total / T(count)), {logits.node(), targets.node()},
                   two_paths<T>([](const auto& node, const auto& g) {
                     return binary_cross_entropy_grads(node, g);
                   }));
}

template <class T>
std::vector<std::size_t> class_ids(const char* op, const BasicTensor<T>& labels,
                                   const Shape& scores_shape, const char* scores) {
  const std::size_t n = scores_shape.at(0), c = scores_shape.at(1);
  const Shape& ls = labels.shape();
  if (!((ls.size() == 1 && ls[0] == n) || (ls.size() == 2 && ls[0] == n && ls[1] == 1))) {
    throw std::invalid_argument(std::string(op) + ": labels of shape " + shape_string(ls) +
                                " must be [n] or [n, 1] class ids for " + scores + " of shape " +
                                shape_string(scores_shape));
  }
  std::vector<std::size_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) {
    const T label = labels.data()[i];
    if (!(label >= T(0) && label < T(c)) || std::trunc(label) != label) {
      throw std::invalid_argument(
          std::string(op) + ": label " + values_string(scalar_tensor(label)) + " at row " +
          std::to_string(i) + " is not a class id in [0, " + std::to_string(c) + ") (" + scores +
          " " + shape_string(scores_shape) + ", labels " + shape_string(ls) + ")");
    }
    ids[i] = static_cast<std::size_t>(label);
  }
  return ids;
}

#define RETROGRAD_INSTANTIATE_LOSSES(T)                                                         \
  template BasicVar<T> softmax_cross_entropy(const BasicVar<T>&, const BasicVar<T>&);           \
  template BasicVar<T> sparse_softmax_cross_entropy(const BasicVar<T>&, const BasicTensor<T>&); \
  template BasicVar<T> sigmoid_binary_cross_entropy(const BasicVar<T>&, const BasicVar<T>&);    \
  template std::vector<std::size_t> class_ids(const char*, const BasicTensor<T>&, const Shape&, \
                                              const char*);

RETROGRAD_INSTANTIATE_LOSSES(float)
RETROGRAD_INSTANTIATE_LOSSES(double)

std::vector<OpRow> detail::losses_rows() {
  const TensorD one_hot{{0, 1, 0, 0}, {0, 0, 0, 1}, {1, 0, 0, 0}};
  const TensorD class_ids{1, 3, 0};
  const TensorD binary{{0, 1, 1, 0}, {1, 0, 0, 1}, {1, 1, 0, 0}};
  return {
      {"softmax_cross_entropy",
       "losses",
       "softmax_cross_entropy(logits, targets)",
       2,
       "-1/n sum {b} log softmax({a})",
       {"{g} * (softmax({a}) * sum_k {b} - {b}) / n", "-{g} * log softmax({a}) / n"},
       false,
       {},
       nullptr,
       0,
       {{"one-hot targets",
         {{3, 4}},
         [one_hot](In v) { return softmax_cross_entropy(v[0], VarD(one_hot)); }},
        {"soft targets", {{3, 4}, {3, 4}}, [](In v) { return softmax_cross_entropy(v[0], v[1]); }}},
       "logits and targets [n, classes]; stable through log-sum-exp"},
      {"sparse_softmax_cross_entropy",
       "losses",
       "sparse_softmax_cross_entropy(logits, labels)",
       1,
       "-1/n sum log softmax({a})[label]",
       {"{g} * (softmax({a}) - onehot(labels)) / n"},
       false,
       {},
       nullptr,
       0,
       {{"class ids",
         {{3, 4}},
         [class_ids](In v) { return sparse_softmax_cross_entropy(v[0], class_ids); }}},
       "labels [n] or [n, 1] whole numbers in [0, classes); no gradient to the labels"},
      {"sigmoid_binary_cross_entropy",
       "losses",
       "sigmoid_binary_cross_entropy(logits, targets)",
       2,
       "mean(max({a}, 0) - {a} {b} + log(1 + e^-|{a}|))",
       {"{g} * (sigmoid({a}) - {b}) / N", "-{g} * {a} / N"},
       false,
       {},
       nullptr,
       0,
       {{"binary targets",
         {{3, 4}},
         [binary](In v) { return sigmoid_binary_cross_entropy(v[0], VarD(binary)); }},
        {"soft targets",
         {{2, 3}, {2, 3}},
         [](In v) { return sigmoid_binary_cross_entropy(v[0], v[1]); }}},
       "exact where log(sigmoid(z)) underflows"},
  };
}

}  // namespace retrograd
