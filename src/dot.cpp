#include "retrograd/dot.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>

namespace retrograd {

namespace {
/// Escapes text for a Graphviz HTML-like label.
std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// Quotes text as a DOT string (an ID or a plain label).
std::string quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

/// (input, gate, argument slot): one edge of the drawing.
using EdgeKey = std::tuple<std::size_t, std::size_t, std::size_t>;

/// The DOT text of a trace's graph, with the given gradient box per node ("" for none) and
/// the given label per edge (absent for none). Node and edge ids (node-3, edge-0-3-1) let the
/// interactive page find them in the SVG.
template <class T>
std::string dot_text(const Trace<T>& trace, const std::vector<std::string>& gradients,
                     const std::map<EdgeKey, std::string>& edge_labels) {
  const auto& nodes = trace.nodes();
  // Left to right, as the course draws gates; top to bottom when tensors make boxes wide.
  const bool wide =
      std::any_of(nodes.begin(), nodes.end(), [](const auto& node) { return node->size() > 1; });
  std::ostringstream out;
  out << "digraph retrograd {\n  rankdir=" << (wide ? "TB" : "LR") << ";\n  nodesep=0.3;\n"
      << "  node [shape=plain, fontname=\"Helvetica\", fontsize=12];\n"
      << "  edge [fontname=\"Helvetica\", fontsize=11, fontcolor=\"#c0392b\", "
         "color=\"#555555\"];\n";
  // DOT names nodes by id, and the SVG shows the id as a tooltip: use the trace's names,
  // made unique (two constants may both be "2").
  std::vector<std::string> ids;
  std::set<std::string> used;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    std::string id = trace.label(i);
    for (int k = 2; used.count(id); ++k) id = trace.label(i) + "#" + std::to_string(k);
    used.insert(id);
    ids.push_back(id);
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node<T>& node = *nodes[i];
    out << "  " << quote(ids[i]) << " [id=\"node-" << i << "\", label=<";
    if (Trace<T>::is_constant(node)) {
      out << "<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"3\" "
             "COLOR=\"#999999\"><TR><TD><FONT COLOR=\"#666666\">"
          << escape_html(trace.label(i)) << "</FONT></TD></TR></TABLE>>];\n";
      continue;
    }
    const std::string& expression = trace.expression(i);
    const std::string title =
        expression.empty() ? trace.label(i) : trace.label(i) + " = " + expression;
    const char* background = !expression.empty()    ? "#dbe9f6"
                             : node.requires_grad() ? "#fdf3dc"
                                                    : "#eeeeee";
    out << "<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"4\">"
        << "<TR><TD BGCOLOR=\"" << background << "\"><B>" << escape_html(title) << "</B></TD></TR>"
        << "<TR><TD><FONT COLOR=\"#1e7b34\">" << escape_html(detail::box_string(node.value()))
        << "</FONT></TD></TR>";
    if (!gradients[i].empty()) {
      out << "<TR><TD><FONT COLOR=\"#c0392b\">" << escape_html(gradients[i]) << "</FONT></TD></TR>";
    }
    out << "</TABLE>>];\n";
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& inputs = nodes[i]->inputs();
    for (std::size_t slot = 0; slot < inputs.size(); ++slot) {
      const std::size_t from = trace.index(*inputs[slot]);
      out << "  " << quote(ids[from]) << " -> " << quote(ids[i]) << " [id=\"edge-" << from << "-"
          << i << "-" << slot << "\"";
      auto label = edge_labels.find({from, i, slot});
      if (label != edge_labels.end()) out << ", label=" << quote(label->second);
      out << "];\n";
    }
  }
  out << "}\n";
  return out.str();
}

/// The gradient boxes and edge labels of a trace's backward pass; with `widest`, each box
/// holds the longest text it shows during the pass instead of its final one.
template <class T>
std::string trace_dot(const Trace<T>& trace, bool widest) {
  const std::size_t n = trace.nodes().size();
  std::vector<std::string> gradients(n);
  const std::size_t root = n - 1;
  if (trace.received(root) > 0) {
    gradients[root] = detail::gradient_box(trace, root, trace.gradient(root), 1);
  }
  std::map<EdgeKey, std::string> edge_labels;
  for (const auto& gate : trace.gates()) {
    for (const auto& edge : gate.edges) {
      edge_labels[{edge.input, gate.node, edge.slot}] = detail::box_string(edge.downstream);
      const std::string box = detail::gradient_box(trace, edge.input, edge.total, edge.path);
      std::string& shown = gradients[edge.input];
      if (!widest || box.size() >= shown.size()) shown = box;
    }
  }
  return dot_text(trace, gradients, edge_labels);
}
}  // namespace

