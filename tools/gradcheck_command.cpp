// retrograd gradcheck: every built-in op against central finite differences, as a table;
// retrograd gradcheck "x^2 * y" x=3 y=-1: the gradient of an expression, one row per variable.

#include <cstdio>
#include <map>
#include <retrograd/gradcheck.hpp>
#include <retrograd/op_table.hpp>
#include <retrograd/ops.hpp>

#include "commands.hpp"
#include "expression.hpp"

namespace retrograd::cli {

namespace {
/// Every check of every op in the op table.
int run_gradcheck() {
  std::printf("%-52s %-8s %14s %14s %14s\n", "op (case)", "result", "max abs error", "analytic",
              "numeric");
  int checked = 0, failures = 0;
  for (const OpRow& row : op_table()) {
    for (const OpCheck& check : row.checks) {
      const OpCheckResult r = run_check(check, 42 + static_cast<std::uint64_t>(checked));
      ++checked;
      failures += r.passed ? 0 : 1;
      const std::string name = std::string(row.name) + " (" + check.what + ")";
      if (!check.differentiable) {
        std::printf("%-52s %-8s %s\n", name.c_str(), r.passed ? "ok" : "FAILED", r.summary.c_str());
        continue;
      }
      std::printf("%-52s %-8s %14.3e %14.6f %14.6f\n", name.c_str(), r.passed ? "ok" : "FAILED",
                  r.max_abs_error, r.worst_analytic, r.worst_numeric);
    }
  }
  std::printf("%d cases of %d ops checked, %d failed (central differences in double, eps 1e-6)\n",
              checked, static_cast<int>(op_table().size()), failures);
  return failures;
}

struct ExpressionArgs {
  std::string expression;
  std::vector<std::string> assignments;
};

/// One library gradcheck per variable, the others held fixed: each row compares
/// d expression / d variable from backward with central differences.
int run_expression_gradcheck(const ExpressionArgs& args) {
  const std::map<std::string, VarD> variables = parse_assignments("gradcheck", args.assignments);
  VarD f = build_expression("gradcheck", args.expression, args.assignments);
  if (!f.requires_grad()) {
    throw UsageError("gradcheck: the expression has no variables to differentiate");
  }
  if (f.value().size() != 1) throw UsageError("gradcheck: the expression is not a single number");
  std::printf("f = %s = %.9g\n", args.expression.c_str(), f.value().data()[0]);
  std::printf("%-12s %14s %16s %16s %14s  %s\n", "variable", "value", "analytic", "numeric",
              "abs error", "result");
  int checked = 0, failures = 0, kinks = 0;
  for (const auto& [name, variable] : variables) {
    const std::string& wanted = name;
    const GradcheckFn with_only = [&](const std::vector<VarD>& in) {
      std::map<std::string, VarD> values;
      for (const auto& [other, v] : variables) {
        values[other] = other == wanted ? in[0] : VarD(v.value().data()[0], false, other);
      }
      return parse_expression(args.expression, values);
    };
    const GradcheckResult r = gradcheck(with_only, {variable.value()});
    ++checked;
    failures += r.passed || r.not_differentiable ? 0 : 1;
    kinks += r.not_differentiable ? 1 : 0;
    std::printf("%-12s %14.6g %16.9g %16.9g %14.3e  %s\n", name.c_str(), variable.value().data()[0],
                r.worst_analytic, r.worst_numeric, r.max_abs_error,
                r.passed               ? "ok"
                : r.not_differentiable ? "kink"
                                       : "FAILED");
    if (r.not_differentiable) {
      std::printf(
          "  %s: not differentiable here (slope %.9g from the left, %.9g from the right; "
          "backward gives %.9g, the convention in docs/ops.md)\n",
          name.c_str(), r.worst_left, r.worst_right, r.worst_analytic);
    }
  }
  std::printf(
      "%d variable%s checked, %d failed, %d at a point where the expression is not "
      "differentiable (central differences in double, eps 1e-6)\n",
      checked, checked == 1 ? "" : "s", failures, kinks);
  return failures;
}
}  // namespace

void add_gradcheck_command(CLI::App& app) {
  auto args = std::make_shared<ExpressionArgs>();
  CLI::App* cmd = app.add_subcommand(
      "gradcheck",
      "Check gradients against central finite differences: every built-in op, or, given an "
      "expression and values, the expression's gradient");
  cmd->add_option("expression,--expression", args->expression,
                  "Expression, as for trace (it may begin with -); without one, every built-in "
                  "op is checked");
  cmd->add_option("values", args->assignments, "Variable values, NAME=VALUE (e.g. x=-2 y=5)");
  cmd->callback([args] {
    const int failures =
        args->expression.empty() ? run_gradcheck() : run_expression_gradcheck(*args);
    if (failures > 0) throw std::runtime_error("gradcheck found wrong gradients");
  });
}

}  // namespace retrograd::cli
