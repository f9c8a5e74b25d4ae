// retrograd trace "(x + y) * z" x=-2 y=5 z=-4 [--dot graph.svg]

#include <iostream>
#include <map>

#include <retrograd/dot.hpp>
#include <retrograd/trace.hpp>

#include "commands.hpp"
#include "expression.hpp"

namespace retrograd::cli {

namespace {
struct TraceArgs {
  std::string expression;
  std::vector<std::string> assignments;
  std::string dot_path;
};

std::map<std::string, VarD> parse_assignments(const std::vector<std::string>& assignments) {
  std::map<std::string, VarD> variables;
  for (const std::string& a : assignments) {
    const std::size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("trace: expected NAME=VALUE, got '" + a + "'");
    }
    const std::string name = a.substr(0, eq);
    const std::string text = a.substr(eq + 1);
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') {
      throw UsageError("trace: value of " + name + " is not a number: '" + text + "'");
    }
    variables[name] = VarD(value, requires_grad, name);
  }
  return variables;
}

void run_trace(const TraceArgs& args) {
  VarD result;
  try {
    result = parse_expression(args.expression, parse_assignments(args.assignments));
  } catch (const ExpressionError& e) {
    throw UsageError(std::string("trace: syntax error at ") + e.what());
  }
  if (!result.requires_grad()) {
    throw UsageError("trace: the expression has no variables to differentiate");
  }
  result.named("f");
  std::cout << step_through(result);
  if (args.dot_path.empty()) return;
  const bool svg = args.dot_path.size() > 4 &&
                   args.dot_path.compare(args.dot_path.size() - 4, 4, ".svg") == 0;
  const std::string dot_file = svg ? args.dot_path.substr(0, args.dot_path.size() - 4) + ".dot"
                                   : args.dot_path;
  write_dot(result, dot_file);
  if (!svg) {
    std::cout << "graph: " << dot_file << "\n";
  } else if (render_svg(dot_file, args.dot_path)) {
    std::cout << "graph: " << args.dot_path << "\n";
  } else {
    std::cout << "graph: " << dot_file << " (install graphviz to render " << args.dot_path
              << ")\n";
  }
}
}  // namespace

void add_trace_command(CLI::App& app) {
  auto args = std::make_shared<TraceArgs>();
  CLI::App* cmd = app.add_subcommand(
      "trace", "Build the graph of an expression and step through its backward pass");
  cmd->add_option("expression", args->expression,
                  "Expression: numbers, variables, + - * /, unary -, parentheses, and max min "
                  "relu sigmoid tanh exp log abs pow")
      ->required();
  cmd->add_option("values", args->assignments, "Variable values, NAME=VALUE (e.g. x=-2 y=5)");
  cmd->add_option("--dot", args->dot_path,
                  "Write the graph: FILE.dot, or FILE.svg (rendered with Graphviz)");
  cmd->callback([args] { run_trace(*args); });
}

}  // namespace retrograd::cli
