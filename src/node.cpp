#include "retrograd/node.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

#include "retrograd/var.hpp"
#include "xtensor_math.hpp"

namespace retrograd {

template <class T>
Node<T>::~Node() {
  // Note [iterative destruction]: releasing the last handle of a long chain would otherwise
  // recurse once per node. The outermost destructor keeps a stack of doomed inputs; a node
  // destroyed while it drains them hands its own inputs to that stack instead of recursing.
  thread_local std::vector<NodePtr>* draining = nullptr;
  if (inputs_.empty()) return;
  if (draining) {
    inputs_.move_to(*draining);
    return;
  }
  std::vector<NodePtr> pending;
  inputs_.move_to(pending);
  draining = &pending;
  while (!pending.empty()) {
    NodePtr node = std::move(pending.back());
    pending.pop_back();
  }
  draining = nullptr;
}

template <class T>
const Shape& Node<T>::shape() const {
  static const Shape scalar_shape{};
  return tensors_ ? tensors_->value.shape() : scalar_shape;
}

template <class T>
void Node<T>::materialize() const {
  tensors_ = make_tensors(scalar_tensor(scalar_));
  if (has_grad_) tensors_->grad.emplace(scalar_tensor(scalar_grad_));
}

template <class T>
void Node<T>::materialize_number() const {
  inputs_.fill(static_cast<std::size_t>(number_slot_), make_node<T>(number_, false));
  number_slot_ = -1;
}

template <class T>
const std::string& Node<T>::name() const {
  static const std::string unnamed;
  return name_ ? *name_ : unnamed;
}

template <class T>
void Node<T>::set_name(std::string name) {
  if (name.empty()) {
    name_.reset();
  } else if (name_) {
    *name_ = std::move(name);
  } else {
    name_ = std::make_unique<std::string>(std::move(name));
  }
}

template <class T>
const BasicTensor<T>& Node<T>::grad() const {
  static const BasicTensor<T> none = BasicTensor<T>::from_shape({0});
  const Tensors& t = tensors();
  return t.grad ? *t.grad : none;
}

template <class T>
void Node<T>::accumulate_grad(BasicTensor<T>&& g, std::string_view op) {
  if (g.shape() != shape()) {
    throw std::invalid_argument(std::string(op) + ": gradient of shape " + shape_string(g.shape()) +
                                " does not match its input of shape " + shape_string(shape()));
  }
  if (!tensors_) return add_scalar_grad(g());
  Tensors& t = *tensors_;
  if (has_grad_) {
    xt::noalias(*t.grad) += g;
  } else if (t.grad) {
    *t.grad = std::move(g);
  } else {
    t.grad.emplace(std::move(g));
  }
  has_grad_ = true;
}

template <class T>
void Node<T>::require_unreleased() const {
  if (released_) {
    throw std::logic_error(std::string(op_) +
                           ": backward through a graph that was already freed; pass "
                           "retain_graph = true to the first backward to run it twice");
  }
}

template <class T>
GradList<T> Node<T>::apply_backward(const BasicTensor<T>& upstream) const {
  require_unreleased();
  if (scalar_rule_) {
    if (upstream.size() != 1) {
      throw std::logic_error(std::string(op_) + ": upstream gradient of shape " +
                             shape_string(upstream.shape()) + " for a single-number node");
    }
    T out[ScalarRule<T>::max_inputs];
    scalar_rule_->grads(*this, upstream.data()[0], out);
    GradList<T> grads;
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      grads.push_back(input_needs_grad(i) ? scalar_tensor(out[i])
                                          : BasicTensor<T>::from_shape({0}));
    }
    return grads;
  }
  GradList<T> grads = tensors().backward(*this, upstream);
  if (grads.size() != inputs_.size()) {
    throw std::logic_error(std::string(op_) + ": backward returned " +
                           std::to_string(grads.size()) + " gradients for " +
                           std::to_string(inputs_.size()) + " inputs");
  }
  return grads;
}

template <class T>
void Node<T>::release(std::vector<NodePtr>& graveyard) {
  if (!has_rule_) return;
  inputs_.move_to(graveyard);
  release_now();
}

template <class T>
void Node<T>::release_now() {
  if (!has_rule_) return;
  inputs_.clear();
  number_slot_ = -1;
  if (tensors_) tensors_->backward = nullptr;
  scalar_rule_ = nullptr;
  has_rule_ = false;
  released_ = true;
}

namespace {
[[noreturn]] void throw_not_differentiable(std::string_view op) {
  throw std::logic_error("create_graph: op '" + std::string(op) +
                         "' has no differentiable backward: its rule runs on tensors only (a "
                         "custom op from make_op, or an op whose rule is not written for Vars "
                         "yet); differentiate it once, without create_graph");
}
}  // namespace

template <class T>
VarGrads<T> Rule<T>::vars(const std::shared_ptr<Node<T>>& node, const BasicVar<T>&) const {
  throw_not_differentiable(node->op());
}

template <class T>
VarGrads<T> ScalarRule<T>::vars(const std::shared_ptr<Node<T>>& node, const BasicVar<T>&) const {
  throw_not_differentiable(node->op());
}

template class Rule<float>;
template class Rule<double>;
template class ScalarRule<float>;
template class ScalarRule<double>;
template class Node<float>;
template class Node<double>;

}  // namespace retrograd
