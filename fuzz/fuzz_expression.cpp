// libFuzzer target: the expression parser of `retrograd trace` on any text, with x, y and z
// defined. Every input must give a graph (whose backward then runs) or throw ExpressionError,
// or std::domain_error from an op (log(-1), x/0).

#include <retrograd/ops.hpp>

#include "expression.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace retrograd;
  const std::string source(reinterpret_cast<const char*>(data), size);
  const std::map<std::string, VarD> variables = {{"x", VarD(-2.0, requires_grad, "x")},
                                                 {"y", VarD(5.0, requires_grad, "y")},
                                                 {"z", VarD(-4.0, requires_grad, "z")}};
  try {
    VarD f = cli::parse_expression(source, variables);
    if (f.requires_grad() && f.size() == 1) f.backward();
  } catch (const cli::ExpressionError&) {
  } catch (const std::domain_error&) {
  }
  return 0;
}
