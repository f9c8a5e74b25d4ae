#include "retrograd/dot.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "retrograd/engine.hpp"

namespace retrograd {

namespace {
/// Escapes the characters that delimit fields in a Graphviz record label.
std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '{' || c == '}' || c == '|' || c == '<' || c == '>' || c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}
}  // namespace

template <class T>
std::string to_dot(const BasicVar<T>& root) {
  if (!root.defined()) throw std::invalid_argument("to_dot: empty Var");
  const std::vector<Node<T>*> order = topological_order(*root.node(), true);
  std::unordered_map<const Node<T>*, std::size_t> ids;
  std::ostringstream out;
  out << "digraph retrograd {\n  rankdir=LR;\n  node [shape=record, fontname=\"Helvetica\"];\n";
  for (const Node<T>* node : order) {
    const std::size_t id = ids.size();
    ids[node] = id;
    std::string title = node->name().empty() ? std::string() : node->name();
    if (!node->inputs().empty()) {
      title += title.empty() ? "" : " = ";
      title += node->op();
    }
    if (title.empty()) title = node->requires_grad() ? "leaf" : "constant";
    out << "  n" << id << " [label=\"{" << escape(title)
        << " | value " << escape(values_string(node->value()));
    if (node->has_grad()) out << " | grad " << escape(values_string(node->grad()));
    out << "}\"";
    if (!node->inputs().empty()) out << ", style=filled, fillcolor=\"#dbe9f6\"";
    out << "];\n";
  }
  for (const Node<T>* node : order) {
    for (const auto& input : node->inputs()) {
      out << "  n" << ids.at(input.get()) << " -> n" << ids.at(node) << ";\n";
    }
  }
  out << "}\n";
  return out.str();
}

template <class T>
void write_dot(const BasicVar<T>& root, const std::string& path) {
  std::ofstream file(path);
  if (!file) throw std::runtime_error("write_dot: cannot open '" + path + "' for writing");
  file << to_dot(root);
  if (!file) throw std::runtime_error("write_dot: failed writing '" + path + "'");
}

bool render_svg(const std::string& dot_path, const std::string& svg_path) {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) return false;
  const std::string command = "dot -Tsvg '" + dot_path + "' -o '" + svg_path + "'";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("render_svg: Graphviz failed to render '" + dot_path + "'");
  }
  return true;
}

template std::string to_dot(const Var&);
template std::string to_dot(const VarD&);
template void write_dot(const Var&, const std::string&);
template void write_dot(const VarD&, const std::string&);

}  // namespace retrograd
