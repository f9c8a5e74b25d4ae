#pragma once
/// @file var.hpp
/// `BasicVar`: the handle users hold. Copying a Var copies the handle, not the value: two
/// copies name the same graph node, as Python names do in micrograd or PyTorch.

#include <memory>
#include <string>
#include <string_view>

#include "retrograd/node.hpp"
#include "retrograd/tensor.hpp"

namespace retrograd {

/// Pass as the second constructor argument to make a leaf that collects gradients:
/// `VarD x(-2.0, requires_grad, "x")`.
inline constexpr bool requires_grad = true;

/// Pass to backward to keep the graph (inputs and backward rules) so that backward can run
/// through it again: `loss.backward(retain_graph)`.
inline constexpr bool retain_graph = true;

/// A handle to a graph node holding a tensor of `T`.
template <class T>
class BasicVar {
 public:
  /// The element type.
  using value_type = T;
  /// Shared ownership of a graph node.
  using NodePtr = retrograd::NodePtr<T>;

  /// An empty handle; most operations on it throw.
  BasicVar() = default;
  /// A leaf holding `value`.
  explicit BasicVar(BasicTensor<T> value, bool requires_grad = false, std::string name = {})
      : node_(make_node<T>(std::move(value), requires_grad, std::move(name))) {}
  /// A scalar (0-d) leaf.
  explicit BasicVar(T value, bool requires_grad = false, std::string name = {})
      : node_(make_node<T>(value, requires_grad, std::move(name))) {}
  /// Wraps an existing node (ops and custom ops use this).
  explicit BasicVar(NodePtr node) : node_(std::move(node)) {}

  /// The forward value.
  const BasicTensor<T>& value() const { return checked().value(); }
  /// Mutable value, for in-place updates of parameters (outside any graph being recorded).
  /// Counts as a change: a graph built from the old value refuses to run backward (Note
  /// [saved versions] in src/engine.cpp). Read through a const Var to read without changing.
  BasicTensor<T>& value() {
    Node<T>& node = checked();
    node.bump_version();
    return node.value();
  }
  /// The accumulated gradient; throws std::logic_error naming the Var when none has arrived.
  const BasicTensor<T>& grad() const;
  /// The accumulated gradient, for changes in place between backward and the optimizer step
  /// (clipping, averaging over processes); throws like the const overload.
  BasicTensor<T>& grad();
  /// True once a backward pass has reached this Var.
  bool has_grad() const { return checked().has_grad(); }
  /// The value's shape.
  const Shape& shape() const { return checked().shape(); }
  /// The value's number of elements.
  std::size_t size() const { return checked().size(); }
  /// The single value of a one-element tensor; throws std::invalid_argument otherwise.
  T item() const;
  /// The gradient's single value (see item()).
  T grad_item() const;

  /// Whether backward computes a gradient for this Var.
  bool requires_grad() const { return checked().requires_grad(); }
  /// Turns gradient collection on or off for a leaf; throws std::logic_error on an op result.
  BasicVar& set_requires_grad(bool on);
  /// The name given with named() or the constructor (empty if none).
  const std::string& name() const { return checked().name(); }
  /// Names the node for traces and DOT; returns *this so it chains after an op.
  BasicVar& named(std::string name) {
    checked().set_name(std::move(name));
    return *this;
  }
  /// "leaf", or the name of the op that computed this Var.
  std::string_view op() const { return checked().op(); }

  /// Backpropagates from this Var. A one-element output is seeded with 1; any other output
  /// needs `backward(seed)`. Gradients add up in leaves until `zero_grad`.
  /// Without `keep_graph` the graph is freed afterwards (see retain_graph).
  void backward(bool keep_graph = false) const;
  /// Backpropagates with an explicit seed gradient dL/d(this) of this Var's shape.
  void backward(const BasicTensor<T>& seed, bool keep_graph = false) const;
  /// Clears the gradient: has_grad() is false and grad() throws until the next backward
  /// (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad() { checked().zero_grad(); }

  /// The node, for observers, DOT export and custom ops; null for an empty handle.
  const NodePtr& node() const { return node_; }
  /// False for a default-constructed (empty) handle.
  bool defined() const { return static_cast<bool>(node_); }

 private:
  Node<T>& checked() const;
  NodePtr node_;
};

/// Single-precision Var: training.
using Var = BasicVar<float>;
/// Double-precision Var: gradient checks and exact teaching examples.
using VarD = BasicVar<double>;

extern template class BasicVar<float>;
extern template class BasicVar<double>;

/// Prints a Var: its name, the op that made it (or "leaf"), whether it requires a gradient,
/// and its value as tensor_string() shows it, e.g. `Var(x, leaf, requires_grad, -2)`;
/// `Var(empty)` for an empty handle.
template <class T>
std::ostream& operator<<(std::ostream& out, const BasicVar<T>& v) {
  if (!v.defined()) return out << "Var(empty)";
  out << "Var(";
  if (!v.name().empty()) out << v.name() << ", ";
  out << v.op() << ", ";
  if (v.requires_grad()) out << "requires_grad, ";
  return out << tensor_string(v.value()) << ")";
}

}  // namespace retrograd
