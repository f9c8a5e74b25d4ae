// Elementwise ops: the forward, then the gradient to each input, each a lambda written once for
// numbers and tensors alike (Note [one formula, two paths] in op_machinery.hpp). binary() undoes
// broadcasting. The activations relu, sigmoid and tanh are in activation.cpp.

#include "ops/op_machinery.hpp"
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
  template BasicVar<T> abs(const BasicVar<T>&);

RETROGRAD_INSTANTIATE_ELEMENTWISE(float)
RETROGRAD_INSTANTIATE_ELEMENTWISE(double)

}  // namespace retrograd
