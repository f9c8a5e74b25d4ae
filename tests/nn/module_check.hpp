#pragma once
// Test helper: gradients of a module's output with respect to its input and to every one of its
// parameters, against central differences in double (gradcheck covers the inputs of a function;
// this covers the parameters a module owns).

#include <cmath>
#include <sstream>
#include <string>

#include "retrograd/engine.hpp"
#include "retrograd/nn/module.hpp"
#include "retrograd/ops.hpp"

namespace retrograd::test {

struct ModuleCheck {
  bool passed = true;
  std::string summary;
};

/// L = sum(m(x) * probe), probe fixed and uneven so that every output element counts
/// differently; compares dL/dx and dL/dp for every parameter p with central differences.
inline ModuleCheck check_module_gradients(nn::BasicModule<double>& m, const TensorD& x,
                                          double eps = 1e-6, double atol = 1e-6,
                                          double rtol = 1e-4) {
  VarD input(x, requires_grad);
  m.zero_grad();
  const VarD out = m(input);
  TensorD probe = TensorD::from_shape(out.shape());
  for (std::size_t i = 0; i < probe.size(); ++i) probe.data()[i] = 0.3 + 0.7 * std::sin(i + 1.0);
  sum(out * VarD(probe)).backward();

  const auto loss = [&](const TensorD& at) {
    NoGradGuard no_grad;
    return sum(m(VarD(at)) * VarD(probe)).item();
  };
  ModuleCheck result;
  std::ostringstream report;
  const auto compare = [&](const std::string& what, std::size_t e, double analytic,
                           double numeric) {
    const double error = std::abs(analytic - numeric);
    if (!(error <= atol + rtol * std::abs(numeric))) {
      result.passed = false;
      report << what << "[" << e << "]: analytic " << analytic << " vs numeric " << numeric << "; ";
    }
  };
  TensorD shifted = x;
  for (std::size_t e = 0; e < x.size(); ++e) {
    shifted.data()[e] = x.data()[e] + eps;
    const double plus = loss(shifted);
    shifted.data()[e] = x.data()[e] - eps;
    const double minus = loss(shifted);
    shifted.data()[e] = x.data()[e];
    compare("x", e, input.grad().data()[e], (plus - minus) / (2 * eps));
  }
  for (nn::NamedParameter<double>& p : m.named_parameters()) {
    TensorD& value = p.var.value();
    for (std::size_t e = 0; e < value.size(); ++e) {
      const double original = value.data()[e];
      value.data()[e] = original + eps;
      const double plus = loss(x);
      value.data()[e] = original - eps;
      const double minus = loss(x);
      value.data()[e] = original;
      compare(p.name, e, p.var.grad().data()[e], (plus - minus) / (2 * eps));
    }
  }
  result.summary = result.passed ? "passed" : "FAILED: " + report.str();
  return result;
}

}  // namespace retrograd::test
