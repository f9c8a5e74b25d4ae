// grad(): gradients as values, create_graph to any order, hvp / hessian / jacobian, and the
// second-order gradient check of every op in the table.

#include <cmath>
#include <random>
#include <set>
#include <string>

#include "test_helpers.hpp"

using namespace retrograd;
using Catch::Matchers::Contains;

namespace {
double sigmoid_of(double z) { return 1.0 / (1.0 + std::exp(-z)); }

/// h(inputs) = sum_i <d<f(inputs), u>/d input_i, w_i>: its gradient holds second derivatives
/// of f, so a gradcheck of h checks every op's backward run on Vars (create_graph).
GradcheckFn second_order(const OpCall& f, std::uint64_t seed) {
  return [f, seed](const std::vector<VarD>& inputs) {
    std::mt19937_64 engine(seed);
    std::uniform_real_distribution<double> weight(0.5, 1.5);
    const VarD out = f(inputs);
    TensorD u = TensorD::from_shape(out.shape());
    for (double& v : u) v = weight(engine);
    const std::vector<VarD> g =
        grad(sum(out * VarD(u)), inputs, {/*create_graph=*/true, false, /*allow_unused=*/true});
    VarD h = sum(inputs[0]) * 0.0;  // keeps h a function of the inputs when every g is constant
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (!g[i].defined()) continue;
      TensorD w = TensorD::from_shape(g[i].shape());
      for (double& v : w) v = weight(engine);
      h = h + sum(g[i] * VarD(w));
    }
    return h;
  };
}
}  // namespace

TEST_CASE("grad of x^3: 3x^2, then 6x, then 6, each a Var of its own graph", "[grad]") {
  const VarD x(2.0, requires_grad, "x");
  const VarD y = x * x * x;
  const VarD d1 = grad(y, {x}, {true})[0];
  CHECK(d1.item() == Approx(12.0));
  CHECK(d1.requires_grad());
  const VarD d2 = grad(d1, {x}, {true})[0];
  CHECK(d2.item() == Approx(12.0));
  const VarD d3 = grad(d2, {x}, {true})[0];
  CHECK(d3.item() == Approx(6.0));
  // grad leaves .grad() alone
  CHECK_FALSE(x.has_grad());
}

TEST_CASE("grad without create_graph gives today's gradients as constants", "[grad]") {
  const VarD x(TensorD{1.0, 2.0, 3.0}, requires_grad, "x");
  const VarD w(TensorD{0.5, -1.0, 2.0}, requires_grad, "w");
  const VarD f = sum(exp(x) * w);
  const std::vector<VarD> g = grad(f, {x, w});
  REQUIRE(g.size() == 2);
  CHECK_FALSE(g[0].requires_grad());
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(g[0].value()(i) == Approx(std::exp(x.value()(i)) * w.value()(i)));
    CHECK(g[1].value()(i) == Approx(std::exp(x.value()(i))));
  }
}

TEST_CASE("the second derivative of the sigmoid neuron", "[grad]") {
  // f = sigmoid(w0 x0 + w1 x1 + w2), the course's neuron; d^2 f / dw0^2 = x0^2 s(1-s)(1-2s)
  const VarD w0(2.0, requires_grad, "w0"), w1(-3.0, requires_grad, "w1"),
      w2(-3.0, requires_grad, "w2");
  const double x0 = -1.0, x1 = -2.0;
  const VarD f = sigmoid(w0 * x0 + w1 * x1 + w2);
  const VarD df = grad(f, {w0}, {true})[0];
  const double s = sigmoid_of(2.0 * -1.0 + -3.0 * -2.0 - 3.0);
  CHECK(df.item() == Approx(x0 * s * (1 - s)));
  const std::vector<VarD> d2 = grad(df, {w0, w1});
  CHECK(d2[0].item() == Approx(x0 * x0 * s * (1 - s) * (1 - 2 * s)));
  CHECK(d2[1].item() == Approx(x0 * x1 * s * (1 - s) * (1 - 2 * s)));
}

