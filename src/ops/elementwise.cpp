// Elementwise ops: the forward, then the gradient to each input, each a lambda written once for
// numbers and tensors alike (Note [one formula, two paths] in op_machinery.hpp). binary() undoes
// broadcasting. The activations relu, sigmoid and tanh are in activation.cpp.

#include "ops/op_machinery.hpp"
#include "ops/op_rows.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {
using namespace detail;

template <class T>
BasicVar<T> detail::add(Operand<T> a, Operand<T> b) {
  return binary<T>(
      "add", a, b, [](const auto& a, const auto& b) { return a + b; },
      // d(a+b)/da = 1, d(a+b)/db = 1
      [](const auto& g, const auto&, const auto&, const auto&) { return g; },
      [](const auto& g, const auto&, const auto&, const auto&) { return g; });
}

template <class T>
BasicVar<T> detail::sub(Operand<T> a, Operand<T> b) {
  return binary<T>(
      "sub", a, b, [](const auto& a, const auto& b) { return a - b; },
      // d(a-b)/da = 1, d(a-b)/db = -1
      [](const auto& g, const auto&, const auto&, const auto&) { return g; },
      [](const auto& g, const auto&, const auto&, const auto&) { return -g; });
}

template <class T>
BasicVar<T> detail::mul(Operand<T> a, Operand<T> b) {
  return binary<T>(
      "mul", a, b, [](const auto& a, const auto& b) { return a * b; },
      // d(ab)/da = b, d(ab)/db = a
      [](const auto& g, const auto&, const auto& b, const auto&) { return g * b; },
      [](const auto& g, const auto& a, const auto&, const auto&) { return g * a; });
}

template <class T>
BasicVar<T> detail::div(Operand<T> a, Operand<T> b) {
  require_domain(
      "div", b, [](T v) { return v == T(0); }, "division by zero");
  return binary<T>(
      "div", a, b, [](const auto& a, const auto& b) { return a / b; },
      // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -(a/b)/b
      [](const auto& g, const auto&, const auto& b, const auto&) { return g / b; },
      [](const auto& g, const auto&, const auto& b, const auto& y) { return -g * y / b; });
}

// Note [ties]: where a == b, maximum and minimum send the whole gradient to b. relu(x) is
// maximum(x, 0) with the tie at x = 0 going to the constant 0, hence relu'(0) = 0 in both.
template <class T>
BasicVar<T> detail::maximum(Operand<T> a, Operand<T> b) {
  return binary<T>(
      "maximum", a, b, [](const auto& a, const auto& b) { return math::maximum(a, b); },
      // d max(a,b)/da = [a > b], d max(a,b)/db = [a <= b]
      [](const auto& g, const auto& a, const auto& b, const auto&) {
        return math::where(a > b, g, T(0));
      },
      [](const auto& g, const auto& a, const auto& b, const auto&) {
        return math::where(a > b, T(0), g);
      });
}

template <class T>
BasicVar<T> detail::minimum(Operand<T> a, Operand<T> b) {
  return binary<T>(
      "minimum", a, b, [](const auto& a, const auto& b) { return math::minimum(a, b); },
      // d min(a,b)/da = [a < b], d min(a,b)/db = [a >= b]
      [](const auto& g, const auto& a, const auto& b, const auto&) {
        return math::where(a < b, g, T(0));
      },
      [](const auto& g, const auto& a, const auto& b, const auto&) {
        return math::where(a < b, T(0), g);
      });
}

namespace {
/// Throws std::domain_error where a negative base meets a non-integer exponent (a^b would be
/// NaN), naming the element, the base and the exponent.
template <class T>
void require_real_power(const BasicVar<T>& a, const BasicVar<T>& b) {
  const Node<T>& nb = *node_of("pow", b);
  if (nb.is_scalar()) {
    if (std::trunc(nb.scalar()) != nb.scalar()) {
      require_domain(
          "pow", a, [](T v) { return v < T(0); }, "negative base with a non-integer exponent");
    }
    return;
  }
  const Shape shape = broadcast_shape("pow", node_of("pow", a)->shape(), nb.shape());
  const auto base = xt::broadcast(a.value(), shape);
  const auto exponent = xt::broadcast(b.value(), shape);
  auto e = exponent.cbegin();
  std::size_t i = 0;
  for (auto x = base.cbegin(); x != base.cend(); ++x, ++e, ++i) {
    if (*x < T(0) && std::trunc(*e) != *e) {
      throw std::domain_error("pow: negative base with a non-integer exponent (element " +
                              std::to_string(i) + " of the result: base " + std::to_string(*x) +
                              ", exponent " + std::to_string(*e) + ")");
    }
  }
}
}  // namespace

