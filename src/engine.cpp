#include "retrograd/engine.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "anomaly_checks.hpp"

namespace retrograd {

namespace {
thread_local bool grad_mode = true;

template <class T>
std::vector<BackwardObserver<T>*>& observers() {
  thread_local std::vector<BackwardObserver<T>*> registered;
  return registered;
}

std::uint64_t next_visit_mark() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}
}  // namespace

bool grad_enabled() { return grad_mode; }

NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

template <class T>
ObserverScope<T>::ObserverScope(BackwardObserver<T>& observer) : observer_(&observer) {
  observers<T>().push_back(observer_);
}

template <class T>
ObserverScope<T>::~ObserverScope() {
  auto& list = observers<T>();
  list.erase(std::find(list.begin(), list.end(), observer_));
}

template <class T>
std::vector<Node<T>*> topological_order(Node<T>& root, bool include_constants) {
  // Depth-first post-order with an explicit stack of (node, next input to visit).
  const std::uint64_t mark = next_visit_mark();
  std::vector<Node<T>*> order;
  std::vector<std::pair<Node<T>*, std::size_t>> stack;
  root.visit_mark = mark;
  stack.emplace_back(&root, 0);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs().size()) {
      Node<T>* input = node->inputs()[next++].get();
      if (input->visit_mark != mark && (include_constants || input->requires_grad())) {
        input->visit_mark = mark;
        stack.emplace_back(input, 0);
      }
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

template <class T>
void run_backward(Node<T>& root, BasicTensor<T> seed, bool retain_graph) {
  if (!root.requires_grad()) {
    throw std::logic_error(
        "backward: the output does not require a gradient (no input of its graph requires one, "
        "or it was computed under NoGradGuard)");
  }
  root.require_unreleased();
  std::vector<Node<T>*> order = topological_order(root);
  // Interior gradients belong to this pass only; leaf gradients accumulate across passes.
  for (Node<T>* node : order) {
    if (!node->is_leaf()) node->zero_grad();
  }
  root.accumulate_grad(std::move(seed), "backward");

  // Anomaly mode (retrograd/anomaly.hpp) checks every gradient as it is handed to an input.
  const bool check_anomalies = anomaly_detection_enabled();
  auto& watchers = observers<T>();
  for (BackwardObserver<T>* w : watchers) w->on_backward_begin(root);
  // For observers: how many nodes of this pass have yet to send each leaf its share. A leaf
  // is ready when its count reaches zero, long before the pass ends for the first layers'.
  std::unordered_map<const Node<T>*, std::size_t> pending;
  if (!watchers.empty()) {
    for (Node<T>* node : order) {
      if (node->is_leaf()) continue;
      for (const auto& input : node->inputs()) {
        if (input->is_leaf() && input->requires_grad()) ++pending[input.get()];
      }
    }
    if (root.is_leaf()) {
      for (BackwardObserver<T>* w : watchers) w->on_gradient_ready(root);
    }
  }
  const auto announce_ready_inputs = [&](const Node<T>& node) {
    for (const auto& input : node.inputs()) {
      const auto found = pending.find(input.get());
      if (found == pending.end() || --found->second != 0) continue;
      for (BackwardObserver<T>* w : watchers) w->on_gradient_ready(*input);
    }
  };
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node<T>& node = **it;
    if (node.is_leaf()) continue;
    if (!node.has_grad()) {
      if (!pending.empty()) announce_ready_inputs(node);
      continue;
    }
    if (node.scalar_rule() && watchers.empty()) {
      // Note [scalar nodes]: numbers in, numbers out, no tensor built.
      T grads[ScalarRule<T>::max_inputs];
      node.scalar_rule()->grads(node, node.scalar_grad(), grads);
      for (std::size_t i = 0; i < node.inputs().size(); ++i) {
        Node<T>& input = *node.inputs()[i];
        if (!input.requires_grad()) continue;
        if (check_anomalies) detail::check_backward(node, i, grads[i]);
        input.accumulate_grad(grads[i], node.op());
      }
      continue;
    }
    GradList<T> grads = node.apply_backward(node.grad());
    for (BackwardObserver<T>* w : watchers) w->on_step({node, node.grad(), grads});
    for (std::size_t i = 0; i < grads.size(); ++i) {
      Node<T>& input = *node.inputs()[i];
      if (input.requires_grad() && grads[i].size() != 0) {
        if (check_anomalies) detail::check_backward(node, i, grads[i]);
        input.accumulate_grad(std::move(grads[i]), node.op());
      }
    }
    if (!pending.empty()) announce_ready_inputs(node);
  }
  for (BackwardObserver<T>* w : watchers) w->on_backward_end(root);

  if (!retain_graph) {
    // Nothing may be destroyed while `order` still points at the nodes: collect the handles
    // first, destroy them after the loop.
    std::vector<std::shared_ptr<Node<T>>> graveyard;
    for (Node<T>* node : order) node->release(graveyard);
  }
}

template class ObserverScope<float>;
template class ObserverScope<double>;
template std::vector<Node<float>*> topological_order(Node<float>&, bool);
template std::vector<Node<double>*> topological_order(Node<double>&, bool);
template void run_backward(Node<float>&, Tensor, bool);
template void run_backward(Node<double>&, TensorD, bool);

}  // namespace retrograd
