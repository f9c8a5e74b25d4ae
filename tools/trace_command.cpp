// retrograd trace "(x + y) * z" x=-2 y=5 z=-4 [--dot graph.svg] [--html page.html]
//   [--derivative x]

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <retrograd/dot.hpp>
#include <retrograd/engine.hpp>
#include <retrograd/grad.hpp>
#include <retrograd/html.hpp>
#include <retrograd/trace.hpp>

#include "commands.hpp"
#include "expression.hpp"

namespace retrograd::cli {

namespace {
struct TraceArgs {
  std::string expression;
  std::vector<std::string> assignments;
  std::string dot_path;
  std::string html_path;
  std::string derivative;
};

/// d f / d `name` as a graph of its own (grad with create_graph), named "df/dNAME", whose
/// backward pass gives the second derivatives d^2 f / dNAME dv.
VarD derivative_of(const VarD& f, const std::string& name) {
  std::vector<NodePtr<double>> todo{f.node()};
  NodePtr<double> variable;
  while (!todo.empty() && !variable) {
    const NodePtr<double> node = todo.back();
    todo.pop_back();
    if (node->is_leaf() && node->name() == name) variable = node;
    for (const auto& input : node->inputs()) todo.push_back(input);
  }
  if (!variable) {
    throw UsageError("trace: --derivative " + name + ": the expression has no variable " + name);
  }
  const VarD d = grad(f, {VarD(variable)}, {/*create_graph=*/true})[0];
  if (!d.requires_grad()) {
    throw UsageError("trace: --derivative " + name + ": df/d" + name + " = " +
                     values_string(d.value()) + " is a constant, with no graph to step through");
  }
  return VarD(d).named("df/d" + name);
}

/// The lower-case extension of `path` ("png" for g.PNG), or "" without one.
std::string extension_of(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (!ext.empty()) ext.erase(0, 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

/// --dot FILE: DOT text for .dot and .gv; any other extension is a format Graphviz's `dot`
/// must be able to write (-T<ext>), checked before anything is computed.
void check_graph_path(const std::string& path) {
  const std::string ext = extension_of(path);
  if (ext == "dot" || ext == "gv") return;
  if (ext.empty() || !std::all_of(ext.begin(), ext.end(), [](char c) { return std::isalnum(c); })) {
    throw UsageError("trace: --dot " + path +
                     ": give the file an extension: .dot for DOT text, or a format Graphviz "
                     "writes (.svg, .png, .pdf, ...)");
  }
  if (std::system("command -v dot >/dev/null 2>&1") != 0) {
    throw UsageError("trace: --dot " + path + ": rendering ." + ext +
                     " needs Graphviz's 'dot' program (Debian: apt-get install graphviz); "
                     "--dot FILE.dot writes DOT text without it");
  }
  const std::string probe = "dot -T" + ext + " </dev/null >/dev/null 2>&1";
  if (std::system(probe.c_str()) != 0) {
    throw UsageError("trace: --dot " + path + ": Graphviz cannot write ." + ext +
                     " files (see dot -T? for its formats; .dot writes DOT text)");
  }
}

void write_graph(const Trace<double>& trace, const std::string& path) {
  const std::string ext = extension_of(path);
  const std::string dot = to_dot(trace);
  if (ext == "dot" || ext == "gv") {
    std::ofstream file(path);
    if (!file) throw std::runtime_error("trace: cannot open '" + path + "' for writing");
    file << dot;
    if (!file.flush()) throw std::runtime_error("trace: failed writing '" + path + "'");
  } else {
    // dot reads the graph from a pipe and writes the file itself.
    if (path.find('\'') != std::string::npos) {
      throw UsageError("trace: --dot " + path + ": a path with a single quote cannot be rendered");
    }
    const std::string command = "dot -T" + ext + " -o '" + path + "'";
    FILE* pipe = popen(command.c_str(), "w");
    if (!pipe) throw std::runtime_error("trace: cannot start Graphviz's dot");
    const bool written = std::fwrite(dot.data(), 1, dot.size(), pipe) == dot.size();
    if (pclose(pipe) != 0 || !written) {
      throw std::runtime_error("trace: Graphviz failed to write '" + path + "'");
    }
  }
  std::cout << "graph: " << path << "\n";
}

// Note [trace: finite numbers only]: trace shows a student every number of a pass, so every
// number must be finite. One rule covers them all: a value given on the command line, a number
// written in the expression, the forward value of every node and every gradient of the
// backward pass. The first that is not finite is an error naming it (and the op and inputs
// that made it); so are the ops' own domain errors (log(-1), x/0).

/// Throws for a number in `source` beyond double's range (1e309): the parser reads it as inf.
void check_literals(const std::string& source) {
  std::size_t i = 0;
  while (i < source.size()) {
    const unsigned char c = static_cast<unsigned char>(source[i]);
    if (std::isalpha(c) || c == '_') {  // a name, whose digits are not a number
      while (i < source.size() &&
             (std::isalnum(static_cast<unsigned char>(source[i])) || source[i] == '_')) {
        ++i;
      }
    } else if (std::isdigit(c) || c == '.') {
      char* end = nullptr;
      const double value = std::strtod(source.c_str() + i, &end);
      const std::size_t length = static_cast<std::size_t>(end - (source.c_str() + i));
      if (length > 0 && !std::isfinite(value)) {
        throw UsageError("trace: the number " + source.substr(i, length) + " at column " +
                         std::to_string(i + 1) + " is beyond the range of a double (1.8e308)");
      }
      i += std::max<std::size_t>(length, 1);
    } else {
      ++i;
    }
  }
}

bool finite(const TensorD& t) {
  return std::all_of(t.begin(), t.end(), [](double v) { return std::isfinite(v); });
}

/// "n1 = x * 500": a node as the forward pass prints it, with the trace's labels.
std::string definition(const Node<double>& node, const Trace<double>& trace) {
  return trace.label(node) + " = " + trace.expression(trace.index(node));
}

/// The inputs of `node` that are not plain numbers, each with its definition and value:
/// "(n1 = x * 500 = 1000)".
std::string inputs_text(const Node<double>& node, const Trace<double>& trace) {
  std::string text;
  const auto& in = node.inputs();
  for (auto it = in.begin(); it != in.end(); ++it) {
    const auto& input = *it;
    if (input->is_leaf() && !input->requires_grad()) continue;  // shown by its value already
    if (std::find(in.begin(), it, input) != it) continue;       // x * x: say x once
    text += text.empty() ? " (" : ", ";
    text += (input->is_leaf() ? trace.label(*input) : definition(*input, trace)) + " = " +
            values_string(input->value());
  }
  return text.empty() ? text : text + ")";
}

/// Whether a node's value is finite, read without building a scalar node's tensor.
bool finite_value(const Node<double>& node) {
  return node.is_scalar() ? std::isfinite(node.scalar()) : finite(node.value());
}

/// Throws for the first node, inputs before their users, whose value is not finite.
void check_forward(const VarD& root, const Trace<double>& trace) {
  for (Node<double>* node : topological_order(*root.node(), /*include_constants=*/true)) {
    if (finite_value(*node)) continue;
    if (node->is_leaf()) {
      throw UsageError("trace: " + trace.label(*node) + " is " + values_string(node->value()) +
                       ", not a finite number");
    }
    throw UsageError("trace: " + definition(*node, trace) + " = " + values_string(node->value()) +
                     " is not finite" + inputs_text(*node, trace));
  }
}

/// Remembers the first backward step that sends a gradient that is not finite.
class GradientCheck : public BackwardObserver<double> {
 public:
  explicit GradientCheck(const Trace<double>& trace) : trace_(trace) {}

  void on_step(const BackwardStep<double>& step) override {
    if (!problem_.empty()) return;
    for (std::size_t i = 0; i < step.downstream.size(); ++i) {
      if (step.downstream[i].size() == 0 || finite(step.downstream[i])) continue;
      const Node<double>& node = step.node;
      std::string inputs = inputs_text(node, trace_);  // " (a = 1, b = 2)"
      if (!inputs.empty()) inputs = ", " + inputs.substr(2, inputs.size() - 3);
      problem_ = "trace: the gradient that " + definition(node, trace_) + " sends to " +
                 trace_.label(*node.inputs()[i]) + " is " + values_string(step.downstream[i]) +
                 ", not finite (upstream d" + trace_.label(*root_) + "/d" + trace_.label(node) +
                 " = " + values_string(step.upstream) + inputs + ")";
      return;
    }
  }
  void on_backward_begin(const Node<double>& root) override { root_ = &root; }

  /// The error, or "" if every gradient was finite.
  const std::string& problem() const { return problem_; }

 private:
  const Trace<double>& trace_;
  const Node<double>* root_ = nullptr;
  std::string problem_;
};

void run_trace(const TraceArgs& args) {
  if (!args.dot_path.empty()) check_graph_path(args.dot_path);
  VarD result;
  try {
    result = build_expression("trace", args.expression, args.assignments);
  } catch (const std::domain_error& e) {
    throw UsageError(std::string("trace: ") + e.what());
  }
  if (!result.requires_grad()) {
    throw UsageError("trace: the expression has no variables to differentiate");
  }
  result.named("f");
  check_literals(args.expression);
  if (!args.derivative.empty()) result = derivative_of(result, args.derivative);
  // Without a drawing nothing needs the gates kept: the text is streamed (step_through to
  // std::cout), once a first pass has checked the gradients, so that an error prints no text.
  const bool keep_gates = !args.dot_path.empty() || !args.html_path.empty();
  std::optional<Trace<double>> trace;
  {
    const Trace<double> labels(result);
    check_forward(result, labels);
    GradientCheck gradients(labels);
    try {
      ObserverScope<double> scope(gradients);
      if (keep_gates) {
        trace.emplace(traced_backward(result));
      } else {
        for (Node<double>* node : topological_order(*result.node())) node->zero_grad();
        result.backward(retain_graph);
      }
    } catch (const std::domain_error& e) {
      throw UsageError(std::string("trace: ") + e.what());
    }
    if (!gradients.problem().empty()) throw UsageError(gradients.problem());
    for (Node<double>* node : topological_order(*result.node())) {
      // Finite gradients from two paths can still sum to inf at a leaf used twice.
      if (node->is_leaf() && node->has_grad() && !finite(node->grad())) {
        throw UsageError("trace: df/d" + labels.label(*node) + " is " +
                         values_string(node->grad()) +
                         ", not finite (the sum of its finite gradients overflows)");
      }
    }
  }
  if (!keep_gates) return step_through(result, std::cout);
  std::cout << trace->forward_text() << trace->backward_text() << trace->gradients_text();
  if (!args.dot_path.empty()) write_graph(*trace, args.dot_path);
  if (!args.html_path.empty()) {
    const std::string title = args.derivative.empty()
                                  ? "f = " + args.expression
                                  : "df/d" + args.derivative + " of f = " + args.expression;
    write_html(*trace, args.html_path, title);
    std::cout << "page: " << args.html_path << "\n";
  }
}
}  // namespace

std::map<std::string, VarD> parse_assignments(const std::string& command,
                                              const std::vector<std::string>& assignments) {
  std::map<std::string, VarD> variables;
  for (const std::string& a : assignments) {
    const std::size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError(command + ": expected NAME=VALUE, got '" + a + "'");
    }
    const std::string name = a.substr(0, eq);
    const std::string text = a.substr(eq + 1);
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') {
      throw UsageError(command + ": value of " + name + " is not a number: '" + text + "'");
    }
    if (!std::isfinite(value)) {
      throw UsageError(command + ": value of " + name + " is not finite: '" + text + "'");
    }
    variables[name] = VarD(value, requires_grad, name);
  }
  return variables;
}

VarD build_expression(const std::string& command, const std::string& expression,
                      const std::vector<std::string>& assignments) {
  try {
    return parse_expression(expression, parse_assignments(command, assignments));
  } catch (const ExpressionError& e) {
    throw UsageError(command + ": syntax error at " + e.what());
  }
}

void add_trace_command(CLI::App& app) {
  auto args = std::make_shared<TraceArgs>();
  CLI::App* cmd = app.add_subcommand(
      "trace", "Build the graph of an expression and step through its backward pass");
  cmd->add_option("expression,--expression", args->expression,
                  "Expression: numbers, variables, + - * / ^, unary -, parentheses, and the "
                  "functions " +
                      expression_functions() + " (it may begin with -)")
      ->required();
  cmd->add_option("values", args->assignments, "Variable values, NAME=VALUE (e.g. x=-2 y=5)");
  cmd->add_option("--dot", args->dot_path,
                  "Write the graph: FILE.dot (DOT text), or FILE.svg, FILE.png, FILE.pdf, ... "
                  "(rendered by extension with Graphviz's dot -T<ext>)");
  cmd->add_option("--html", args->html_path,
                  "Write an interactive page: step through the forward and backward passes in a "
                  "browser (one self-contained file)");
  cmd->add_option("--derivative", args->derivative,
                  "Build d EXPRESSION / d NAME as a graph (a gradient with create_graph) and "
                  "step through that instead: its backward pass gives the second derivatives");
  cmd->callback([args] { run_trace(*args); });
}

}  // namespace retrograd::cli