template <class T>
BasicVar<T> pow(const BasicVar<T>& a, const BasicVar<T>& b) {
  require_real_power(a, b);
  // The gradient to the exponent, y ln a, needs a > 0: a variable exponent is checked here,
  // not when backward reaches the node.
  if (grad_enabled() && b.requires_grad()) {
    require_domain(
        "pow", a, [](T v) { return v <= T(0); },
        "the gradient with respect to the exponent needs a positive base");
  }
  return binary<T>(
      "pow", a, b, [](const auto& a, const auto& b) { return math::pow(a, b); },
      // d a^b/da = b a^(b-1), d a^b/db = a^b ln a
      [](const auto& g, const auto& a, const auto& b, const auto&) {
        return g * b * math::pow(a, b - T(1));
      },
      [](const auto& g, const auto& a, const auto&, const auto& y) {
        return g * y * math::log(a);
      });
}

template <class T>
BasicVar<T> pow(const BasicVar<T>& x, detail::identity_t<T> p) {
  return pow(x, constant<T>(p));
}

template <class T>
BasicVar<T> neg(const BasicVar<T>& x) {
  return unary<T>(
      "neg", x, [](const auto& x) { return -x; },
      // d(-x)/dx = -1
      [](const auto& g, const auto&, const auto&) { return -g; });
}

template <class T>
BasicVar<T> exp(const BasicVar<T>& x) {
  return unary<T>(
      "exp", x, [](const auto& x) { return math::exp(x); },
      // exp'(x) = y
      [](const auto& g, const auto&, const auto& y) { return g * y; });
}

template <class T>
BasicVar<T> log(const BasicVar<T>& x) {
  require_domain(
      "log", x, [](T v) { return v < T(0); }, "negative input");
  return unary<T>(
      "log", x, [](const auto& x) { return math::log(x); },
      // log'(x) = 1/x
      [](const auto& g, const auto& x, const auto&) { return g / x; });
}

template <class T>
BasicVar<T> abs(const BasicVar<T>& x) {
  return unary<T>(
      "abs", x, [](const auto& x) { return math::abs(x); },
      // abs'(x) = sign(x); abs'(0) = 0
      [](const auto& g, const auto& x, const auto&) { return g * math::sign(x); });
}

template <class T>
BasicVar<T> sqrt(const BasicVar<T>& x) {
  require_domain(
      "sqrt", x, [](T v) { return v < T(0); }, "negative input");
  return unary<T>(
      "sqrt", x, [](const auto& x) { return math::sqrt(x); },
      // sqrt'(x) = 1 / (2 y)
      [](const auto& g, const auto&, const auto& y) { return g / (T(2) * y); });
}

template <class T>
BasicVar<T> log1p(const BasicVar<T>& x) {
  require_domain(
      "log1p", x, [](T v) { return v < T(-1); }, "input below -1");
  return unary<T>(
      "log1p", x, [](const auto& x) { return math::log1p(x); },
      // log1p'(x) = 1 / (1 + x)
      [](const auto& g, const auto& x, const auto&) { return g / (T(1) + x); });
}

template <class T>
BasicVar<T> softplus(const BasicVar<T>& x) {
  return unary<T>(
      "softplus", x,
      [](const auto& x) { return math::maximum(x, T(0)) + math::log1p(math::exp(-math::abs(x))); },
      // softplus'(x) = sigmoid(x) = 1 / (1 + e^-x)
      [](const auto& g, const auto& x, const auto&) { return g / (T(1) + math::exp(-x)); });
}

