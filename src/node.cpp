#include "retrograd/node.hpp"

#include <stdexcept>

#include "xtensor_math.hpp"

namespace retrograd {

template <class T>
Node<T>::~Node() {
  // Note [iterative destruction]: releasing the last handle of a long chain would otherwise
  // recurse once per node. Inputs whose last owner is this chain are emptied before they die.
  std::vector<NodePtr> pending = std::move(inputs_);
  while (!pending.empty()) {
    NodePtr node = std::move(pending.back());
    pending.pop_back();
    if (node && node.use_count() == 1) {
      for (NodePtr& input : node->inputs_) pending.push_back(std::move(input));
      node->inputs_.clear();
    }
  }
}

template <class T>
void Node<T>::accumulate_grad(BasicTensor<T>&& g, const std::string& op) {
  if (g.shape() != value_.shape()) {
    throw std::invalid_argument(op + ": gradient of shape " + shape_string(g.shape()) +
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
    throw std::logic_error(op_ + ": backward through a graph that was already freed; pass "
                                 "retain_graph = true to the first backward to run it twice");
  }
  GradList<T> grads = backward_(*this, upstream);
  if (grads.size() != inputs_.size()) {
    throw std::logic_error(op_ + ": backward returned " + std::to_string(grads.size()) +
                           " gradients for " + std::to_string(inputs_.size()) + " inputs");
  }
  return grads;
}

template <class T>
void Node<T>::release(std::vector<NodePtr>& graveyard) {
  if (!backward_) return;
  for (NodePtr& input : inputs_) graveyard.push_back(std::move(input));
  inputs_.clear();
  backward_ = nullptr;
  released_ = true;
}

template class Node<float>;
template class Node<double>;

}  // namespace retrograd
