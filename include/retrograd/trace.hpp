#pragma once
/// @file trace.hpp
/// The step-through tracer: the forward pass node by node, then every gate of the backward
/// pass as `upstream x local = downstream`, as a backprop course draws it on the board.
/// The text, the DOT drawing (dot.hpp) and the interactive page (html.hpp) all read one
/// Trace, so they call every node by the same name.

#include <iosfwd>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "retrograd/engine.hpp"
#include "retrograd/var.hpp"

namespace retrograd {

/// A backward observer that records the latest backward pass of one graph, gate by gate.
///
///     Trace<double> trace(f);
///     { ObserverScope<double> scope(trace); f.backward(); }
///     std::cout << trace.forward_text() << trace.backward_text();
///
/// Node names: a node's own name, a constant number's value, otherwise n1, n2, ... in
/// evaluation order.
template <class T>
class Trace : public BackwardObserver<T> {
 public:
  /// What one gate sent to one of its inputs.
  struct Edge {
    /// The input's position in nodes().
    std::size_t input;
    /// Which argument of the gate the input is (0 for the first).
    std::size_t slot;
    /// For an elementwise gate, d gate / d input as a formula of the node names ("z" for the
    /// first input of q * z); for any other gate, the formula of the gradient it sends
    /// ("upstream . W^T" for the first input of matmul).
    std::string rule;
    /// d gate / d input where it can be shown as numbers, else size 0: for a gate with a
    /// single-number output, or an elementwise gate whose input has the gate's shape. Then
    /// downstream = upstream x local, element by element.
    BasicTensor<T> local;
    /// The gradient the gate sent to the input.
    BasicTensor<T> downstream;
    /// The input's gradient collected from earlier paths (size 0 on its first path).
    BasicTensor<T> before;
    /// The input's gradient after this one arrived: before + downstream.
    BasicTensor<T> total;
    /// 1 for the first gradient the input receives in the pass, 2 for the second, ...
    std::size_t path;
  };

  /// One node the backward pass visited.
  struct Gate {
    /// The node's position in nodes().
    std::size_t node;
    /// d root / d node, summed over every path that reached it.
    BasicTensor<T> upstream;
    /// One entry per input that takes a gradient, in argument order.
    std::vector<Edge> edges;
  };

  /// Names every node of `root`'s graph and keeps the nodes alive, so the trace can still
  /// name them after a backward pass has freed the graph.
  explicit Trace(const BasicVar<T>& root);

  /// Every node of the graph in evaluation order (inputs before the nodes that use them),
  /// constants included; the root is last.
  const std::vector<NodePtr<T>>& nodes() const { return nodes_; }
  /// The position of a node in nodes(); throws std::out_of_range for a node of another graph.
  std::size_t index(const Node<T>& node) const;
  /// The name of a node in this trace ("?" for a node of another graph).
  std::string label(const Node<T>& node) const;
  /// The name of node `i`.
  const std::string& label(std::size_t i) const { return labels_.at(i); }
  /// True for an unnamed value that needs no gradient, such as the 2 of `x * 2`: named by its
  /// value and never listed as a step.
  static bool is_constant(const Node<T>& node);
  /// Node `i` as its op applied to its inputs' names: "x + y", "sigmoid(n1)"; "" for a leaf.
  const std::string& expression(std::size_t i) const { return expressions_.at(i); }
  /// The same with the inputs' values instead of their names, "-2 + 5", when every input is a
  /// single number; "" otherwise.
  const std::string& value_expression(std::size_t i) const { return value_expressions_.at(i); }
  /// How many gradients node `i` receives in a backward pass: one per use by a node that
  /// takes part in it. Above one, the node sums them (fan-in).
  std::size_t paths(std::size_t i) const { return paths_.at(i); }
  /// True for the ops that act element by element (add, mul, sigmoid, ...).
  static bool is_elementwise(const Node<T>& gate);