template <class T>
BasicVar<T> gelu(const BasicVar<T>& x) {
  return unary<T>(
      "gelu", x,
      [](const auto& x) { return T(0.5) * x * (T(1) + math::erf(x * T(0.70710678118654752440))); },
      // gelu'(x) = Phi(x) + x phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2, phi the normal density
      [](const auto& g, const auto& x, const auto&) {
        return g * (T(0.5) * (T(1) + math::erf(x * T(0.70710678118654752440))) +
                    x * T(0.39894228040143267794) * math::exp(T(-0.5) * x * x));
      });
}

template <class T>
BasicVar<T> sin(const BasicVar<T>& x) {
  return unary<T>(
      "sin", x, [](const auto& x) { return math::sin(x); },
      // sin'(x) = cos x
      [](const auto& g, const auto& x, const auto&) { return g * math::cos(x); });
}

template <class T>
BasicVar<T> cos(const BasicVar<T>& x) {
  return unary<T>(
      "cos", x, [](const auto& x) { return math::cos(x); },
      // cos'(x) = -sin x
      [](const auto& g, const auto& x, const auto&) { return -g * math::sin(x); });
}

namespace {
// The conditions of clamp's and where's gradients: an expression on tensors, a constant 0/1
// mask (or the condition itself) on Vars, for math::where.
template <class T>
auto within(const BasicTensor<T>& x, T lo, T hi) {
  // The bounds as prvalues: the lazy expression then holds copies, not references to these
  // parameters, which are gone when it is evaluated (ASan saw clamp's gradient read them).
  return x >= T(lo) && x <= T(hi);
}
template <class T>
BasicVar<T> within(const BasicVar<T>& x, T lo, T hi) {
  return BasicVar<T>(BasicTensor<T>(xt::cast<T>(x.value() >= lo && x.value() <= hi)));
}
template <class T>
auto nonzero(const BasicTensor<T>& c) {
  return xt::not_equal(c, T(0));
}
template <class T>
const BasicVar<T>& nonzero(const BasicVar<T>& c) {
  return c;  // where() reads a nonzero condition as true
}
}  // namespace

template <class T>
BasicVar<T> clamp(const BasicVar<T>& x, detail::identity_t<T> lo, detail::identity_t<T> hi) {
  if (!(lo <= hi)) {
    throw std::invalid_argument("clamp: lo " + std::to_string(lo) + " is above hi " +
                                std::to_string(hi));
  }
  // Bounds vary per call, so the rule captures them: the tensor path (a scalar node's rule is
  // one static object per op).
  const BasicTensor<T>& v = node_of("clamp", x)->value();
  return record<T>("clamp", BasicTensor<T>(xt::clip(v, lo, hi)), {x.node()},
                   two_paths<T>([lo = T(lo), hi = T(hi)](const auto& n, const auto& g) {
                     // clamp'(x) = [lo <= x <= hi]
                     return n.grads(n.eval(math::where(within(n.input(0), lo, hi), g, T(0))));
                   }));
}

template <class T>
BasicVar<T> where(const BasicVar<T>& condition, const BasicVar<T>& a, const BasicVar<T>& b) {
  const BasicTensor<T>& c = node_of("where", condition)->value();
  const BasicTensor<T>& av = node_of("where", a)->value();
  const BasicTensor<T>& bv = node_of("where", b)->value();
  const Shape shape =
      broadcast_shape("where", broadcast_shape("where", c.shape(), av.shape()), bv.shape());
  BasicTensor<T> value = xt::where(xt::not_equal(xt::broadcast(c, shape), T(0)),
                                   xt::broadcast(av, shape), xt::broadcast(bv, shape));
  return record<T>("where", std::move(value), {condition.node(), a.node(), b.node()},
                   two_paths<T>([](const auto& n, const auto& g) {
                     // d where(c, a, b)/da = [c], /db = [not c]; nothing to the condition
                     decltype(auto) condition = n.input(0);
                     const auto& taken = nonzero(condition);
                     return n.grads(
                         n.none(),
                         grad_for(n, 1, [&] { return n.eval(math::where(taken, g, T(0))); }),
                         grad_for(n, 2, [&] { return n.eval(math::where(taken, T(0), g)); }));
                   }));
}

