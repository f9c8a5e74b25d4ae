#include "retrograd/trace.hpp"

#include <map>

namespace retrograd {

namespace {
const std::map<std::string, std::string, std::less<>>& infix_symbols() {
  static const std::map<std::string, std::string, std::less<>> symbols = {
      {"add", " + "}, {"sub", " - "}, {"mul", " * "}, {"div", " / "}};
  return symbols;
}

/// A plain number that met a Var (the 2 of `x * 2`): shown by its value, not listed.
template <class T>
bool is_constant_leaf(const Node<T>& n) {
  return n.is_leaf() && !n.requires_grad() && n.op() == "leaf";
}
}  // namespace

template <class T>
Trace<T>::Trace(const BasicVar<T>& root) : root_(root) {
  if (!root.defined()) throw std::invalid_argument("Trace: empty Var");
  std::unordered_map<const Node<T>*, std::shared_ptr<Node<T>>> owners = {{root.node().get(), root.node()}};
  const std::vector<Node<T>*> order = topological_order(*root.node(), /*include_constants=*/true);
  for (Node<T>* node : order) {
    for (const auto& input : node->inputs()) owners.emplace(input.get(), input);
  }
  for (Node<T>* node : order) order_.push_back(owners.at(node));
  int unnamed = 0;
  for (const auto& node : order_) {
    if (!node->name().empty()) {
      labels_[node.get()] = node->name();
    } else if (is_constant_leaf(*node)) {
      labels_[node.get()] = values_string(node->value(), 4);
    } else {
      labels_[node.get()] = "n" + std::to_string(++unnamed);
    }
  }
  forward_ = "Forward pass:\n";
  for (const auto& node : order_) {
    if (is_constant_leaf(*node)) continue;
    forward_ += "  " + label(*node) + " = ";
    if (!node->inputs().empty()) forward_ += expression(*node) + " = ";
    forward_ += values_string(node->value()) + "\n";
  }
}

template <class T>
std::string Trace<T>::label(const Node<T>& node) const {
  auto it = labels_.find(&node);
  return it == labels_.end() ? "?" : it->second;
}

template <class T>
std::string Trace<T>::expression(const Node<T>& node) const {
  const auto& in = node.inputs();
  auto symbol = infix_symbols().find(node.op());
  if (symbol != infix_symbols().end() && in.size() == 2) {
    return label(*in[0]) + symbol->second + label(*in[1]);
  }
  if (node.op() == "neg" && in.size() == 1) return "-" + label(*in[0]);
  std::string text = std::string(node.op()) + "(";
  for (std::size_t i = 0; i < in.size(); ++i) text += (i ? ", " : "") + label(*in[i]);
  return text + ")";
}

template <class T>
void Trace<T>::on_step(const BackwardStep<T>& step) {
  const Node<T>& node = step.node;
  if (backward_.empty()) backward_ = "Backward pass (downstream = upstream x local):\n";
  const std::string d = "d" + label(*root_.node()) + "/d";
  backward_ += "  " + label(node) + " = " + expression(node) + "    upstream " + d +
               label(node) + " = " + values_string(step.upstream) + "\n";
  // For a scalar output the local gradient is the backward rule applied to an upstream of 1.
  GradList<T> local;
  if (step.upstream.size() == 1) local = node.apply_backward(full<T>(step.upstream.shape(), T(1)));
  for (std::size_t i = 0; i < step.downstream.size(); ++i) {
    if (step.downstream[i].size() == 0) continue;
    backward_ += "    to " + label(*node.inputs()[i]) + ": ";
    if (!local.empty()) {
      backward_ += values_string(step.upstream) + " x " + values_string(local[i]) + " = ";
    }
    backward_ += values_string(step.downstream[i]) + "\n";
  }
}

template <class T>
std::string Trace<T>::gradients_text() const {
  std::string text = "Gradients:\n";
  const std::string d = "d" + label(*root_.node()) + "/d";
  for (const auto& node : order_) {
    if (node->is_leaf() && node->requires_grad() && node->has_grad()) {
      text += "  " + d + label(*node) + " = " + values_string(node->grad()) + "\n";
    }
  }
  return text;
}

template <class T>
std::string step_through(const BasicVar<T>& root) {
  Trace<T> trace(root);
  {
    ObserverScope<T> scope(trace);
    root.backward(retain_graph);
  }
  return trace.forward_text() + trace.backward_text() + trace.gradients_text();
}

template class Trace<float>;
template class Trace<double>;
template std::string step_through(const Var&);
template std::string step_through(const VarD&);

}  // namespace retrograd
