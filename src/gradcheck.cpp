#include "retrograd/gradcheck.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "retrograd/engine.hpp"

namespace retrograd {

std::string GradcheckResult::summary() const {
  std::ostringstream out;
  out.precision(6);
  out << (passed ? "passed" : "FAILED") << ": max abs error " << max_abs_error
      << "; worst at input " << worst_input << " element " << worst_input_index
      << ", output element " << worst_output_index << ": analytic " << worst_analytic
      << " vs numeric " << worst_numeric;
  return out.str();
}

namespace {
std::vector<VarD> make_leaves(const std::vector<TensorD>& values) {
  std::vector<VarD> leaves;
  for (std::size_t i = 0; i < values.size(); ++i) {
    leaves.emplace_back(values[i], requires_grad, "input" + std::to_string(i));
  }
  return leaves;
}

TensorD evaluate(const GradcheckFn& f, const std::vector<TensorD>& values) {
  NoGradGuard no_grad;
  return f(make_leaves(values)).value();
}
}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<TensorD>& inputs,
                          const GradcheckOptions& options) {
  std::vector<VarD> leaves = make_leaves(inputs);
  const VarD output = f(leaves);
  const std::size_t outputs = output.size();
  if (!output.requires_grad()) {
    throw std::invalid_argument("gradcheck: the output does not depend on any input");
  }

  // analytic[i][j * n_i + e] = d output_j / d input_i[e]
  std::vector<std::vector<double>> analytic(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) analytic[i].assign(outputs * inputs[i].size(), 0);
  for (std::size_t j = 0; j < outputs; ++j) {
    for (VarD& leaf : leaves) leaf.zero_grad();
    TensorD seed = zeros<double>(output.shape());
    seed.data()[j] = 1;
    output.backward(seed, retain_graph);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!leaves[i].has_grad()) continue;
      const TensorD& g = leaves[i].grad();
      for (std::size_t e = 0; e < g.size(); ++e) analytic[i][j * g.size() + e] = g.data()[e];
    }
  }

  GradcheckResult result;
  double worst_ratio = -1;
  std::vector<TensorD> shifted = inputs;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    for (std::size_t e = 0; e < inputs[i].size(); ++e) {
      const double original = inputs[i].data()[e];
      shifted[i].data()[e] = original + options.eps;
      const TensorD plus = evaluate(f, shifted);
      shifted[i].data()[e] = original - options.eps;
      const TensorD minus = evaluate(f, shifted);
      shifted[i].data()[e] = original;
      for (std::size_t j = 0; j < outputs; ++j) {
        const double numeric = (plus.data()[j] - minus.data()[j]) / (2 * options.eps);
        const double exact = analytic[i][j * inputs[i].size() + e];
        const double error = std::abs(exact - numeric);
        const double ratio = error / (options.atol + options.rtol * std::abs(numeric));
        result.max_abs_error = std::max(result.max_abs_error, error);
        if (!(ratio <= 1)) result.passed = false;  // also catches NaN
        if (ratio > worst_ratio || std::isnan(ratio)) {
          worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
          result.worst_input = i;
          result.worst_input_index = e;
          result.worst_output_index = j;
          result.worst_analytic = exact;
          result.worst_numeric = numeric;
        }
      }
    }
  }
  return result;
}

}  // namespace retrograd