#define RETROGRAD_INSTANTIATE_ELEMENTWISE(T)                        \
  template BasicVar<T> detail::add(Operand<T>, Operand<T>);         \
  template BasicVar<T> detail::sub(Operand<T>, Operand<T>);         \
  template BasicVar<T> detail::mul(Operand<T>, Operand<T>);         \
  template BasicVar<T> detail::div(Operand<T>, Operand<T>);         \
  template BasicVar<T> detail::maximum(Operand<T>, Operand<T>);     \
  template BasicVar<T> detail::minimum(Operand<T>, Operand<T>);     \
  template BasicVar<T> pow(const BasicVar<T>&, const BasicVar<T>&); \
  template BasicVar<T> pow(const BasicVar<T>&, T);                  \
  template BasicVar<T> neg(const BasicVar<T>&);                     \
  template BasicVar<T> exp(const BasicVar<T>&);                     \
  template BasicVar<T> log(const BasicVar<T>&);                     \
  template BasicVar<T> abs(const BasicVar<T>&);                     \
  template BasicVar<T> sqrt(const BasicVar<T>&);                    \
  template BasicVar<T> log1p(const BasicVar<T>&);                   \
  template BasicVar<T> softplus(const BasicVar<T>&);                \
  template BasicVar<T> gelu(const BasicVar<T>&);                    \
  template BasicVar<T> sin(const BasicVar<T>&);                     \
  template BasicVar<T> cos(const BasicVar<T>&);                     \
  template BasicVar<T> clamp(const BasicVar<T>&, T, T);             \
  template BasicVar<T> where(const BasicVar<T>&, const BasicVar<T>&, const BasicVar<T>&);

RETROGRAD_INSTANTIATE_ELEMENTWISE(float)
RETROGRAD_INSTANTIATE_ELEMENTWISE(double)

namespace {
OpRow binary_row(const char* name, const char* signature, const char* forward,
                 std::vector<std::string> backward, OpCall apply, OpSyntax syntax = {},
                 std::vector<std::size_t> positive = {}, const char* notes = "") {
  std::vector<OpCheck> checks = binary_checks(apply, std::move(positive));
  return {name, "elementwise", signature, 2, forward, std::move(backward),
          true, syntax,        apply,     0, checks,  notes};
}

OpRow unary_row(const char* name, const char* forward, const char* backward, OpCall apply,
                bool positive = false, const char* notes = "", OpSyntax syntax = {},
                double high = 2.0) {
  const std::string signature = std::string(name) + "(x)";
  std::vector<OpCheck> checks = unary_checks(apply, positive, high);
  return {name, "elementwise", signature, 1, forward, {backward},
          true, syntax,        apply,     0, checks,  notes};
}
OpRow clamp_row() {
  const OpCall check = [](In v) { return clamp(v[0], -1.0, 1.5); };
  return {"clamp",
          "elementwise",
          "clamp(x, lo, hi)",
          1,
          "min(max({x}, lo), hi)",
          {"1 if lo <= {x} <= hi else 0"},
          true,
          {},
          [](In v) { return clamp(v[0], v.at(1).item(), v.at(2).item()); },
          2,
          {{"matrix, values on both sides of the bounds", {{3, 4}}, check, 0.2, 2.0},
           {"single number", {{}}, check, 0.2, 0.9}},
          "the bounds get the gradient (PyTorch's convention); throws when lo > hi"};
}

OpRow where_row() {
  const TensorD mask{{1, 0, 1, 1}, {0, 0, 1, 0}, {1, 1, 0, 1}};
  const OpCall check = [mask](In v) { return where(VarD(mask), v[0], v[1]); };
  return {"where",
          "elementwise",
          "where(condition, a, b)",
          3,
          "{b} if {a} else {c}",
          {"none", "1 if {a} else 0", "0 if {a} else 1"},
          true,
          {},
          [](In v) { return where(v[0], v[1], v[2]); },
          0,
          {{"mask [3, 4]", {{3, 4}, {3, 4}}, check},
           {"mask [3, 4], a [4], b single number", {{4}, {}}, check}},
          "a nonzero condition picks a; the three inputs broadcast together"};
}

}  // namespace