TEST_CASE("hvp, hessian and jacobian against closed forms", "[grad]") {
  // Rosenbrock: f = (1 - a)^2 + 100 (b - a^2)^2
  const VarFunction<double> rosenbrock = [](const VarD& x) {
    const VarD a = sum(slice(x, 0, 0, 1)), b = sum(slice(x, 0, 1, 2));
    return sum(pow(1.0 - a, 2.0) + 100.0 * pow(b - a * a, 2.0));
  };
  const TensorD at{-1.2, 1.0};
  const double a = at(0), b = at(1);
  const TensorD h = hessian(rosenbrock, at);
  CHECK(h(0, 0) == Approx(2 - 400 * (b - 3 * a * a)));
  CHECK(h(0, 1) == Approx(-400 * a));
  CHECK(h(1, 0) == Approx(-400 * a));
  CHECK(h(1, 1) == Approx(200));
  const TensorD hv = hvp(rosenbrock, at, TensorD{1.0, -2.0});
  CHECK(hv(0) == Approx(h(0, 0) - 2 * h(0, 1)));
  CHECK(hv(1) == Approx(h(1, 0) - 2 * h(1, 1)));

  // f = sum(x e^x): H = diag((x + 2) e^x)
  const TensorD at2{0.5, -1.0};
  const TensorD h2 = hessian<double>([](const VarD& x) { return sum(x * exp(x)); }, at2);
  CHECK(h2(0, 0) == Approx((0.5 + 2) * std::exp(0.5)));
  CHECK(h2(1, 1) == Approx((-1.0 + 2) * std::exp(-1.0)));
  CHECK(h2(0, 1) == Approx(0.0).margin(1e-15));

  const TensorD j = jacobian<double>([](const VarD& x) { return x * x * 3.0; }, TensorD{1.0, 2.0});
  CHECK(j(0, 0) == Approx(6.0));
  CHECK(j(0, 1) == Approx(0.0));
  CHECK(j(1, 1) == Approx(12.0));
}

TEST_CASE("the Hessian of a softmax cross-entropy through a matmul", "[grad]") {
  // f(x) = -sum(t * log(softmax(x W))) = logsumexp(z) - t.z with z = x W, so
  // H = W (diag(p) - p p^T) W^T, p = softmax(z)
  const TensorD w{{0.5, -1.0, 0.3}, {1.2, 0.4, -0.7}};
  const TensorD t{{0.2, 0.5, 0.3}};
  const VarFunction<double> f = [&](const VarD& x) {
    return -sum(VarD(t) * log(softmax(matmul(x, VarD(w)), 1)));
  };
  const TensorD x{{0.3, -0.8}};
  const TensorD h = hessian(f, x);
  TensorD z = TensorD::from_shape({3});
  for (std::size_t j = 0; j < 3; ++j) z(j) = x(0, 0) * w(0, j) + x(0, 1) * w(1, j);
  double total = 0;
  for (std::size_t j = 0; j < 3; ++j) total += std::exp(z(j));
  TensorD p = TensorD::from_shape({3});
  for (std::size_t j = 0; j < 3; ++j) p(j) = std::exp(z(j)) / total;
  for (std::size_t a = 0; a < 2; ++a) {
    for (std::size_t b = 0; b < 2; ++b) {
      double expected = 0;
      for (std::size_t i = 0; i < 3; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
          expected += w(a, i) * ((i == j ? p(i) : 0.0) - p(i) * p(j)) * w(b, j);
        }
      }
      CHECK(h(a, b) == Approx(expected).margin(1e-12));
    }
  }
}

TEST_CASE("every op in the table has a backward that is itself differentiable", "[grad][table]") {
  // Every op with a gradient: its gradient run on Vars (create_graph) equals the one run on
  // tensors, and a gradcheck of h (finite differences of those gradients) passes. An op whose
  // rule runs on tensors only is refused by grad with create_graph, and fails here.
  std::uint64_t seed = 1;
  for (const OpRow& row : op_table()) {
    INFO("op " << row.name);
    for (const OpCheck& check : row.checks) {
      if (!check.differentiable) continue;
      INFO("case: " << check.what);
      const std::vector<TensorD> inputs = sample_inputs(check, seed);
      std::vector<VarD> vars;
      for (const TensorD& t : inputs) vars.emplace_back(t, requires_grad);
      const VarD out = sum(check.call(vars) * 1.5);
      const GradOptions both_paths{false, /*retain_graph=*/true, /*allow_unused=*/true};
      const std::vector<VarD> on_tensors = grad(out, vars, both_paths);
      std::vector<VarD> on_vars;
      REQUIRE_NOTHROW(on_vars = grad(out, vars, {true, true, true}));
      for (std::size_t i = 0; i < vars.size(); ++i) {
        INFO("input " << i);
        if (vars[i].size() == 0) continue;  // an empty gradient counts as none on tensors
        if (!on_tensors[i].defined()) {     // an empty upstream gradient counts as none on tensors
          if (on_vars[i].defined()) CHECK(xt::all(xt::equal(on_vars[i].value(), 0.0)));
          continue;
        }
        REQUIRE(on_vars[i].defined());
        REQUIRE(on_vars[i].shape() == on_tensors[i].shape());
        CHECK(xt::allclose(on_vars[i].value(), on_tensors[i].value(), 1e-12, 1e-12));
      }
      const GradcheckResult result = gradcheck(second_order(check.call, seed), inputs);
      INFO(result.summary());
      CHECK(result.passed);
      ++seed;
    }
  }
}

