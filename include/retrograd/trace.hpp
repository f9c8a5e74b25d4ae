#pragma once
/// @file trace.hpp
/// The step-through tracer: the forward pass node by node, then every gate of the backward
/// pass as `upstream x local = downstream`, as a backprop course draws it on the board.

#include <string>
#include <unordered_map>

#include "retrograd/engine.hpp"
#include "retrograd/var.hpp"

namespace retrograd {

/// A backward observer that records the steps of the backward passes it sees.
///
///     Trace<double> trace(f);
///     { ObserverScope<double> scope(trace); f.backward(); }
///     std::cout << trace.forward_text() << trace.backward_text();
template <class T>
class Trace : public BackwardObserver<T> {
 public:
  /// Labels every node of `root`'s graph (its name, or n1, n2, ... in evaluation order) and
  /// records the forward pass. The trace keeps the nodes alive, so it can still name them
  /// after a backward pass has freed the graph.
  explicit Trace(const BasicVar<T>& root);

  /// The forward pass: one line per node in evaluation order, e.g. "q = x + y = 3".
  std::string forward_text() const { return forward_; }
  /// The backward steps recorded so far.
  std::string backward_text() const { return backward_; }
  /// d root / d leaf for every leaf that received a gradient, e.g. "df/dx = -4".
  std::string gradients_text() const;
  /// The label of a node in this trace.
  std::string label(const Node<T>& node) const;

  void on_step(const BackwardStep<T>& step) override;

 private:
  std::string expression(const Node<T>& node) const;
  BasicVar<T> root_;
  std::vector<std::shared_ptr<Node<T>>> order_;
  std::string forward_;
  std::unordered_map<const Node<T>*, std::string> labels_;
  std::string backward_;
};

/// Runs `root.backward()` under a Trace and returns the forward pass, the backward steps and
/// the leaf gradients as one text. The graph is kept (retain_graph) so that it can still be
/// drawn with to_dot afterwards, gradients included.
template <class T>
std::string step_through(const BasicVar<T>& root);

extern template class Trace<float>;
extern template class Trace<double>;

}  // namespace retrograd
