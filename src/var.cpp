#include "retrograd/var.hpp"

#include <stdexcept>

#include "retrograd/engine.hpp"

namespace retrograd {

template <class T>
Node<T>& BasicVar<T>::checked() const {
  if (!node_) throw std::logic_error("Var: use of an empty (default-constructed) Var");
  return *node_;
}

namespace {
template <class T>
std::string describe(const Node<T>& node) {
  std::string what = node.name().empty() ? "Var" : "Var '" + node.name() + "'";
  if (!node.is_leaf() || node.released()) what += " (result of " + std::string(node.op()) + ")";
  return what;
}
}  // namespace

template <class T>
const BasicTensor<T>& BasicVar<T>::grad() const {
  const Node<T>& node = checked();
  if (!node.has_grad()) {
    throw std::logic_error(
        describe(node) + " has no gradient: " +
        (node.requires_grad() ? "run backward() first" : "it does not require one"));
  }
  return node.grad();
}

template <class T>
BasicTensor<T>& BasicVar<T>::grad() {
  // The node owns the tensor and is never const itself; the const accessor does the checks.
  return const_cast<BasicTensor<T>&>(static_cast<const BasicVar&>(*this).grad());
}

template <class T>
T BasicVar<T>::item() const {
  const Node<T>& node = checked();
  if (node.size() != 1) {
    throw std::invalid_argument("item: " + describe(node) + " has shape " +
                                shape_string(node.shape()) + ", not a single value");
  }
  return node.scalar();
}

template <class T>
T BasicVar<T>::grad_item() const {
  const BasicTensor<T>& g = grad();
  if (g.size() != 1) {
    throw std::invalid_argument("grad_item: gradient of " + describe(*node_) + " has shape " +
                                shape_string(g.shape()) + ", not a single value");
  }
  return g.data()[0];
}

template <class T>
BasicVar<T>& BasicVar<T>::set_requires_grad(bool on) {
  Node<T>& node = checked();
  if (node.op() != "leaf") {
    throw std::logic_error("set_requires_grad: " + describe(node) +
                           " is an op result; only leaves can change it");
  }
  node.set_requires_grad(on);
  return *this;
}

template <class T>
void BasicVar<T>::backward(bool keep_graph) const {
  Node<T>& node = checked();
  if (node.size() != 1) {
    throw std::invalid_argument("backward: " + describe(node) + " has shape " +
                                shape_string(node.shape()) +
                                "; a non-scalar output needs an explicit seed gradient, "
                                "backward(seed)");
  }
  run_backward(node, full<T>(node.shape(), T(1)), keep_graph);
}

template <class T>
void BasicVar<T>::backward(const BasicTensor<T>& seed, bool keep_graph) const {
  Node<T>& node = checked();
  if (seed.shape() != node.shape()) {
    throw std::invalid_argument("backward: seed gradient of shape " + shape_string(seed.shape()) +
                                " does not match " + describe(node) + " of shape " +
                                shape_string(node.shape()));
  }
  run_backward(node, BasicTensor<T>(seed), keep_graph);
}

template class BasicVar<float>;
template class BasicVar<double>;

}  // namespace retrograd