namespace detail {
template <class T>
std::string box_string(const BasicTensor<T>& t) {
  constexpr std::size_t most = 12;
  if (t.size() == 1) return tensor_string(t);
  if (t.size() <= most) return tensor_string(t, most, 4);
  std::string shape;
  for (std::size_t a = 0; a < t.dimension(); ++a)
    shape += (a ? "x" : "") + std::to_string(t.shape()[a]);
  return "(" + shape + ") tensor";
}

template <class T>
std::string gradient_box(const Trace<T>& trace, std::size_t i, const BasicTensor<T>& total,
                         std::size_t path) {
  std::string text = trace.derivative_name(i) + " = " + box_string(total);
  const std::size_t paths = trace.paths(i);
  if (path < paths) text += " (" + std::to_string(path) + " of " + std::to_string(paths) + ")";
  return text;
}

template <class T>
std::string page_dot(const Trace<T>& trace) {
  return trace_dot(trace, /*widest=*/true);
}
}  // namespace detail

template <class T>
std::string to_dot(const BasicVar<T>& root) {
  if (!root.defined()) throw std::invalid_argument("to_dot: empty Var");
  const Trace<T> trace(root);
  std::vector<std::string> gradients;
  for (std::size_t i = 0; i < trace.nodes().size(); ++i) {
    const Node<T>& node = *trace.nodes()[i];
    gradients.push_back(node.has_grad() && !Trace<T>::is_constant(node)
                            ? trace.derivative_name(i) + " = " + detail::box_string(node.grad())
                            : "");
  }
  return dot_text(trace, gradients, {});
}

template <class T>
std::string to_dot(const Trace<T>& trace) {
  return trace_dot(trace, /*widest=*/false);
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

namespace {
/// A new empty file of ours in the temporary directory, removed with the object.
struct TemporaryFile {
  TemporaryFile() {
    std::string directory = std::filesystem::temp_directory_path().string();
    // The path goes into a shell command between single quotes.
    if (directory.find('\'') != std::string::npos) directory = "/tmp";
    path = directory + "/retrograd-XXXXXX";
    const int fd = mkstemp(path.data());
    if (fd < 0) throw std::runtime_error("cannot create a temporary file in " + directory);
    close(fd);
  }
  ~TemporaryFile() { std::remove(path.c_str()); }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  std::string path;
};
}  // namespace

std::string svg_from_dot(const std::string& dot) {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) {
    throw std::runtime_error(
        "svg_from_dot: Graphviz's 'dot' program is not installed (Debian: apt-get install "
        "graphviz)");
  }
  const TemporaryFile dot_file, svg_file;
  {
    std::ofstream out(dot_file.path, std::ios::binary);
    out << dot;
    if (!out) throw std::runtime_error("svg_from_dot: cannot write " + dot_file.path);
  }
  const std::string command = "dot -Tsvg '" + dot_file.path + "' -o '" + svg_file.path + "'";
  const int status = std::system(command.c_str());
  if (status != 0) {
    throw std::runtime_error("svg_from_dot: Graphviz's dot failed (status " +
                             std::to_string(status) + ")");
  }
  std::ifstream in(svg_file.path, std::ios::binary);
  std::ostringstream svg;
  svg << in.rdbuf();
  return svg.str();
}

template std::string to_dot(const Var&);
template std::string to_dot(const VarD&);
template std::string to_dot(const Trace<float>&);
template std::string to_dot(const Trace<double>&);
template void write_dot(const Var&, const std::string&);
template void write_dot(const VarD&, const std::string&);
namespace detail {
template std::string box_string(const Tensor&);
template std::string box_string(const TensorD&);
template std::string gradient_box(const Trace<float>&, std::size_t, const Tensor&, std::size_t);
template std::string gradient_box(const Trace<double>&, std::size_t, const TensorD&, std::size_t);
template std::string page_dot(const Trace<float>&);
template std::string page_dot(const Trace<double>&);
}  // namespace detail

}  // namespace retrograd
