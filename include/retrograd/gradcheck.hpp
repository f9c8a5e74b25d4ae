#pragma once
/// @file gradcheck.hpp
/// Compares analytic gradients (backward) with central finite differences, in double.
/// Every built-in op is tested with it; use it to test custom ops too.

#include <functional>
#include <string>
#include <vector>

#include "retrograd/var.hpp"

namespace retrograd {

/// Tolerances: an element passes when |analytic - numeric| <= atol + rtol * |numeric|.
struct GradcheckOptions {
  /// Step of the central differences.
  double eps = 1e-6;
  /// Absolute tolerance.
  double atol = 1e-6;
  /// Tolerance relative to the numeric derivative.
  double rtol = 1e-4;
};

/// The outcome, with the worst element (largest error relative to its tolerance).
struct GradcheckResult {
  /// Every element within tolerance.
  bool passed = true;
  /// Largest |analytic - numeric| over all elements.
  double max_abs_error = 0;
  /// Which input holds the worst element (parameters are numbered after the inputs).
  std::size_t worst_input = 0;
  /// Flat index of the output element of the worst entry.
  std::size_t worst_output_index = 0;
  /// Flat index of the input element of the worst entry.
  std::size_t worst_input_index = 0;
  /// The worst element's derivative from backward.
  double worst_analytic = 0;
  /// The worst element's derivative from finite differences.
  double worst_numeric = 0;
  /// True when every element that fails sits where the function is not differentiable: its
  /// one-sided differences disagree (relu at 0, abs at 0, a tie of max), so the central
  /// difference averages two slopes and no gradient can match it. Backward gives one of the
  /// one-sided derivatives there (docs/ops.md states which); the check says nothing then.
  bool not_differentiable = false;
  /// For the worst element: the difference quotient from the left, (f(x) - f(x - eps)) / eps.
  double worst_left = 0;
  /// For the worst element: the difference quotient from the right, (f(x + eps) - f(x)) / eps.
  double worst_right = 0;
  /// One line: passed or failed, and the worst element.
  std::string summary() const;
};

/// The function under test: builds an output from its inputs with ops.
using GradcheckFn = std::function<VarD(const std::vector<VarD>& inputs)>;

/// Builds the Jacobian of `f` at `inputs` twice: analytically (one backward per output element,
/// seeded one-hot) and by central differences, and compares every element.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<TensorD>& inputs,
                          const GradcheckOptions& options = {});

/// As above, and with respect to `parameters` too: Vars that `f` reads without receiving them,
/// such as a module's weights. Each must require a gradient (std::invalid_argument otherwise).
/// Their values are shifted in place during the check and restored exactly; their gradients
/// are left cleared. In the result, parameter k counts as input `inputs.size() + k`.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<TensorD>& inputs,
                          const std::vector<VarD>& parameters,
                          const GradcheckOptions& options = {});

}  // namespace retrograd
