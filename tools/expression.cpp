#include "expression.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <retrograd/ops.hpp>
#include <vector>

namespace retrograd::cli {

namespace {
std::string pointed_message(const std::string& source, std::size_t column,
                            const std::string& what) {
  return "column " + std::to_string(column) + ": " + what + "\n  " + source + "\n  " +
         std::string(column - 1, ' ') + "^";
}
}  // namespace

ExpressionError::ExpressionError(const std::string& source, std::size_t column,
                                 const std::string& what)
    : std::runtime_error(pointed_message(source, column, what)), column_(column) {}

namespace {

// Recursive descent over:
//   sum     := product (('+' | '-') product)*
//   product := unary (('*' | '/') unary)*
//   unary   := '-' unary | power
//   power   := primary ('^' unary)?          (right-associative: x^-1, 2^x^2 = 2^(x^2))
//   primary := number | name | name '(' sum (',' sum)* ')' | '(' sum ')'
// As in mathematics, -x^2 is -(x^2).
class Parser {
 public:
  Parser(const std::string& source, const std::map<std::string, VarD>& variables)
      : source_(source), variables_(variables) {}

  VarD parse() {
    VarD result = sum_expr();
    skip_spaces();
    if (pos_ < source_.size()) fail("unexpected '" + std::string(1, source_[pos_]) + "'");
    return result;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ExpressionError(source_, pos_ + 1, what);
  }

  void skip_spaces() {
    while (pos_ < source_.size() && std::isspace(static_cast<unsigned char>(source_[pos_]))) ++pos_;
  }

  bool accept(char c) {
    skip_spaces();
    if (pos_ < source_.size() && source_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!accept(c)) {
      fail(pos_ < source_.size() ? "expected '" + std::string(1, c) + "' but found '" +
                                       std::string(1, source_[pos_]) + "'"
                                 : "expected '" + std::string(1, c) + "' but the expression ended");
    }
  }

  // Every recursion (parentheses, unary minus, call arguments) passes through unary_expr; its depth
  // is bounded so that "((((...))))" or "----x" gets an error, not a stack
  // overflow.
  static constexpr int max_depth = 500;
  struct DepthGuard {
    explicit DepthGuard(Parser& p) : parser(p) {
      if (++parser.depth_ > max_depth) {
        parser.fail("expression nested deeper than " + std::to_string(max_depth) + " levels");
      }
    }
    ~DepthGuard() { --parser.depth_; }
    Parser& parser;
  };

  VarD sum_expr() {
    VarD left = product_expr();
    while (true) {
      if (accept('+')) {
        left = left + product_expr();
      } else if (accept('-')) {
        left = left - product_expr();
      } else {
        return left;
      }
    }
  }

  VarD product_expr() {
    VarD left = unary_expr();
    while (true) {
      if (accept('*')) {
        left = left * unary_expr();
      } else if (accept('/')) {
        left = left / unary_expr();
      } else {
        return left;
      }
    }
  }

  VarD unary_expr() {
    DepthGuard guard(*this);
    if (accept('-')) return -unary_expr();
    return power_expr();
  }

  VarD power_expr() {
    VarD base = primary_expr();
    if (accept('^')) return pow(base, unary_expr());
    return base;
  }

  VarD primary_expr() {
    skip_spaces();
    if (pos_ >= source_.size()) fail("expected a number, a name or '(' but the expression ended");
    const char c = source_[pos_];
    if (accept('(')) {
      VarD inner = sum_expr();
      expect(')');
      return inner;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') return name_or_call();
    fail("expected a number, a name or '(' but found '" + std::string(1, c) + "'");
  }

  VarD number() {
    const char* begin = source_.c_str() + pos_;
    char* end = nullptr;
    const double value = std::strtod(begin, &end);
    if (end == begin) fail("malformed number");
    pos_ += static_cast<std::size_t>(end - begin);
    return VarD(value);
  }

  VarD name_or_call() {
    const std::size_t start = pos_;
    while (pos_ < source_.size() &&
           (std::isalnum(static_cast<unsigned char>(source_[pos_])) || source_[pos_] == '_')) {
      ++pos_;
    }
    const std::string name = source_.substr(start, pos_ - start);
    skip_spaces();
    if (pos_ < source_.size() && source_[pos_] == '(') return call(name, start);
    auto it = variables_.find(name);
    if (it == variables_.end()) {
      pos_ = start;
      fail("unknown variable '" + name + "' (give it a value: " + name + "=...)");
    }
    return it->second;
  }

  VarD call(const std::string& name, std::size_t start) {
    using Unary = std::function<VarD(const VarD&)>;
    using Binary = std::function<VarD(const VarD&, const VarD&)>;
    static const std::map<std::string, Unary> unary = {
        {"relu", [](const VarD& a) { return relu(a); }},
        {"sigmoid", [](const VarD& a) { return sigmoid(a); }},
        {"tanh", [](const VarD& a) { return tanh(a); }},
        {"exp", [](const VarD& a) { return exp(a); }},
        {"log", [](const VarD& a) { return log(a); }},
        {"abs", [](const VarD& a) { return abs(a); }},
        // No sqrt op: x^0.5, which the trace shows as such.
        {"sqrt", [](const VarD& a) { return pow(a, VarD(0.5)); }}};
    static const std::map<std::string, Binary> binary = {
        {"max", [](const VarD& a, const VarD& b) { return maximum(a, b); }},
        {"min", [](const VarD& a, const VarD& b) { return minimum(a, b); }},
        {"pow", [](const VarD& a, const VarD& b) { return pow(a, b); }}};
    const bool is_unary = unary.count(name) > 0;
    if (!is_unary && binary.count(name) == 0) {
      pos_ = start;
      fail("unknown function '" + name +
           "' (known: max, min, relu, sigmoid, tanh, exp, log, abs, sqrt, pow)");
    }
    expect('(');
    std::vector<VarD> args{sum_expr()};
    while (accept(',')) args.push_back(sum_expr());
    const std::size_t wanted = is_unary ? 1 : 2;
    if (args.size() != wanted) {
      fail(name + " takes " + std::to_string(wanted) + " argument" + (wanted > 1 ? "s" : "") +
           ", got " + std::to_string(args.size()));
    }
    expect(')');
    const TensorD& argument = args[0].value();
    const auto negative = [](double v) { return v < 0; };
    if (name == "sqrt" && std::any_of(argument.begin(), argument.end(), negative)) {
      pos_ = start;
      fail("sqrt of a negative number (" + values_string(args[0].value()) + ")");
    }
    return is_unary ? unary.at(name)(args[0]) : binary.at(name)(args[0], args[1]);
  }

  const std::string& source_;
  const std::map<std::string, VarD>& variables_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

VarD parse_expression(const std::string& source, const std::map<std::string, VarD>& variables) {
  return Parser(source, variables).parse();
}

}  // namespace retrograd::cli
