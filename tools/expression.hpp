#pragma once
// A small expression language for `retrograd trace` and `retrograd gradcheck`: numbers,
// variables, parentheses, the operators of the op table (+ - * / ^ and unary minus) and every
// elementwise op of the table as a function (retrograd/op_table.hpp).

#include <map>
#include <retrograd/var.hpp>
#include <stdexcept>
#include <string>

namespace retrograd::cli {

/// A syntax or name error, with the 1-based column where it was found.
class ExpressionError : public std::runtime_error {
 public:
  ExpressionError(const std::string& source, std::size_t column, const std::string& what);
  std::size_t column() const { return column_; }

 private:
  std::size_t column_;
};

/// The functions the language knows, comma-separated: every elementwise op of the op table.
std::string expression_functions();

/// Parses `source` and builds its graph. Every variable must be in `variables`; each becomes a
/// named leaf that requires a gradient.
VarD parse_expression(const std::string& source, const std::map<std::string, VarD>& variables);

}  // namespace retrograd::cli
