#include "retrograd/anomaly.hpp"

#include <cmath>
#include <utility>
#include <vector>

#include "anomaly_checks.hpp"

namespace retrograd {

namespace {
thread_local bool anomaly_mode = false;
thread_local AnomalyContext* innermost_context = nullptr;
}  // namespace

bool anomaly_detection_enabled() { return anomaly_mode; }

DetectAnomalyGuard::DetectAnomalyGuard() : previous_(anomaly_mode) { anomaly_mode = true; }
DetectAnomalyGuard::~DetectAnomalyGuard() { anomaly_mode = previous_; }

AnomalyContext::AnomalyContext(std::function<std::string()> describe)
    : describe_(std::move(describe)), outer_(innermost_context) {
  innermost_context = this;
}

AnomalyContext::~AnomalyContext() { innermost_context = outer_; }

std::string AnomalyContext::describe_all() {
  std::vector<const AnomalyContext*> contexts;
  for (const AnomalyContext* c = innermost_context; c; c = c->outer_) contexts.push_back(c);
  std::string text;
  for (auto it = contexts.rbegin(); it != contexts.rend(); ++it) {
    text += (text.empty() ? "" : ", ") + (*it)->describe_();
  }
  return text;
}

namespace detail {
namespace {

template <class T>
std::string number(T v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return std::to_string(v);
}

/// "matmul", or "add 'hidden'" for a named node.
template <class T>
std::string label(const Node<T>& node) {
  std::string text(node.op());
  if (!node.name().empty()) text += " '" + node.name() + "'";
  return text;
}

/// "[2, 3] (leaf 'x'), [3] (add)".
template <class T>
std::string input_list(const InputList<T>& inputs) {
  if (inputs.empty()) return "none";
  std::string text;
  for (const auto& input : inputs) {
    text += (text.empty() ? "" : ", ") + shape_string(input->shape()) + " (" + label(*input) + ")";
  }
  return text;
}

/// The index of the first non-finite element, or `count` when all are finite.
template <class T>
std::size_t first_non_finite(const T* values, std::size_t count) {
  std::size_t i = 0;
  while (i < count && std::isfinite(values[i])) ++i;
  return i;
}

[[noreturn]] void raise(std::string message) {
  const std::string context = AnomalyContext::describe_all();
  if (!context.empty()) message += ", during " + context;
  throw AnomalyError(message);
}

template <class T>
[[noreturn]] void raise_forward(const char* op, T bad, const std::string& where,
                                const InputList<T>& inputs) {
  raise("anomaly in the forward pass: " + std::string(op) + " produced " + number(bad) + where +
        "; its inputs: " + input_list(inputs));
}

template <class T>
[[noreturn]] void raise_backward(const Node<T>& node, std::size_t input, T bad,
                                 const std::string& where) {
  bool upstream_finite = true;
  if (node.is_scalar()) {
    upstream_finite = std::isfinite(node.scalar_grad());
  } else {
    const BasicTensor<T>& upstream = node.grad();
    upstream_finite = first_non_finite(upstream.data(), upstream.size()) == upstream.size();
  }
  raise("anomaly in the backward pass: the gradient that " + label(node) + " sends to its input " +
        std::to_string(input) + " (" + label(*node.inputs()[input]) + ", shape " +
        shape_string(node.inputs()[input]->shape()) + ") is " + number(bad) + where +
        "; its inputs: " + input_list(node.inputs()) +
        (upstream_finite ? "; its upstream gradient is finite"
                         : "; its upstream gradient is already not finite"));
}

}  // namespace

template <class T>
void check_forward(const char* op, const BasicTensor<T>& value, const InputList<T>& inputs) {
  const std::size_t bad = first_non_finite(value.data(), value.size());
  if (bad == value.size()) return;
  raise_forward(op, value.data()[bad],
                " at " + index_string(bad, value.shape()) + " of its value of shape " +
                    shape_string(value.shape()),
                inputs);
}

template <class T>
void check_forward(const char* op, T value, const InputList<T>& inputs) {
  if (!std::isfinite(value)) raise_forward(op, value, " (its value is a single number)", inputs);
}

template <class T>
void check_backward(const Node<T>& node, std::size_t input, const BasicTensor<T>& grad) {
  const std::size_t bad = first_non_finite(grad.data(), grad.size());
  if (bad == grad.size()) return;
  raise_backward(node, input, grad.data()[bad], " at " + index_string(bad, grad.shape()));
}

template <class T>
void check_backward(const Node<T>& node, std::size_t input, T grad) {
  if (!std::isfinite(grad)) raise_backward(node, input, grad, std::string());
}

template void check_forward(const char*, const Tensor&, const InputList<float>&);
template void check_forward(const char*, const TensorD&, const InputList<double>&);
template void check_forward(const char*, float, const InputList<float>&);
template void check_forward(const char*, double, const InputList<double>&);
template void check_backward(const Node<float>&, std::size_t, const Tensor&);
template void check_backward(const Node<double>&, std::size_t, const TensorD&);
template void check_backward(const Node<float>&, std::size_t, float);
template void check_backward(const Node<double>&, std::size_t, double);

}  // namespace detail
}  // namespace retrograd
