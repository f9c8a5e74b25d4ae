#include "retrograd/trace.hpp"

#include <algorithm>
#include <ostream>
#include <stdexcept>
#include <streambuf>

#include "retrograd/op_table.hpp"

namespace retrograd {

namespace {
/// "No tensor here": the size-0 tensor that the gradient lists use for the same purpose.
template <class T>
BasicTensor<T> no_tensor() {
  return BasicTensor<T>::from_shape({0});
}

/// A node's value as text, without building a scalar node's tensor (Note [scalar nodes]): a
/// trace of a long scalar chain stays small.
template <class T>
std::string value_text(const Node<T>& node) {
  return node.is_scalar() ? tensor_string(scalar_tensor<T>(node.scalar()))
                          : tensor_string(node.value());
}

/// A value inside a formula: negative numbers in parentheses, so that "3 * (-4)" reads right.
template <class T>
std::string operand(const Node<T>& node) {
  const std::string text = value_text(node);
  return !text.empty() && text[0] == '-' ? "(" + text + ")" : text;
}

/// A stream buffer that keeps the first `budget` characters of what is written to it and
/// counts the rest.
class BudgetBuffer : public std::streambuf {
 public:
  explicit BudgetBuffer(std::size_t budget) : budget_(budget) {}
  std::string text;
  std::size_t dropped = 0;

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const std::size_t room = budget_ - text.size();
    const std::size_t kept = std::min(room, static_cast<std::size_t>(n));
    text.append(s, kept);
    dropped += static_cast<std::size_t>(n) - kept;
    return n;
  }
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    xsputn(&ch, 1);
    return c;
  }

 private:
  std::size_t budget_;
};
}  // namespace

template <class T>
bool Trace<T>::is_constant(const Node<T>& node) {
  return node.is_leaf() && !node.requires_grad() && node.op() == "leaf" && node.name().empty();
}

template <class T>
bool Trace<T>::is_elementwise(const Node<T>& gate) {
  const OpRow* row = find_op(gate.op());
  return row && row->elementwise;
}

template <class T>
Trace<T>::Trace(const BasicVar<T>& root) : root_(root) {
  if (!root.defined()) throw std::invalid_argument("Trace: empty Var");
  std::unordered_map<const Node<T>*, NodePtr<T>> owners = {{root.node().get(), root.node()}};
  const std::vector<Node<T>*> order = topological_order(*root.node(), /*include_constants=*/true);
  for (Node<T>* node : order) {
    for (const auto& input : node->inputs()) owners.emplace(input.get(), input);
  }
  for (Node<T>* node : order) {
    index_[node] = nodes_.size();
    nodes_.push_back(owners.at(node));
  }
  int unnamed = 0, constants = 0;
  for (const auto& node : nodes_) {
    if (!node->name().empty()) {
      labels_.push_back(node->name());
    } else if (is_constant(*node)) {
      labels_.push_back(
          node->size() == 1
              ? values_string(node->is_scalar() ? scalar_tensor<T>(node->scalar()) : node->value())
              : "c" + std::to_string(++constants));
    } else {
      labels_.push_back("n" + std::to_string(++unnamed));
    }
  }
  for (const auto& node : nodes_) {
    std::vector<std::string> names, values;
    bool single_numbers = !node->inputs().empty();
    for (const auto& input : node->inputs()) {
      names.push_back(label(*input));
      values.push_back(operand(*input));
      single_numbers = single_numbers && input->size() == 1;
    }
    expressions_.push_back(node->inputs().empty() ? "" : infix(*node, names));
    value_expressions_.push_back(single_numbers ? infix(*node, values) : "");
  }
  collected_.resize(nodes_.size());
  received_.assign(nodes_.size(), 0);
  paths_.assign(nodes_.size(), 0);
  for (Node<T>* node : topological_order(*root.node())) {
    if (node->is_leaf()) continue;
    for (const auto& input : node->inputs()) {
      if (input->requires_grad()) ++paths_[index(*input)];
    }
  }
}

template <class T>
const BasicTensor<T>& Trace<T>::gradient(std::size_t i) const {
  static const BasicTensor<T> nothing = no_tensor<T>();
  const std::unique_ptr<BasicTensor<T>>& collected = collected_.at(i);
  return collected ? *collected : nothing;
}

template <class T>
std::size_t Trace<T>::index(const Node<T>& node) const {
  auto it = index_.find(&node);
  if (it == index_.end()) throw std::out_of_range("Trace: the node is not in the traced graph");
  return it->second;
}

template <class T>
std::string Trace<T>::label(const Node<T>& node) const {
  auto it = index_.find(&node);
  return it == index_.end() ? "?" : labels_[it->second];
}

