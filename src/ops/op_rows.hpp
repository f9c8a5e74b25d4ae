#pragma once
// Internal: each family's rows of the op table (retrograd/op_table.hpp), defined in its file in
// src/ops/ beside its rules, and the helpers that write their gradient-check domains.

#include <vector>

#include "retrograd/op_table.hpp"
#include "retrograd/ops.hpp"

namespace retrograd::detail {

std::vector<OpRow> elementwise_rows();
std::vector<OpRow> activation_rows();
std::vector<OpRow> linalg_rows();
std::vector<OpRow> shape_rows();
std::vector<OpRow> index_rows();
std::vector<OpRow> reduce_rows();
std::vector<OpRow> losses_rows();
std::vector<OpRow> conv_rows();

using In = const std::vector<VarD>&;

/// The domain of a one-input elementwise op: a single number (the scalar path), a matrix, and
/// an empty tensor, with magnitudes in [0.2, high).
inline std::vector<OpCheck> unary_checks(const OpCall& f, bool positive = false,
                                         double high = 2.0) {
  const std::vector<std::size_t> which =
      positive ? std::vector<std::size_t>{0} : std::vector<std::size_t>{};
  return {{"single number", {{}}, f, 0.2, high, which},
          {"matrix", {{3, 4}}, f, 0.2, high, which},
          {"empty", {{0, 3}}, f, 0.2, high, which}};
}

/// The domain of a two-input elementwise op: single numbers, equal shapes, broadcasting both
/// ways, and a matrix next to a single number. `positive` lists the inputs drawn positive.
inline std::vector<OpCheck> binary_checks(const OpCall& f, std::vector<std::size_t> positive = {}) {
  return {{"single numbers", {{}, {}}, f, 0.2, 2.0, positive},
          {"equal shapes", {{3, 4}, {3, 4}}, f, 0.2, 2.0, positive},
          {"broadcast [3, 4] by [4]", {{3, 4}, {4}}, f, 0.2, 2.0, positive},
          {"broadcast [3, 1] by [1, 4]", {{3, 1}, {1, 4}}, f, 0.2, 2.0, positive},
          {"matrix and single number", {{2, 3}, {}}, f, 0.2, 2.0, positive}};
}

}  // namespace retrograd::detail
