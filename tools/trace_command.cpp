// retrograd trace "(x + y) * z" x=-2 y=5 z=-4 [--dot graph.svg] [--html page.html]

#include <fstream>
#include <iostream>
#include <map>
#include <retrograd/dot.hpp>
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
};

void write_graph(const Trace<double>& trace, const std::string& path) {
  const bool svg = path.size() > 4 && path.compare(path.size() - 4, 4, ".svg") == 0;
  const std::string dot_file = svg ? path.substr(0, path.size() - 4) + ".dot" : path;
  {
    std::ofstream file(dot_file);
    if (!file) throw std::runtime_error("trace: cannot open '" + dot_file + "' for writing");
    file << to_dot(trace);
    if (!file.flush()) throw std::runtime_error("trace: failed writing '" + dot_file + "'");
  }
  if (!svg) {
    std::cout << "graph: " << dot_file << "\n";
  } else if (render_svg(dot_file, path)) {
    std::cout << "graph: " << path << "\n";
  } else {
    std::cout << "graph: " << dot_file << " (install graphviz to render " << path << ")\n";
  }
}

void run_trace(const TraceArgs& args) {
  VarD result = build_expression("trace", args.expression, args.assignments);
  if (!result.requires_grad()) {
    throw UsageError("trace: the expression has no variables to differentiate");
  }
  result.named("f");
  const Trace<double> trace = traced_backward(result);
  std::cout << trace.forward_text() << trace.backward_text() << trace.gradients_text();
  if (!args.dot_path.empty()) write_graph(trace, args.dot_path);
  if (!args.html_path.empty()) {
    write_html(trace, args.html_path, "f = " + args.expression);
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
                  "Expression: numbers, variables, + - * / ^, unary -, parentheses, and max min "
                  "relu sigmoid tanh exp log abs sqrt pow (it may begin with -)")
      ->required();
  cmd->add_option("values", args->assignments, "Variable values, NAME=VALUE (e.g. x=-2 y=5)");
  cmd->add_option("--dot", args->dot_path,
                  "Write the graph: FILE.dot, or FILE.svg (rendered with Graphviz)");
  cmd->add_option("--html", args->html_path,
                  "Write an interactive page: step through the forward and backward passes in a "
                  "browser (one self-contained file)");
  cmd->callback([args] { run_trace(*args); });
}

}  // namespace retrograd::cli