template <class T>
std::string Trace<T>::infix(const Node<T>& node, const std::vector<std::string>& operands) const {
  const OpRow* row = find_op(node.op());
  const OpSyntax syntax = row ? row->syntax : OpSyntax{};
  if (syntax.kind == OpSyntax::Kind::infix && operands.size() == 2) {
    // A power reads tight, x^2; the others spaced, x + y.
    const std::string gap = syntax.right_associative ? "" : " ";
    return operands[0] + gap + syntax.symbol + gap + operands[1];
  }
  if (syntax.kind == OpSyntax::Kind::prefix && operands.size() == 1) {
    return syntax.symbol + operands[0];
  }
  std::string text = std::string(node.op()) + "(";
  for (std::size_t i = 0; i < operands.size(); ++i) text += (i ? ", " : "") + operands[i];
  return text + ")";
}

template <class T>
std::string Trace<T>::derivative_name(std::size_t i) const {
  return "d" + labels_.back() + "/d" + labels_.at(i);
}

template <class T>
std::string Trace<T>::rule(const Node<T>& gate, std::size_t slot) const {
  const OpRow* row = find_op(gate.op());
  if (!row) return "the backward rule of " + std::string(gate.op());
  std::vector<std::string> inputs;
  for (const auto& input : gate.inputs()) inputs.push_back(input ? label(*input) : "?");
  const std::string& formula = row->backward.at(row->arity < 0 ? 0 : slot);
  return fill_formula(formula, inputs, label(gate), "upstream");
}

template <class T>
void Trace<T>::on_backward_begin(const Node<T>& root) {
  recording_ = &root == root_.node().get();
  if (!recording_) return;
  gates_.clear();
  collected_.clear();
  collected_.resize(nodes_.size());
  received_.assign(nodes_.size(), 0);
  collected_.back() = std::make_unique<BasicTensor<T>>(root.grad());
  received_.back() = 1;
}

template <class T>
void Trace<T>::on_step(const BackwardStep<T>& step) {
  if (!recording_ || index_.count(&step.node) == 0) return;
  const Node<T>& node = step.node;
  Gate gate{index(node), step.upstream, {}};
  // The backward rule is linear in the upstream gradient: applied to ones it gives the local
  // gradient, exactly for a one-element output and elementwise for an elementwise gate.
  const bool one_output = step.upstream.size() == 1;
  GradList<T> local;
  if (one_output || is_elementwise(node)) {
    local = node.apply_backward(full<T>(step.upstream.shape(), T(1)));
  }
  for (std::size_t slot = 0; slot < step.downstream.size(); ++slot) {
    if (step.downstream[slot].size() == 0) continue;
    const Node<T>& input = *node.inputs()[slot];
    const std::size_t i = index(input);
    const bool shown = !local.empty() && (one_output || input.shape() == node.shape());
    Edge edge{i,
              slot,
              rule(node, slot),
              shown ? local[slot] : no_tensor<T>(),
              step.downstream[slot],
              gradient(i),
              no_tensor<T>(),
              ++received_[i]};
    edge.total =
        edge.before.size() == 0 ? edge.downstream : BasicTensor<T>(edge.before + edge.downstream);
    // Streaming keeps a running sum only where one is read again: at a node with several
    // paths (the next sum) and at a leaf (gradients_text).
    if (!live_ || paths_[i] > 1 || input.is_leaf()) {
      if (collected_[i]) {
        *collected_[i] = edge.total;
      } else {
        collected_[i] = std::make_unique<BasicTensor<T>>(edge.total);
      }
    }
    gate.edges.push_back(std::move(edge));
  }
  if (live_) {
    if (live_gates_++ == 0) *live_ << "Backward pass (downstream = upstream x local):\n";
    *live_ << gate_text(gate);
  } else {
    gates_.push_back(std::move(gate));
  }
}

template <class T>
std::string Trace<T>::forward_line(std::size_t i) const {
  const Node<T>& node = *nodes_.at(i);
  if (is_constant(node)) return "";
  std::string line = labels_[i] + " = ";
  if (!expressions_[i].empty()) line += expressions_[i] + " = ";
  return line + value_text(node);
}

template <class T>
std::string Trace<T>::forward_text() const {
  std::string text = "Forward pass:\n";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const std::string line = forward_line(i);
    if (!line.empty()) text += "  " + line + "\n";
  }
  return text;
}

template <class T>
std::string Trace<T>::downstream_text(std::size_t k, std::size_t e) const {
  return downstream_text(gates_.at(k), e);
}

