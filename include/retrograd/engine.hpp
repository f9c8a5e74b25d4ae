#pragma once
/// @file engine.hpp
/// The backward engine, grad mode, and backward observers.

#include <vector>

#include "retrograd/node.hpp"
#include "retrograd/tensor.hpp"

namespace retrograd {

/// True unless a NoGradGuard is alive on this thread.
bool grad_enabled();

/// While alive, ops record no graph: results are constants (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// What an observer sees for one node the backward pass visits.
template <class T>
struct BackwardStep {
  /// The node: its op, name, output value, and inputs (with their values).
  const Node<T>& node;
  /// dL/d(node output).
  const BasicTensor<T>& upstream;
  /// dL/d(input i) sent by this node (empty where an input needs none).
  const GradList<T>& downstream;
};

/// Sees every step of every backward pass on this thread while registered with an
/// ObserverScope. Tracers, per-layer gradient statistics and debuggers implement it.
template <class T>
class BackwardObserver {
 public:
  virtual ~BackwardObserver() = default;
  /// Called once per backward pass before the first step, with the output being differentiated.
  virtual void on_backward_begin(const Node<T>& /*root*/) {}
  /// Called for each node, in backward order, after its gradients are computed.
  virtual void on_step(const BackwardStep<T>& step) = 0;
  /// Called as soon as a leaf's gradient is complete for this pass: every node of the pass that
  /// uses the leaf has added its share, while backward goes on through the rest of the graph
  /// (data-parallel training starts sending a parameter's gradient here). Once per leaf that
  /// requires a gradient, after the step of its last user.
  virtual void on_gradient_ready(const Node<T>& /*leaf*/) {}
  /// Called once the pass has finished.
  virtual void on_backward_end(const Node<T>& /*root*/) {}
};

/// Registers an observer for the lifetime of the scope (on this thread).
template <class T>
class ObserverScope {
 public:
  /// Registers `observer` until the scope ends.
  explicit ObserverScope(BackwardObserver<T>& observer);
  ~ObserverScope();
  ObserverScope(const ObserverScope&) = delete;
  ObserverScope& operator=(const ObserverScope&) = delete;

 private:
  BackwardObserver<T>* observer_;
};

/// Every node `root` depends on, inputs before the nodes that use them, `root` last.
/// By default only nodes that take part in backward (require a gradient); with
/// `include_constants`, constants too (traces and drawings show them).
/// Iterative: depth is bounded by memory, not by the call stack.
template <class T>
std::vector<Node<T>*> topological_order(Node<T>& root, bool include_constants = false);

/// Backpropagates `seed` (dL/d root) through the graph of `root`. Interior gradients are
/// recomputed by every pass; leaf gradients accumulate. Without retain_graph, the graph's
/// inputs and rules are freed afterwards.
template <class T>
void run_backward(Node<T>& root, BasicTensor<T> seed, bool retain_graph);

}  // namespace retrograd