TEST_CASE("backward with create_graph leaves a gradient graph in each leaf", "[grad]") {
  const VarD x(TensorD{1.0, 2.0}, requires_grad, "x");
  const VarD w(0.5, requires_grad, "w");
  backward(sum(x * x * x) * w, {/*create_graph=*/true});
  // the values land in .grad(), as a plain backward puts them: d/dx = 3 x^2 w, d/dw = sum x^3
  CHECK(x.grad()(0) == Approx(1.5));
  CHECK(x.grad()(1) == Approx(6.0));
  CHECK(w.grad_item() == Approx(9.0));
  // and grad_var gives them as a graph: d/dx sum(3 x^2 w) = 6 x w, d/dw = 3 x^2
  const VarD gx = grad_var(x);
  REQUIRE(gx.requires_grad());
  const std::vector<VarD> second = grad(sum(gx), {x, w}, {false, /*retain_graph=*/true});
  CHECK(second[0].value()(0) == Approx(3.0));
  CHECK(second[0].value()(1) == Approx(6.0));
  CHECK(second[1].item() == Approx(15.0));
  // a second backward with create_graph adds up, on values and on graphs
  backward(sum(x * x), {true});
  CHECK(x.grad()(1) == Approx(6.0 + 4.0));
  CHECK(grad(sum(grad_var(x)), {x})[0].value()(1) == Approx(6.0 + 2.0));
  // without create_graph it is the plain backward, and the graph is gone
  backward(sum(x * 2.0), {});
  CHECK(x.grad()(1) == Approx(12.0));
  CHECK_THROWS_WITH(grad_var(x), Contains("'x'") && Contains("create_graph"));
}

TEST_CASE("backward with create_graph keeps no gradient graph of a leaf nothing else holds",
          "[grad]") {
  VarD p(TensorD{2.0, 3.0}, requires_grad, "p");
  {
    const VarD x(TensorD{1.0, 1.0}, requires_grad, "x");
    backward(sum(x * p), {/*create_graph=*/true});
    CHECK(!p.node().unique());  // x's gradient graph, g p, reads it
  }
  p.zero_grad();  // p's own gradient graph, g x, goes with its gradient
  // x is gone: the next backward with create_graph drops its gradient graph, which held p
  const VarD y(TensorD{1.0}, requires_grad, "y");
  backward(sum(y * y), {true});
  CHECK(p.node().unique());
}

TEST_CASE("a make_op rule on tensors refuses create_graph, naming the op", "[grad]") {
  const VarD x(TensorD{1.0, 2.0}, requires_grad, "x");
  const VarD y = make_op<double>("my_square", TensorD(x.value() * x.value()), {x},
                                 [](const Node<double>& n, const TensorD& g) -> GradList<double> {
                                   return {TensorD(2.0 * g * n.input(0))};
                                 });
  CHECK_NOTHROW(grad(sum(y), {x}, {/*create_graph=*/false, /*retain_graph=*/true}));
  CHECK_THROWS_WITH(grad(sum(y), {x}, {true}),
                    Contains("my_square") && Contains("no differentiable backward"));
}

namespace {
double rosenbrock_of(const VarD& x) {
  return std::pow(1 - x.value()(0), 2) +
         100 * std::pow(x.value()(1) - x.value()(0) * x.value()(0), 2);
}
VarD rosenbrock(const VarD& x) {
  const VarD a = sum(slice(x, 0, 0, 1)), b = sum(slice(x, 0, 1, 2));
  return sum(pow(1.0 - a, 2.0) + 100.0 * pow(b - a * a, 2.0));
}
double distance_to_minimum(const TensorD& x) { return std::hypot(x(0) - 1.0, x(1) - 1.0); }
}  // namespace

TEST_CASE("Newton's method on Rosenbrock reaches 1e-8 in a few steps, gradient descent does not",
          "[grad][newton]") {
  // Newton: x <- x - H^-1 g, with H from hessian() and g from grad(); both from (-1.2, 1).
  TensorD x{-1.2, 1.0};
  int newton_steps = 0;
  while (distance_to_minimum(x) > 1e-8 && newton_steps < 100) {
    const VarD xv(x, requires_grad);
    const TensorD g = grad(rosenbrock(xv), {xv})[0].value();
    const TensorD h = hessian<double>(rosenbrock, x);
    const double det = h(0, 0) * h(1, 1) - h(0, 1) * h(1, 0);
    x(0) -= (h(1, 1) * g(0) - h(0, 1) * g(1)) / det;
    x(1) -= (-h(1, 0) * g(0) + h(0, 0) * g(1)) / det;
    ++newton_steps;
  }
  CHECK(distance_to_minimum(x) <= 1e-8);
  CHECK(newton_steps <= 10);

  TensorD y{-1.2, 1.0};
  int descent_steps = 0;
  const int limit = 20000;
  while (distance_to_minimum(y) > 1e-8 && descent_steps < limit) {
    const VarD yv(y, requires_grad);
    const TensorD g = grad(rosenbrock(yv), {yv})[0].value();
    y -= 1e-3 * g;
    ++descent_steps;
  }
  INFO("Newton: " << newton_steps << " steps; gradient descent (lr 1e-3): " << descent_steps
                  << " steps, f = " << rosenbrock_of(VarD(y)));
  CHECK(descent_steps > 100 * newton_steps);
  CHECK(rosenbrock_of(VarD(x)) < 1e-15);
}
