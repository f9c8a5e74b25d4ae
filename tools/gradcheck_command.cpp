// retrograd gradcheck: every built-in op against central finite differences, as a table;
// retrograd gradcheck "x^2 * y" x=3 y=-1: the gradient of an expression, one row per variable.

#include <cstdio>
#include <map>
#include <random>
#include <retrograd/gradcheck.hpp>
#include <retrograd/ops.hpp>

#include "commands.hpp"
#include "expression.hpp"

namespace retrograd::cli {

namespace {
struct OpCheck {
  const char* name;
  GradcheckFn f;
  std::vector<TensorD> inputs;
};

/// Values in +-[0.2, 2): away from the kinks of relu, abs, max and away from log's pole.
TensorD sample(const Shape& shape, std::mt19937_64& engine, bool positive = false) {
  std::uniform_real_distribution<double> magnitude(0.2, 2.0);
  std::bernoulli_distribution sign(0.5);
  TensorD t = TensorD::from_shape(shape);
  for (double& v : t) v = (positive || sign(engine)) ? magnitude(engine) : -magnitude(engine);
  return t;
}

std::vector<OpCheck> op_checks() {
  std::mt19937_64 engine(42);
  auto m = [&](bool positive = false) { return sample({3, 4}, engine, positive); };
  using In = const std::vector<VarD>&;
  return {
      {"add (broadcast)", [](In v) { return v[0] + v[1]; }, {m(), sample({4}, engine)}},
      {"sub", [](In v) { return v[0] - v[1]; }, {m(), m()}},
      {"mul (broadcast)", [](In v) { return v[0] * v[1]; }, {m(), sample({3, 1}, engine)}},
      {"div", [](In v) { return v[0] / v[1]; }, {m(), m()}},
      {"neg", [](In v) { return -v[0]; }, {m()}},
      {"maximum", [](In v) { return maximum(v[0], v[1]); }, {m(), m()}},
      {"minimum", [](In v) { return minimum(v[0], v[1]); }, {m(), m()}},
      {"pow", [](In v) { return pow(v[0], v[1]); }, {m(true), m()}},
      {"pow (number)", [](In v) { return pow(v[0], 3.0); }, {m()}},
      {"relu", [](In v) { return relu(v[0]); }, {m()}},
      {"sigmoid", [](In v) { return sigmoid(v[0]); }, {m()}},
      {"tanh", [](In v) { return tanh(v[0]); }, {m()}},
      {"exp", [](In v) { return exp(v[0]); }, {m()}},
      {"log", [](In v) { return log(v[0]); }, {m(true)}},
      {"abs", [](In v) { return abs(v[0]); }, {m()}},
      {"matmul", [](In v) { return matmul(v[0], v[1]); }, {m(), sample({4, 2}, engine)}},
      {"linear",
       [](In v) { return linear(v[0], v[1], v[2]); },
       {m(), sample({4, 2}, engine), sample({2}, engine)}},
      {"transpose", [](In v) { return transpose(v[0]) * 1.0; }, {m()}},
      {"reshape",
       [](In v) {
         return reshape(v[0], {2, 6}) * 1.0;
       },
       {m()}},
      {"sum", [](In v) { return sum(v[0]); }, {m()}},
      {"sum (axis 0)", [](In v) { return sum(v[0], 0); }, {m()}},
      {"mean", [](In v) { return mean(v[0]); }, {m()}},
      {"mean (axis 1, keepdims)", [](In v) { return mean(v[0], 1, true); }, {m()}},
      {"max", [](In v) { return max(v[0]); }, {m()}},
      {"max (axis 1)", [](In v) { return max(v[0], 1); }, {m()}},
      {"softmax", [](In v) { return softmax(v[0]) * v[1]; }, {m(), m()}},
      {"log_softmax", [](In v) { return log_softmax(v[0]) * v[1]; }, {m(), m()}},
      {"softmax_cross_entropy",
       [](In v) {
         return softmax_cross_entropy(v[0],
                                      VarD(TensorD{{0, 1, 0, 0}, {0, 0, 0, 1}, {1, 0, 0, 0}}));
       },
       {m()}},
      {"sigmoid_binary_cross_entropy",
       [](In v) {
         return sigmoid_binary_cross_entropy(
             v[0], VarD(TensorD{{0, 1, 1, 0}, {1, 0, 0, 1}, {1, 1, 0, 0}}));
       },
       {m()}},
  };
}

int run_gradcheck() {
  std::printf("%-30s %-8s %14s %14s %14s\n", "op", "result", "max abs error", "analytic",
              "numeric");
  int failures = 0;
  for (const OpCheck& check : op_checks()) {
    const GradcheckResult r = gradcheck(check.f, check.inputs);
    failures += r.passed ? 0 : 1;
    std::printf("%-30s %-8s %14.3e %14.6f %14.6f\n", check.name, r.passed ? "ok" : "FAILED",
                r.max_abs_error, r.worst_analytic, r.worst_numeric);
  }
  std::printf("%d ops checked, %d failed (central differences in double, eps 1e-6)\n",
              static_cast<int>(op_checks().size()), failures);
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
