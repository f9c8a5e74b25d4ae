#pragma once
/// @file op_table.hpp
/// The op table: every built-in op declared once, as PyTorch's derivatives.yaml declares its
/// ops. The step-through trace, the interactive page, the expression language of `retrograd
/// trace` and `retrograd gradcheck`, the `gradcheck` command's op list, docs/ops.md (generated)
/// and the test that gradchecks every op all read this table; none keeps a list of its own.
///
/// How to add an op (docs/design.md, "Adding an op"):
///   1. declare it in include/retrograd/ops.hpp;
///   2. in its family's file in src/ops/, write its forward and backward rule and, beside them,
///      its OpRow in that file's `<family>_rows()`.
/// That is all for an op of an existing family: two files. A new family is a new file in
/// src/ops/ plus one line in src/ops/op_table.cpp that calls its `<family>_rows()` (an explicit
/// call, so a static library cannot drop the family's object and silently lose its rows).
///
/// Formula text uses placeholders: {a} {b} {c} the inputs in order ({x} is {a}), {y} the
/// output, {g} the upstream gradient. The trace puts node names in their place, the docs the
/// letters themselves.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "retrograd/var.hpp"

namespace retrograd {

/// How an op is written in the expression language. Every elementwise op is also a function
/// under its own name there (`gelu(x) * sin(y)`).
struct OpSyntax {
  enum class Kind { none, infix, prefix };
  Kind kind = Kind::none;
  /// The operator ("+", "^", "-"), for infix and prefix.
  const char* symbol = "";
  /// Infix: higher binds tighter (+ 1, * 2, prefix - 3, ^ 4). Prefix: the precedence of its
  /// operand, so that -x^2 is -(x^2).
  int precedence = 0;
  /// Infix: a^b^c = a^(b^c).
  bool right_associative = false;
  /// Another function name in the expression language ("max" for maximum), or "".
  const char* alias = "";
};

/// The op applied to double-precision Vars, with any extra arguments (axes, indices, numbers)
/// bound: what gradcheck and the expression language call.
using OpCall = std::function<VarD(const std::vector<VarD>& inputs)>;

/// One point of the gradient-check domain of an op.
struct OpCheck {
  /// What this case covers ("broadcast [3, 4] by [4]", "empty batch").
  const char* what;
  /// The shape of each input.
  std::vector<Shape> shapes;
  /// The op on those inputs.
  OpCall call;
  /// Input values are drawn with magnitudes in [low, high) and either sign: away from kinks
  /// (relu, abs, max) and ties.
  double low = 0.2, high = 2.0;
  /// The inputs drawn positive only: away from domain edges (log, sqrt, a pow base).
  std::vector<std::size_t> positive = {};
  /// False for an op with no gradient (argmax, detach): the check is then that none flows.
  bool differentiable = true;
};

/// One op.
struct OpRow {
  /// The op's name as its nodes carry it (`Var::op()`).
  const char* name;
  /// Its family: the file in src/ops/ it lives in.
  const char* family;
  /// How C++ calls it: "add(a, b)", "slice(x, axis, begin, end, step)".
  std::string signature;
  /// Inputs that are Vars (-1: a list of Vars).
  int arity;
  /// The value, as text: "{a} + {b}".
  std::string forward;
  /// One formula per Var input (one for a list). For an elementwise op, d{y}/d input, the local
  /// gradient the upstream one is multiplied by ("{b}" for a of a * b); for any other op, the
  /// gradient the op sends ("{g} . {b}^T" for a of matmul).
  std::vector<std::string> backward;
  /// Acts element by element (broadcasting its inputs): the trace can then show the local
  /// gradient as numbers, and the expression language knows it as a function.
  bool elementwise = false;
  OpSyntax syntax = {};
  /// The op as the expression language calls it (elementwise ops; null for others): extra
  /// numbers come as single-number Vars (clamp(x, lo, hi)).
  OpCall apply = nullptr;
  /// Plain numbers the expression language passes after the Var inputs (clamp's lo and hi).
  int numbers = 0;
  /// The gradient-check domain; a row without one fails the test that checks every op.
  std::vector<OpCheck> checks;
  /// Conventions worth a line in the docs: ties, kinks, what it throws.
  std::string notes = {};
};

/// Every built-in op, in family order.
const std::vector<OpRow>& op_table();
/// The row of the op named `name` (a node's op()), or null (custom ops, leaves).
const OpRow* find_op(std::string_view name);
/// The family names, in the order op_table() lists them.
std::vector<std::string> op_families();
/// Inputs for `check`: one tensor per shape, magnitudes in [low, high) with random signs (or
/// positive), drawn from a generator seeded with `seed`.
std::vector<TensorD> sample_inputs(const OpCheck& check, std::uint64_t seed);
/// The outcome of one check: a gradcheck, or for a check of an op without gradient, that its
/// result needs none. Throws what the op throws.
struct OpCheckResult {
  bool passed = false;
  /// The gradcheck's summary, or why the check failed.
  std::string summary;
  double max_abs_error = 0, worst_analytic = 0, worst_numeric = 0;
};
OpCheckResult run_check(const OpCheck& check, std::uint64_t seed);
/// `text` with its placeholders replaced: {a} {b} {c} by inputs[0..2] ({x} by inputs[0]),
/// {y} by `output`, {g} by `upstream`.
std::string fill_formula(std::string_view text, const std::vector<std::string>& inputs,
                         const std::string& output, const std::string& upstream);

}  // namespace retrograd