template <class T>
std::string Trace<T>::downstream_text(const Gate& gate, std::size_t e) const {
  const Edge& edge = gate.edges.at(e);
  std::string text;
  if (edge.local.size() != 0) {
    text = tensor_string(gate.upstream) + " x " + tensor_string(edge.local);
  } else if (is_elementwise(*nodes_[gate.node])) {
    text = "upstream x " + edge.rule + ", summed to " + shape_string(nodes_[edge.input]->shape());
  } else {
    text = edge.rule;
  }
  return text + " = " + tensor_string(edge.downstream);
}

template <class T>
std::string Trace<T>::sum_text(std::size_t k, std::size_t e) const {
  return sum_text(gates_.at(k), e);
}

template <class T>
std::string Trace<T>::sum_text(const Gate& gate, std::size_t e) const {
  const Edge& edge = gate.edges.at(e);
  const std::size_t n = paths_[edge.input];
  if (n < 2) return "";
  std::string text;
  if (edge.before.size() != 0) {
    text = tensor_string(edge.before) + " + " + tensor_string(edge.downstream) + " = ";
  }
  return text + tensor_string(edge.total) + " (path " + std::to_string(edge.path) + " of " +
         std::to_string(n) + ")";
}

template <class T>
std::string Trace<T>::gate_text(std::size_t k) const {
  return gate_text(gates_.at(k));
}

template <class T>
std::string Trace<T>::gate_text(const Gate& gate) const {
  std::string text = "  " + labels_[gate.node] + " = " + expressions_[gate.node] + "    upstream " +
                     derivative_name(gate.node) + " = " + tensor_string(gate.upstream) + "\n";
  for (std::size_t e = 0; e < gate.edges.size(); ++e) {
    const std::string& input = labels_[gate.edges[e].input];
    text += "    to " + input + ": " + downstream_text(gate, e);
    const std::string sum = sum_text(gate, e);
    if (!sum.empty()) text += "    sum at " + input + ": " + sum;
    text += "\n";
  }
  return text;
}

template <class T>
std::string Trace<T>::backward_text() const {
  if (gates_.empty()) return "";
  std::string text = "Backward pass (downstream = upstream x local):\n";
  for (std::size_t k = 0; k < gates_.size(); ++k) text += gate_text(k);
  return text;
}

template <class T>
std::string Trace<T>::gradients_text() const {
  std::string text = "Gradients:\n";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node<T>& node = *nodes_[i];
    if (!node.is_leaf() || !node.requires_grad() || received_[i] == 0) {
      continue;
    }
    text += "  " + derivative_name(i) + " = " + tensor_string(gradient(i));
    if (received_[i] > 1) text += " (sum of " + std::to_string(received_[i]) + " paths)";
    text += "\n";
  }
  return text;
}

template <class T>
Trace<T> traced_backward(const BasicVar<T>& root) {
  Trace<T> trace(root);
  if (root.requires_grad()) {
    for (Node<T>* node : topological_order(*root.node())) node->zero_grad();
  }
  {
    ObserverScope<T> scope(trace);
    root.backward(retain_graph);
  }
  return trace;
}

template <class T>
void step_through(const BasicVar<T>& root, std::ostream& out) {
  Trace<T> trace(root);
  for (std::size_t i = 0; i < trace.nodes().size(); ++i) {
    const std::string line = trace.forward_line(i);
    if (i == 0) out << "Forward pass:\n";
    if (!line.empty()) out << "  " << line << "\n";
  }
  if (root.requires_grad()) {
    for (Node<T>* node : topological_order(*root.node())) node->zero_grad();
    trace.stream_gates_to(&out);
    {
      ObserverScope<T> scope(trace);
      root.backward(retain_graph);
    }
  }
  out << trace.gradients_text();
}

template <class T>
std::string step_through(const BasicVar<T>& root, std::size_t max_chars) {
  BudgetBuffer buffer(max_chars);
  std::ostream out(&buffer);
  step_through(root, out);
  if (buffer.dropped > 0) {
    buffer.text += "\n... (cut: " + std::to_string(buffer.dropped) +
                   " more characters past the budget of " + std::to_string(max_chars) +
                   "; step_through(root, stream) writes all of it)\n";
  }
  return std::move(buffer.text);
}

template class Trace<float>;
template class Trace<double>;
template Trace<float> traced_backward(const Var&);
template Trace<double> traced_backward(const VarD&);
template std::string step_through(const Var&, std::size_t);
template std::string step_through(const VarD&, std::size_t);
template void step_through(const Var&, std::ostream&);
template void step_through(const VarD&, std::ostream&);

}  // namespace retrograd