std::vector<OpRow> detail::elementwise_rows() {
  using Kind = OpSyntax::Kind;
  return {
      binary_row("add", "add(a, b), a + b", "{a} + {b}", {"1", "1"},
                 [](In v) { return v[0] + v[1]; }, {Kind::infix, "+", 1}),
      binary_row("sub", "sub(a, b), a - b", "{a} - {b}", {"1", "-1"},
                 [](In v) { return v[0] - v[1]; }, {Kind::infix, "-", 1}),
      binary_row("mul", "mul(a, b), a * b", "{a} * {b}", {"{b}", "{a}"},
                 [](In v) { return v[0] * v[1]; }, {Kind::infix, "*", 2}),
      binary_row(
          "div", "div(a, b), a / b", "{a} / {b}", {"1 / {b}", "-{a} / {b}^2"},
          [](In v) { return v[0] / v[1]; }, {Kind::infix, "/", 2}, {},
          "throws std::domain_error when b holds a zero"),
      binary_row(
          "maximum", "maximum(a, b)", "max({a}, {b})",
          {"1 if {a} > {b} else 0", "1 if {a} <= {b} else 0"},
          [](In v) { return maximum(v[0], v[1]); }, {Kind::none, "", 0, false, "max"}, {},
          "a tie sends the gradient to b, so maximum(x, 0) has relu's gradient"),
      binary_row(
          "minimum", "minimum(a, b)", "min({a}, {b})",
          {"1 if {a} < {b} else 0", "1 if {a} >= {b} else 0"},
          [](In v) { return minimum(v[0], v[1]); }, {Kind::none, "", 0, false, "min"}, {},
          "a tie sends the gradient to b"),
      binary_row(
          "pow", "pow(a, b), pow(x, p)", "{a}^{b}", {"{b} * {a}^({b} - 1)", "{y} * ln({a})"},
          [](In v) { return pow(v[0], v[1]); }, {Kind::infix, "^", 4, true}, {0},
          "a negative base needs an integer exponent; a variable exponent needs a "
          "positive base (std::domain_error)"),
      unary_row("neg", "-{x}", "-1", [](In v) { return -v[0]; }, false, "", {Kind::prefix, "-", 3}),
      unary_row("exp", "e^{x}", "{y}", [](In v) { return exp(v[0]); }),
      unary_row(
          "log", "ln {x}", "1 / {x}", [](In v) { return log(v[0]); }, true,
          "throws std::domain_error for a negative input (log 0 = -inf)"),
      unary_row(
          "abs", "|{x}|", "sign({x})", [](In v) { return abs(v[0]); }, false, "abs'(0) = 0"),
      unary_row(
          "sqrt", "sqrt({x})", "1 / (2 {y})", [](In v) { return sqrt(v[0]); }, true,
          "throws std::domain_error for a negative input"),
      unary_row(
          "log1p", "ln(1 + {x})", "1 / (1 + {x})", [](In v) { return log1p(v[0]); }, false,
          "throws std::domain_error below -1", {}, 0.9),
      unary_row(
          "softplus", "ln(1 + e^{x})", "sigmoid({x})", [](In v) { return softplus(v[0]); }, false,
          "computed as max(x, 0) + ln(1 + e^-|x|): no overflow"),
      unary_row(
          "gelu", "{x} Phi({x})", "Phi({x}) + {x} phi({x})", [](In v) { return gelu(v[0]); }, false,
          "the exact form, Phi(x) = (1 + erf(x / sqrt 2)) / 2; phi the normal density"),
      unary_row("sin", "sin {x}", "cos {x}", [](In v) { return sin(v[0]); }),
      unary_row("cos", "cos {x}", "-sin {x}", [](In v) { return cos(v[0]); }),
      clamp_row(),
      where_row(),
  };
}

}  // namespace retrograd
