#include "expression.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <retrograd/op_table.hpp>
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

/// The expression language's operators and functions, read from the op table: its infix
/// and prefix operators, and every elementwise op as a function under its name (and alias).
struct Grammar {
  std::vector<const OpRow*> infix, prefix;
  std::map<std::string, const OpRow*, std::less<>> functions;
  std::string known;  // the function names, for "unknown function" messages

  static const Grammar& get() {
    static const Grammar grammar = [] {
      Grammar g;
      for (const OpRow& row : op_table()) {
        if (row.syntax.kind == OpSyntax::Kind::infix) g.infix.push_back(&row);
        if (row.syntax.kind == OpSyntax::Kind::prefix) g.prefix.push_back(&row);
        if (!row.elementwise) continue;
        g.functions.emplace(row.name, &row);
        if (*row.syntax.alias) g.functions.emplace(row.syntax.alias, &row);
      }
      for (const auto& entry : g.functions) g.known += (g.known.empty() ? "" : ", ") + entry.first;
      return g;
    }();
    return grammar;
  }
};

// Precedence climbing over the op table's operators (OpSyntax):
//   expr(p)  := prefix (infix-op of precedence >= p, then expr(precedence + 1, or the same
//               precedence when right-associative))*
//   prefix   := prefix-op expr(its precedence) | primary
//   primary  := number | name | name '(' expr (',' expr)* ')' | '(' expr ')'
// With the table's precedences (+ - 1, * / 2, prefix - 3, ^ 4, right-associative), -x^2 is
// -(x^2), x^-1 is x^(-1) and 2^x^2 is 2^(x^2), as in mathematics.
class Parser {
 public:
  Parser(const std::string& source, const std::map<std::string, VarD>& variables)
      : source_(source), variables_(variables), grammar_(Grammar::get()) {}

  VarD parse() {
    VarD result = expr(0);
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

  /// The operator of `ops` written at the current position, consumed; null if none.
  const OpRow* accept_operator(const std::vector<const OpRow*>& ops, int min_precedence) {
    skip_spaces();
    for (const OpRow* row : ops) {
      const std::string_view symbol = row->syntax.symbol;
      if (row->syntax.precedence >= min_precedence &&
          source_.compare(pos_, symbol.size(), symbol) == 0) {
        pos_ += symbol.size();
        return row;
      }
    }
    return nullptr;
  }

  // Every recursion (parentheses, prefix operators, operands of a right-associative operator,
  // call arguments) passes through prefix_expr; its depth is bounded so that "((((...))))" or
  // "----x" gets an error, not a stack overflow.
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

  VarD expr(int min_precedence) {
    VarD left = prefix_expr();
    while (const OpRow* op = accept_operator(grammar_.infix, min_precedence)) {
      const int next = op->syntax.precedence + (op->syntax.right_associative ? 0 : 1);
      VarD right = expr(next);
      left = op->apply({left, right});
    }
    return left;
  }

  VarD prefix_expr() {
    DepthGuard guard(*this);
    if (const OpRow* op = accept_operator(grammar_.prefix, 0)) {
      return op->apply({expr(op->syntax.precedence)});
    }
    return primary_expr();
  }

  VarD primary_expr() {
    skip_spaces();
    if (pos_ >= source_.size()) fail("expected a number, a name or '(' but the expression ended");
    const char c = source_[pos_];
    if (accept('(')) {
      VarD inner = expr(0);
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
    const auto function = grammar_.functions.find(name);
    if (function == grammar_.functions.end()) {
      pos_ = start;
      fail("unknown function '" + name + "' (known: " + grammar_.known + ")");
    }
    const OpRow& row = *function->second;
    expect('(');
    std::vector<VarD> args{expr(0)};
    while (accept(',')) args.push_back(expr(0));
    const std::size_t wanted = static_cast<std::size_t>(row.arity + row.numbers);
    if (args.size() != wanted) {
      fail(name + " takes " + std::to_string(wanted) + " argument" + (wanted > 1 ? "s" : "") +
           ", got " + std::to_string(args.size()));
    }
    expect(')');
    for (std::size_t i = static_cast<std::size_t>(row.arity); i < args.size(); ++i) {
      if (args[i].size() != 1 || args[i].requires_grad()) {
        pos_ = start;
        fail(name + ": argument " + std::to_string(i + 1) + " must be a plain number");
      }
    }
    return row.apply(args);
  }

  const std::string& source_;
  const std::map<std::string, VarD>& variables_;
  const Grammar& grammar_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::string expression_functions() { return Grammar::get().known; }

VarD parse_expression(const std::string& source, const std::map<std::string, VarD>& variables) {
  return Parser(source, variables).parse();
}

}  // namespace retrograd::cli