  /// The gates of the latest backward pass of the root, in the order it visited them.
  const std::vector<Gate>& gates() const { return gates_; }
  /// The forward pass: one line per node in evaluation order, e.g. "q = x + y = 3".
  std::string forward_text() const;
  /// The line forward_text shows for node `i` ("" for a constant).
  std::string forward_line(std::size_t i) const;
  /// The backward steps of the latest pass.
  std::string backward_text() const;
  /// The lines backward_text shows for gate `k` of gates().
  std::string gate_text(std::size_t k) const;
  /// How edge `e` of gate `k` got its gradient: "1 x -4 = -4" (upstream x local = downstream),
  /// or the gate's formula and the result ("x^T . upstream = [[1], [2]] (2x1)").
  std::string downstream_text(std::size_t k, std::size_t e) const;
  /// The sum at the input of edge `e` of gate `k`, when the input collects several gradients:
  /// "3 + -4 = -1 (path 2 of 2)"; "" for an input with a single path.
  std::string sum_text(std::size_t k, std::size_t e) const;
  /// d root / d leaf for every leaf that received a gradient in the latest pass, e.g.
  /// "df/dx = -4", with the number of paths summed where there are several.
  std::string gradients_text() const;
  /// d root / d node `i` as collected in the latest pass (size 0 when none arrived).
  const BasicTensor<T>& gradient(std::size_t i) const;
  /// How many gradients node `i` received in the latest pass (the root counts its seed).
  std::size_t received(std::size_t i) const { return received_.at(i); }
  /// "df/dx": d(root)/d(node i), written with the trace's names.
  std::string derivative_name(std::size_t i) const;

  /// Streams each gate's text (gate_text) to `out` as the backward pass visits it, under a
  /// "Backward pass" heading, instead of keeping it in gates(): memory then stays flat however
  /// long the pass (null: keep gates again).
  void stream_gates_to(std::ostream* out) {
    live_ = out;
    live_gates_ = 0;
  }

  /// Starts recording a pass of the root (passes of other graphs are ignored).
  void on_backward_begin(const Node<T>& root) override;
  /// Records one gate.
  void on_step(const BackwardStep<T>& step) override;

 private:
  BasicVar<T> root_;
  std::vector<NodePtr<T>> nodes_;
  std::unordered_map<const Node<T>*, std::size_t> index_;
  std::string rule(const Node<T>& gate, std::size_t slot) const;
  std::string gate_text(const Gate& gate) const;
  std::string downstream_text(const Gate& gate, std::size_t e) const;
  std::string sum_text(const Gate& gate, std::size_t e) const;
  std::ostream* live_ = nullptr;
  std::size_t live_gates_ = 0;
  std::string infix(const Node<T>& node, const std::vector<std::string>& operands) const;

  std::vector<std::string> labels_;
  std::vector<std::string> expressions_;
  std::vector<std::string> value_expressions_;
  std::vector<std::size_t> paths_;
  std::vector<Gate> gates_;
  // Per node, the gradient collected so far in the pass being recorded, and from how many paths.
  // A tensor costs 240 bytes empty, so only the nodes that received a gradient hold one.
  std::vector<std::unique_ptr<BasicTensor<T>>> collected_;
  std::vector<std::size_t> received_;
  bool recording_ = false;
};

/// Clears the gradients of `root`'s graph, then runs `root.backward()` under a new Trace and
/// returns it. The graph is kept (retain_graph) so that it can still be drawn afterwards,
/// gradients included. Because the gradients start from zero, running it twice shows, and
/// leaves in the leaves, the same gradients; to accumulate over several passes, call
/// backward() yourself under an ObserverScope.
template <class T>
Trace<T> traced_backward(const BasicVar<T>& root);

/// traced_backward(root) as text: the forward pass, the backward steps and the leaf gradients,
/// at most `max_chars` characters of it; past them the text is cut with a note that says how
/// much was left out.
template <class T>
std::string step_through(const BasicVar<T>& root, std::size_t max_chars = 64u << 20);

/// The same text written to `out` as it is made: the backward steps are streamed, not kept,
/// so a graph of any length traces in memory proportional to its nodes (about 1 KB each).
template <class T>
void step_through(const BasicVar<T>& root, std::ostream& out);

extern template class Trace<float>;
extern template class Trace<double>;

}  // namespace retrograd
