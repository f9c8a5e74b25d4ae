#include "retrograd/gradcheck.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "retrograd/engine.hpp"

namespace retrograd {

std::string GradcheckResult::summary() const {
  std::ostringstream out;
  out.precision(6);
  if (not_differentiable) {
    out << "not differentiable at input " << worst_input << " element " << worst_input_index
        << " (output element " << worst_output_index << "): the slope is " << worst_left
        << " from the left and " << worst_right << " from the right; backward gives "
        << worst_analytic;
    return out.str();
  }
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
  return gradcheck(f, inputs, {}, options);
}

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<TensorD>& inputs,
                          const std::vector<VarD>& parameters, const GradcheckOptions& options) {
  std::vector<VarD> params = parameters;
  for (std::size_t k = 0; k < params.size(); ++k) {
    if (!params[k].defined()) {
      throw std::invalid_argument("gradcheck: parameter " + std::to_string(k) + " is empty");
    }
    if (!params[k].requires_grad()) {
      throw std::invalid_argument("gradcheck: parameter " + std::to_string(k) + " '" +
                                  params[k].name() + "' does not require a gradient");
    }
  }
  std::vector<VarD> leaves = make_leaves(inputs);
  const VarD output = f(leaves);
  const std::size_t outputs = output.size();
  if (!output.requires_grad()) {
    throw std::invalid_argument("gradcheck: the output does not depend on any input");
  }
  // What the check differentiates with respect to: the inputs' leaves, then the parameters.
  std::vector<VarD> wrt = leaves;
  wrt.insert(wrt.end(), params.begin(), params.end());

  // analytic[i][j * n_i + e] = d output_j / d wrt_i[e]
  std::vector<std::vector<double>> analytic(wrt.size());
  for (std::size_t i = 0; i < wrt.size(); ++i) analytic[i].assign(outputs * wrt[i].size(), 0);
  for (std::size_t j = 0; j < outputs; ++j) {
    for (VarD& v : wrt) v.zero_grad();
    TensorD seed = zeros<double>(output.shape());
    seed.data()[j] = 1;
    output.backward(seed, retain_graph);
    for (std::size_t i = 0; i < wrt.size(); ++i) {
      if (!wrt[i].has_grad()) continue;
      const TensorD& g = wrt[i].grad();
      for (std::size_t e = 0; e < g.size(); ++e) analytic[i][j * g.size() + e] = g.data()[e];
    }
  }
  for (VarD& p : params) p.zero_grad();

  // The values the numeric pass shifts: copies of the inputs, the parameters themselves.
  std::vector<TensorD> shifted = inputs;
  std::vector<TensorD*> values;
  for (TensorD& t : shifted) values.push_back(&t);
  for (VarD& p : params) values.push_back(&p.value());

  // f at the point itself: the one-sided differences of an element that fails tell a kink
  // (they disagree) from a wrong gradient (they agree with each other, not with backward).
  const TensorD center = evaluate(f, shifted);
  const auto tolerance = [&](double slope) {
    return options.atol + options.rtol * std::abs(slope);
  };
  GradcheckResult result;
  double worst_ratio = -1;
  bool any_failure = false, all_failures_at_kinks = true;
  for (std::size_t i = 0; i < values.size(); ++i) {
    TensorD& value = *values[i];
    for (std::size_t e = 0; e < value.size(); ++e) {
      const double original = value.data()[e];
      value.data()[e] = original + options.eps;
      const TensorD plus = evaluate(f, shifted);
      value.data()[e] = original - options.eps;
      const TensorD minus = evaluate(f, shifted);
      value.data()[e] = original;
      for (std::size_t j = 0; j < outputs; ++j) {
        const double numeric = (plus.data()[j] - minus.data()[j]) / (2 * options.eps);
        const double exact = analytic[i][j * value.size() + e];
        const double error = std::abs(exact - numeric);
        const double ratio = error / (options.atol + options.rtol * std::abs(numeric));
        const double left = (center.data()[j] - minus.data()[j]) / options.eps;
        const double right = (plus.data()[j] - center.data()[j]) / options.eps;
        result.max_abs_error = std::max(result.max_abs_error, error);
        if (!(ratio <= 1)) {  // also catches NaN
          result.passed = false;
          any_failure = true;
          // A smooth function's one-sided slopes differ by about eps * f'': far less than this.
          const bool kink =
              std::abs(right - left) > 1e3 * tolerance(std::max(std::abs(left), std::abs(right)));
          all_failures_at_kinks = all_failures_at_kinks && kink;
        }
        if (ratio > worst_ratio || std::isnan(ratio)) {
          worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
          result.worst_input = i;
          result.worst_input_index = e;
          result.worst_output_index = j;
          result.worst_analytic = exact;
          result.worst_numeric = numeric;
          result.worst_left = left;
          result.worst_right = right;
        }
      }
    }
  }
  result.not_differentiable = any_failure && all_failures_at_kinks;
  return result;
}

}  // namespace retrograd
