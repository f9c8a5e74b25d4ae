#include "retrograd/node.hpp"

#include <stdexcept>

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
void Node<T>::accumulate_grad(BasicTensor<T>&& g, std::string_view op) {
  if (g.shape() != value_.shape()) {
    throw std::invalid_argument(std::string(op) + ": gradient of shape " + shape_string(g.shape()) +
                                " does not match its input of shape " +
                                shape_string(value_.shape()));
  }
  if (has_grad_) {
    xt::noalias(grad_) += g;
  } else {
    grad_ = std::move(g);
  }
  has_grad_ = true;
}

template <class T>
GradList<T> Node<T>::apply_backward(const BasicTensor<T>& upstream) const {
  if (released_) {
    throw std::logic_error(std::string(op_) + ": backward through a graph that was already freed; pass "
                                 "retain_graph = true to the first backward to run it twice");
  }
  GradList<T> grads = backward_(*this, upstream);
  if (grads.size() != inputs_.size()) {
    throw std::logic_error(std::string(op_) + ": backward returned " + std::to_string(grads.size()) +
                           " gradients for " + std::to_string(inputs_.size()) + " inputs");
  }
  return grads;
}

template <class T>
void Node<T>::release(std::vector<NodePtr>& graveyard) {
  if (!backward_) return;
  inputs_.move_to(graveyard);
  backward_ = nullptr;
  released_ = true;
}

template class Node<float>;
template class Node<double>;

}  // namespace retrograd
