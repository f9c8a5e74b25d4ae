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

std::uint32_t next_visit_mark() {
  static std::atomic<std::uint32_t> counter{0};
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
  const std::uint32_t mark = next_visit_mark();
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

namespace detail {

// Note [backward order]: a node's gradient is complete once every node that uses it has sent
// its share, and every user is higher than the node (Node::height). So backward pops the highest
// node from a heap, sends its inputs their shares and pushes each input the first time it is
// reached: one pass, no topological sort, and only the frontier is ever held (one or two nodes
// on a chain). Without retain_graph, a node is freed as soon as its shares are sent: the heap
// takes over its handles to its inputs, so memory is returned in the order the forward pass
// took it. Observers need to know in advance how many users each leaf has
// (on_gradient_ready), so with observers the engine sorts the graph first and walks that order.
template <class T>
class BackwardPass {
 public:
  BackwardPass(Node<T>& root, bool retain_graph)
      : root_(root),
        retain_graph_(retain_graph),
        check_anomalies_(anomaly_detection_enabled()),
        mark_(next_visit_mark()) {}

  void run(BasicTensor<T>&& seed) {
    if (!root_.is_leaf()) root_.zero_grad();
    root_.accumulate_grad(std::move(seed), "backward");
    if (watchers_.empty()) {
      run_highest_first();
    } else {
      run_observed();
    }
  }

 private:
  struct Entry {
    std::uint32_t height;
    Node<T>* node;
    // Owns the node while it waits, once the user that reached it has been freed.
    NodePtr<T> owner;
  };
  struct Lower {
    bool operator()(const Entry& a, const Entry& b) const { return a.height < b.height; }
  };

  void run_highest_first() {
    std::vector<Entry, BufferAllocator<Entry>> heap;
    heap.push_back({root_.height(), &root_, nullptr});
    while (!heap.empty()) {
      // A chain keeps one node waiting at a time: no heap call for it.
      if (heap.size() > 1) std::pop_heap(heap.begin(), heap.end(), Lower{});
      const Entry entry = std::move(heap.back());
      heap.pop_back();
      Node<T>& node = *entry.node;
      if (node.is_leaf()) continue;
      // Inputs reached for the first time: their gradient of an earlier pass is dropped before
      // this node adds its share, and they join the heap once the share is in.
      fresh_.clear();
      send_gradients(node, [&](std::size_t i) {
        Node<T>& input = *node.inputs_[i];
        if (input.is_leaf() || input.visit_mark == mark_) return;
        input.visit_mark = mark_;
        input.zero_grad();
        fresh_.push_back(i);
        // The input's own inputs are the next nodes this pass reads, scattered in memory.
        for (const auto& next : input.inputs_) __builtin_prefetch(next.get());
      });
      for (const std::size_t i : fresh_) {
        Node<T>* input = node.inputs_[i].get();
        heap.push_back({input->height(), input, retain_graph_ ? nullptr : node.inputs_.take(i)});
        if (heap.size() > 1) std::push_heap(heap.begin(), heap.end(), Lower{});
      }
      if (!retain_graph_) node.release_now();
    }
  }

  void run_observed() {
    std::vector<Node<T>*> order = topological_order(root_);
    for (Node<T>* node : order) {
      if (!node->is_leaf() && node != &root_) node->zero_grad();
    }
    for (BackwardObserver<T>* w : watchers_) w->on_backward_begin(root_);
    // How many nodes of this pass have yet to send each leaf its share. A leaf is ready when its
    // count reaches zero, long before the pass ends for the first layers'.
    std::unordered_map<const Node<T>*, std::size_t> pending;
    for (Node<T>* node : order) {
      if (node->is_leaf()) continue;
      for (const auto& input : node->inputs()) {
        if (input->is_leaf() && input->requires_grad()) ++pending[input.get()];
      }
    }
    if (root_.is_leaf()) {
      for (BackwardObserver<T>* w : watchers_) w->on_gradient_ready(root_);
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      Node<T>& node = **it;
      if (node.is_leaf()) continue;
      send_gradients(node, [](std::size_t) {});
      for (const auto& input : node.inputs()) {
        const auto found = pending.find(input.get());
        if (found == pending.end() || --found->second != 0) continue;
        for (BackwardObserver<T>* w : watchers_) w->on_gradient_ready(*input);
      }
    }
    for (BackwardObserver<T>* w : watchers_) w->on_backward_end(root_);
    if (!retain_graph_) {
      // Nothing may be destroyed while `order` still points at the nodes: collect the handles
      // first, destroy them after the loop.
      std::vector<NodePtr<T>> graveyard;
      for (Node<T>* node : order) node->release(graveyard);
    }
  }

  /// Runs `node`'s rule on its gradient (if one arrived) and adds each share to its input;
  /// `reached(i)` is called for every input i that takes part in backward, before its share.
  template <class Reached>
  void send_gradients(Node<T>& node, Reached&& reached) {
    check_versions(node);
    if (!node.has_grad()) {
      for_each_input_needing_grad(node, reached);
      return;
    }
    if (node.scalar_rule()) {
      // Note [scalar nodes]: numbers in, numbers out, no tensor built in the graph; observers
      // see them as 0-d tensors made for the step.
      T grads[ScalarRule<T>::max_inputs];
      node.scalar_rule()->grads(node, node.scalar_grad(), grads);
      if (!watchers_.empty()) show_scalar_step(node, grads);
      for_each_input_needing_grad(node, [&](std::size_t i) {
        reached(i);
        if (check_anomalies_) check_backward(node, i, grads[i]);
        node.inputs_[i]->accumulate_grad(grads[i], node.op_);
      });
      return;
    }
    GradList<T> grads = node.apply_backward(node.grad());
    for (BackwardObserver<T>* w : watchers_) w->on_step({node, node.grad(), grads});
    for_each_input_needing_grad(node, [&](std::size_t i) {
      reached(i);
      if (grads[i].size() == 0) return;
      if (check_anomalies_) check_backward(node, i, grads[i]);
      node.inputs_[i]->accumulate_grad(std::move(grads[i]), node.op());
    });
  }

  void show_scalar_step(const Node<T>& node, const T* grads) const {
    const BasicTensor<T> upstream = scalar_tensor(node.scalar_grad());
    GradList<T> downstream;
    for (std::size_t i = 0; i < node.inputs_.size(); ++i) {
      downstream.push_back(node.input_needs_grad(i) ? scalar_tensor(grads[i])
                                                    : BasicTensor<T>::from_shape({0}));
    }
    for (BackwardObserver<T>* w : watchers_) w->on_step({node, upstream, downstream});
  }

  // Note [saved versions]: a node's rule reads its inputs' values as they are at backward,
  // so an input changed in place after the node was made (x.value() = ..., an optimizer step)
  // would give a wrong gradient silently. Every change through Var::value() bumps the node's
  // version; each node keeps its inputs' versions from when it was made (InputList) and
  // backward refuses to run a node whose input has moved on, as PyTorch does. One comparison
  // per input, nothing allocated.
  static void check_versions(const Node<T>& node) {
    const InputList<T>& inputs = node.inputs_;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const Node<T>* input = inputs[i].get();
      if (input && input->version() != inputs.saved_version(i)) modified_input(node, i);
    }
  }

  [[noreturn]] static void modified_input(const Node<T>& node, std::size_t i) {
    const Node<T>& input = *node.inputs_[i];
    const std::string what =
        input.is_leaf()
            ? "leaf" + (input.name().empty() ? std::string() : " '" + input.name() + "'")
            : "the result of " + std::string(input.op()) +
                  (input.name().empty() ? "" : " '" + input.name() + "'");
    throw std::logic_error(
        "backward: input " + std::to_string(i) + " of " + std::string(node.op()) + " (" + what +
        ", shape " + shape_string(input.shape()) +
        ") was changed in place after the graph used it (version " +
        std::to_string(input.version()) + ", the graph saw version " +
        std::to_string(node.inputs_.saved_version(i)) +
        "); the gradient would be computed from the new value. Build the graph again after "
        "changing it, or change it after backward");
  }

  /// Reads the inputs without materialising numbers (Note [numbers in ops]): a number slot is
  /// empty and needs no gradient.
  template <class F>
  static void for_each_input_needing_grad(const Node<T>& node, F&& f) {
    for (std::size_t i = 0; i < node.inputs_.size(); ++i) {
      if (node.input_needs_grad(i)) f(i);
    }
  }

  Node<T>& root_;
  const std::vector<BackwardObserver<T>*>& watchers_ = observers<T>();
  std::vector<std::size_t, BufferAllocator<std::size_t>> fresh_;
  const bool retain_graph_;
  const bool check_anomalies_;
  const std::uint32_t mark_;
};

}  // namespace detail

template <class T>
void run_backward(Node<T>& root, BasicTensor<T> seed, bool retain_graph) {
  if (!root.requires_grad()) {
    throw std::logic_error(
        "backward: the output does not require a gradient (no input of its graph requires one, "
        "or it was computed under NoGradGuard)");
  }
  root.require_unreleased();
  detail::BackwardPass<T>(root, retain_graph).run(std::move(seed));
}

template class ObserverScope<float>;
template class ObserverScope<double>;
template std::vector<Node<float>*> topological_order(Node<float>&, bool);
template std::vector<Node<double>*> topological_order(Node<double>&, bool);
template void run_backward(Node<float>&, Tensor, bool);
template void run_backward(Node<double>&, TensorD, bool);

}  // namespace retrograd
