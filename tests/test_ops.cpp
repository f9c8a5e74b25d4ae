// Every op: a gradcheck per input (double, finite differences) and a closed-form value check.

#include <algorithm>
#include <functional>
#include <utility>

#include "test_helpers.hpp"

using namespace retrograd;
using retrograd::testing::Equals;
using retrograd::testing::random_tensor;
using retrograd::testing::require_gradcheck;
using retrograd::testing::shaped;
using Inputs = std::vector<VarD>;

TEST_CASE("binary elementwise ops: values and gradients", "[ops][binary]") {
  const TensorD a = random_tensor({3, 4}, 1, 0.5, 2);
  const TensorD b = random_tensor({3, 4}, 2, 0.5, 2);
  require_gradcheck([](const Inputs& v) { return v[0] + v[1]; }, {a, b});
  require_gradcheck([](const Inputs& v) { return v[0] - v[1]; }, {a, b});
  require_gradcheck([](const Inputs& v) { return v[0] * v[1]; }, {a, b});
  require_gradcheck([](const Inputs& v) { return v[0] / v[1]; }, {a, b});
  require_gradcheck([](const Inputs& v) { return pow(v[0], v[1]); }, {a, b});

  VarD x(TensorD{1.0, -2.0}), y(TensorD{4.0, 8.0});
  CHECK_THAT((x + y).value(), Equals(TensorD{5.0, 6.0}));
  CHECK_THAT((x - y).value(), Equals(TensorD{-3.0, -10.0}));
  CHECK_THAT((x * y).value(), Equals(TensorD{4.0, -16.0}));
  CHECK_THAT((x / y).value(), Equals(TensorD{0.25, -0.25}));
  CHECK_THAT(pow(y, VarD(TensorD{0.5, 2.0})).value(), Equals(TensorD{2.0, 64.0}));
}

TEST_CASE("maximum and minimum: values, gradients away from ties, and the tie rule", "[ops][max]") {
  const TensorD a = random_tensor({2, 5}, 3);
  TensorD b = random_tensor({2, 5}, 4);
  require_gradcheck([](const Inputs& v) { return maximum(v[0], v[1]); }, {a, b});
  require_gradcheck([](const Inputs& v) { return minimum(v[0], v[1]); }, {a, b});

  // Note [ties]: the whole gradient goes to the second input.
  VarD x(TensorD{1.0, 3.0, 2.0}, requires_grad), y(TensorD{2.0, 3.0, 1.0}, requires_grad);
  sum(maximum(x, y)).backward();
  CHECK_THAT(x.grad(), Equals(TensorD{0.0, 0.0, 1.0}));
  CHECK_THAT(y.grad(), Equals(TensorD{1.0, 1.0, 0.0}));
  x.zero_grad();
  y.zero_grad();
  sum(minimum(x, y)).backward();
  CHECK_THAT(x.grad(), Equals(TensorD{1.0, 0.0, 0.0}));
  CHECK_THAT(y.grad(), Equals(TensorD{0.0, 1.0, 1.0}));
}

TEST_CASE("relu: gradient, relu'(0) = 0, and agreement with maximum(x, 0)", "[ops][relu]") {
  require_gradcheck([](const Inputs& v) { return relu(v[0]); },
                    {random_tensor({4, 3}, 5, -2, 2, 0.1)});
  VarD x(TensorD{-1.0, 0.0, 1.0}, requires_grad);
  VarD r = relu(x);
  CHECK_THAT(r.value(), Equals(TensorD{0.0, 0.0, 1.0}));
  sum(r).backward();
  CHECK_THAT(x.grad(), Equals(TensorD{0.0, 0.0, 1.0}));
  VarD x2(TensorD{-1.0, 0.0, 1.0}, requires_grad);
  sum(maximum(x2, 0.0)).backward();
  CHECK_THAT(x2.grad(), Equals(x.grad()));
}

TEST_CASE("unary ops: values and gradients", "[ops][unary]") {
  const TensorD x = random_tensor({3, 3}, 6, -2, 2, 0.1);
  const TensorD positive = random_tensor({3, 3}, 7, 0.2, 3);
  require_gradcheck([](const Inputs& v) { return -v[0]; }, {x});
  require_gradcheck([](const Inputs& v) { return sigmoid(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return tanh(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return exp(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return log(v[0]); }, {positive});
  require_gradcheck([](const Inputs& v) { return abs(v[0]); }, {x});
  require_gradcheck([](const Inputs& v) { return pow(v[0], 3.0); }, {x});
  require_gradcheck([](const Inputs& v) { return pow(v[0], -0.5); }, {positive});

  CHECK(sigmoid(VarD(0.0)).item() == 0.5);
  CHECK(tanh(VarD(0.0)).item() == 0.0);
  CHECK(exp(VarD(1.0)).item() == Approx(2.718281828459045));
  CHECK(log(VarD(std::exp(2.0))).item() == Approx(2.0));
  CHECK(abs(VarD(-3.0)).item() == 3.0);
  CHECK(pow(VarD(2.0), 10.0).item() == 1024.0);
  // sigmoid saturates to exactly 0 or 1 in float without NaN
  CHECK(sigmoid(Var(-200.0f)).item() == 0.0f);
  CHECK(sigmoid(Var(200.0f)).item() == 1.0f);

  VarD z(TensorD{-1.0, 0.0, 2.0}, requires_grad);
  sum(abs(z)).backward();
  CHECK_THAT(z.grad(), Equals(TensorD{-1.0, 0.0, 1.0}));  // abs'(0) = 0
}

TEST_CASE("matmul: values and gradients for both operands", "[ops][matmul]") {
  const TensorD a = random_tensor({3, 4}, 8);
  const TensorD b = random_tensor({4, 2}, 9);
  require_gradcheck([](const Inputs& v) { return matmul(v[0], v[1]); }, {a, b});
  VarD x(TensorD{{1.0, 2.0}, {3.0, 4.0}}), y(TensorD{{5.0, 6.0}, {7.0, 8.0}});
  CHECK_THAT(matmul(x, y).value(), Equals(TensorD{{19.0, 22.0}, {43.0, 50.0}}));
  // float goes through sgemm
  Var xf(Tensor{{1.0f, 2.0f}, {3.0f, 4.0f}}), yf(shaped<float>({5.0f, 6.0f}, {2, 1}));
  CHECK_THAT(matmul(xf, yf).value(), Equals(shaped<float>({17.0f, 39.0f}, {2, 1})));
}

TEST_CASE("linear equals matmul plus bias, with gradients for x, W and b", "[ops][linear]") {
  const TensorD x = random_tensor({5, 4}, 23), w = random_tensor({4, 3}, 24);
  const TensorD b = random_tensor({3}, 25);
  require_gradcheck([](const Inputs& v) { return linear(v[0], v[1], v[2]); }, {x, w, b});
  const TensorD fused = linear(VarD(x), VarD(w), VarD(b)).value();
  const TensorD composed = add(matmul(VarD(x), VarD(w)), VarD(b)).value();
  for (std::size_t i = 0; i < fused.size(); ++i)
    CHECK(fused.data()[i] == Approx(composed.data()[i]));
  CHECK_THROWS_WITH(linear(VarD(x), VarD(w), VarD(TensorD{1.0, 2.0})),
                    Catch::Contains("linear") && Catch::Contains("[2]"));
  CHECK_THROWS_WITH(linear(VarD(w), VarD(w), VarD(b)), Catch::Contains("[4, 3]"));
}

TEST_CASE("linear with an activation equals the activation of linear, in one node",
          "[ops][linear]") {
  const TensorD x = random_tensor({6, 4}, 31), w = random_tensor({4, 5}, 32);
  const TensorD b = random_tensor({5}, 33);
  struct Case {
    LinearActivation activation;
    const char* op;
    std::function<VarD(const VarD&)> separate;
  };
  const std::vector<Case> cases = {
      {LinearActivation::relu, "linear_relu", [](const VarD& z) { return relu(z); }},
      {LinearActivation::sigmoid, "linear_sigmoid", [](const VarD& z) { return sigmoid(z); }},
      {LinearActivation::tanh, "linear_tanh", [](const VarD& z) { return tanh(z); }},
      {LinearActivation::none, "linear", [](const VarD& z) { return z; }}};
  for (const Case& c : cases) {
    INFO(c.op);
    require_gradcheck(
        [&](const Inputs& v) { return sum(linear(v[0], v[1], v[2], c.activation) * v[3]); },
        {x, w, b, random_tensor({6, 5}, 34)});
    VarD xv(x, requires_grad), wv(w, requires_grad), bv(b, requires_grad);
    VarD fused = linear(xv, wv, bv, c.activation);
    CHECK(fused.op() == c.op);
    sum(fused * fused).backward();
    const TensorD dx = xv.grad(), dw = wv.grad(), db = bv.grad();
    xv.zero_grad();
    wv.zero_grad();
    bv.zero_grad();
    VarD separate = c.separate(linear(xv, wv, bv));
    sum(separate * separate).backward();
    for (std::size_t i = 0; i < fused.size(); ++i) {
      CHECK(fused.value().data()[i] == Approx(separate.value().data()[i]).epsilon(1e-12));
    }
    const std::pair<const TensorD*, const TensorD*> grads[] = {
        {&dx, &xv.grad()}, {&dw, &wv.grad()}, {&db, &bv.grad()}};
    for (const auto& [got, want] : grads) {
      for (std::size_t i = 0; i < got->size(); ++i) {
        CHECK(got->data()[i] == Approx(want->data()[i]).epsilon(1e-12));
      }
    }
  }
  // relu's tie: relu'(0) = 0 inside the fused node too
  VarD zero_in(shaped<double>({0.0}, {1, 1}), requires_grad);
  VarD y = linear(zero_in, VarD(shaped<double>({1.0}, {1, 1})), VarD(TensorD{0.0}),
                  LinearActivation::relu);
  y.backward();
  CHECK(zero_in.grad_item() == 0.0);
  CHECK_THROWS_WITH(linear(VarD(x), VarD(w), VarD(TensorD{1.0}), LinearActivation::relu),
                    Catch::Contains("linear_relu") && Catch::Contains("[1]"));
}

TEST_CASE("transpose and reshape", "[ops][shape]") {
  const TensorD a = random_tensor({2, 3}, 10);
  require_gradcheck([](const Inputs& v) { return transpose(v[0]) * transpose(v[0]); }, {a});
  require_gradcheck([](const Inputs& v) { return reshape(v[0], {3, 2}) * 2.0; }, {a});
  VarD x(TensorD{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  CHECK_THAT(transpose(x).value(), Equals(TensorD{{1.0, 4.0}, {2.0, 5.0}, {3.0, 6.0}}));
  CHECK_THAT(reshape(x, {3, 2}).value(), Equals(TensorD{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}));
}

TEST_CASE("reductions over all elements and along an axis, with keepdims", "[ops][reduce]") {
  const TensorD a = random_tensor({2, 3, 4}, 11);
  require_gradcheck([](const Inputs& v) { return sum(v[0]); }, {a});
  require_gradcheck([](const Inputs& v) { return mean(v[0]); }, {a});
  require_gradcheck([](const Inputs& v) { return max(v[0]); }, {a});
  for (int axis : {0, 1, 2, -1}) {
    for (bool keep : {false, true}) {
      INFO("axis " << axis << " keepdims " << keep);
      require_gradcheck([=](const Inputs& v) { return sum(v[0], axis, keep); }, {a});
      require_gradcheck([=](const Inputs& v) { return mean(v[0], axis, keep); }, {a});
      require_gradcheck([=](const Inputs& v) { return max(v[0], axis, keep); }, {a});
    }
  }
  VarD x(TensorD{{1.0, 5.0, 3.0}, {4.0, 2.0, 6.0}});
  CHECK(sum(x).item() == 21.0);
  CHECK(mean(x).item() == 3.5);
  CHECK(max(x).item() == 6.0);
  CHECK_THAT(sum(x, 0).value(), Equals(TensorD{5.0, 7.0, 9.0}));
  CHECK_THAT(sum(x, 1, true).value(), Equals(shaped({9.0, 12.0}, {2, 1})));
  CHECK_THAT(mean(x, -1).value(), Equals(TensorD{3.0, 4.0}));
  CHECK_THAT(max(x, 1).value(), Equals(TensorD{5.0, 6.0}));
  CHECK(max(x, 0, true).shape() == Shape{1, 3});
}

TEST_CASE("max reductions send a tie's gradient to the first largest element", "[ops][max]") {
  VarD x(TensorD{{2.0, 7.0, 7.0}, {3.0, 3.0, 1.0}}, requires_grad);
  sum(max(x, 1)).backward();
  CHECK_THAT(x.grad(), Equals(TensorD{{0.0, 1.0, 0.0}, {1.0, 0.0, 0.0}}));
  VarD y(TensorD{4.0, 1.0, 4.0}, requires_grad);
  max(y).backward();
  CHECK_THAT(y.grad(), Equals(TensorD{1.0, 0.0, 0.0}));
}

TEST_CASE("softmax and log_softmax: stable values and gradients along any axis", "[ops][softmax]") {
  const TensorD a = random_tensor({3, 4}, 12);
  const TensorD w = random_tensor({3, 4}, 13);  // weights make the output non-trivial
  for (int axis : {0, 1, -1}) {
    INFO("axis " << axis);
    require_gradcheck([=](const Inputs& v) { return softmax(v[0], axis) * v[1]; }, {a, w});
    require_gradcheck([=](const Inputs& v) { return log_softmax(v[0], axis) * v[1]; }, {a, w});
  }
  VarD x(TensorD{{1000.0, 1000.0}, {0.0, std::log(3.0)}});
  const TensorD s = softmax(x).value();
  CHECK(s(0, 0) == Approx(0.5));
  CHECK(s(1, 1) == Approx(0.75));
  const TensorD ls = log_softmax(x).value();
  CHECK(ls(0, 0) == Approx(std::log(0.5)));
  CHECK(ls(1, 0) == Approx(std::log(0.25)));
}

TEST_CASE("broadcasting: gradients are summed back to each input's shape", "[ops][broadcast]") {
  const TensorD matrix = random_tensor({4, 3}, 14, 0.5, 2);
  const TensorD row = random_tensor({3}, 15, 0.5, 2);
  const TensorD column = random_tensor({4, 1}, 16, 0.5, 2);
  const TensorD scalar = random_tensor({}, 17, 0.5, 2);
  for (const TensorD& other : {row, column, scalar}) {
    INFO("shape " << shape_string(other.shape()));
    require_gradcheck([](const Inputs& v) { return v[0] + v[1]; }, {matrix, other});
    require_gradcheck([](const Inputs& v) { return v[1] - v[0]; }, {matrix, other});
    require_gradcheck([](const Inputs& v) { return v[0] * v[1]; }, {matrix, other});
    require_gradcheck([](const Inputs& v) { return v[1] / v[0]; }, {matrix, other});
    require_gradcheck([](const Inputs& v) { return maximum(v[0], v[1]); }, {matrix, other});
    require_gradcheck([](const Inputs& v) { return pow(v[0], v[1]); }, {matrix, other});
  }
  // the dense-layer bias: [n, out] + [out]
  VarD x(TensorD{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}), b(TensorD{10.0, 20.0}, requires_grad);
  sum(x + b).backward();
  CHECK_THAT(b.grad(), Equals(TensorD{3.0, 3.0}));
}

TEST_CASE("operators with plain numbers on both sides", "[ops][scalar]") {
  VarD x(3.0, requires_grad, "x");
  VarD f = 2.0 * x + 1.0 - x / 4.0 + (1.0 - x) * (6.0 / x);
  // f = 2x + 1 - x/4 + 6/x - 6 at x = 3
  CHECK(f.item() == Approx(6.0 + 1.0 - 0.75 + 2.0 - 6.0));
  f.backward();
  // f' = 2 - 1/4 - 6/x^2
  CHECK(x.grad_item() == Approx(2.0 - 0.25 - 6.0 / 9.0));
  Var y(2.0f, requires_grad);
  Var g = y * 1.5 + 0.5;  // double literals convert to the Var's element type
  CHECK(g.item() == 3.5f);
}

// Note [scalar nodes]: ops on single numbers run on plain numbers, ops on anything else on
// tensors. Both paths evaluate the same formulas; a 1-element tensor of shape [1] takes the
// tensor path, so each op is run both ways and compared.
TEST_CASE("elementwise ops on single numbers agree with the tensor path", "[ops][scalar]") {
  // Every elementwise op of the table with one or two Var inputs, on scalar nodes (Note
  // [scalar nodes]) and on one-element tensors; inputs its domain keeps positive stay positive.
  for (const OpRow& row : op_table()) {
    if (!row.elementwise || row.arity > 2 || row.numbers > 0) continue;
    const std::vector<std::size_t>& positive = row.checks.at(0).positive;
    const auto value = [&](std::size_t i, double v) {
      const bool keep = std::find(positive.begin(), positive.end(), i) != positive.end();
      return keep ? std::abs(v) : v;
    };
    for (const auto& [p, q] : {std::pair{0.7, -0.6}, std::pair{-0.6, 0.7}}) {
      INFO(row.name << "(" << value(0, p) << ", " << value(1, q) << ")");
      std::vector<VarD> numbers, tensors;
      for (std::size_t i = 0; i < static_cast<std::size_t>(row.arity); ++i) {
        const double v = value(i, i == 0 ? p : q);
        numbers.emplace_back(v, requires_grad);
        tensors.emplace_back(TensorD{v}, requires_grad);
      }
      VarD zs = row.apply(numbers), zt = row.apply(tensors);
      CHECK(zs.node()->is_scalar());
      CHECK(zs.item() == Approx(zt.item()).epsilon(1e-14));
      zs.backward();
      zt.backward();
      for (std::size_t i = 0; i < numbers.size(); ++i) {
        CHECK(numbers[i].grad_item() == Approx(tensors[i].grad_item()).epsilon(1e-14));
      }
    }
  }
}

TEST_CASE("pow on single numbers agrees with the tensor path", "[ops][scalar][pow]") {
  const auto check = [](double base, double exponent) {
    INFO("pow(" << base << ", " << exponent << ")");
    VarD as(base, requires_grad), bs(exponent, requires_grad);
    VarD av(TensorD{base}, requires_grad), bv(TensorD{exponent}, requires_grad);
    VarD zs = pow(as, bs), zt = pow(av, bv);
    CHECK(zs.shape().empty());
    CHECK(zs.item() == Approx(zt.item()).epsilon(1e-14));
    zs.backward();
    zt.backward();
    CHECK(as.grad_item() == Approx(av.grad_item()).epsilon(1e-14));
    CHECK(bs.grad_item() == Approx(bv.grad_item()).epsilon(1e-14));
  };
  check(0.7, -1.3);
  check(1.3, 0.7);
  VarD x(-1.5, requires_grad);
  VarD cube = pow(x, 3.0);
  CHECK(cube.shape().empty());
  CHECK(cube.item() == -3.375);
  cube.backward();
  CHECK(x.grad_item() == 3 * 1.5 * 1.5);
}

TEST_CASE("pow: a negative base needs an integer exponent, a variable exponent a positive base",
          "[ops][pow][errors]") {
  const TensorD p = pow(VarD(TensorD{-2.0, 9.0}), VarD(TensorD{2.0, 0.5})).value();
  CHECK(p(0) == Approx(4.0));
  CHECK(p(1) == Approx(3.0));
  CHECK_THROWS_WITH(pow(VarD(TensorD{-2.0, 3.0}), VarD(TensorD{0.5, 2.0})),
                    Catch::Contains("pow") && Catch::Contains("non-integer exponent") &&
                        Catch::Contains("element 0") && Catch::Contains("-2"));
  // broadcast: [2, 1] against [2]; element 3 of the [2, 2] result would be (-8)^(1/3)
  CHECK_THROWS_WITH(pow(VarD(shaped({1.0, -8.0}, {2, 1})), VarD(TensorD{2.0, 1.0 / 3})),
                    Catch::Contains("element 3") && Catch::Contains("-8"));
  CHECK_THROWS_AS(pow(VarD(-8.0), VarD(1.0 / 3)), std::domain_error);

  // The gradient to the exponent, a^b ln a, needs a > 0: a variable exponent is refused at once.
  VarD e(2.0, requires_grad);
  CHECK_THROWS_WITH(pow(VarD(-2.0), e), Catch::Contains("pow") &&
                                            Catch::Contains("positive base") &&
                                            Catch::Contains("-2"));
  CHECK_THROWS_WITH(pow(VarD(TensorD{1.0, 0.0}), VarD(TensorD{2.0, 2.0}, requires_grad)),
                    Catch::Contains("positive base") && Catch::Contains("element 1 is 0"));
  {
    NoGradGuard no_grad;
    CHECK(pow(VarD(-2.0), e).item() == 4.0);
  }
  // A constant exponent: the base's gradient alone, defined for a negative base.
  VarD base(-2.0, requires_grad);
  VarD y = pow(base, VarD(3.0));
  CHECK(y.item() == -8.0);
  y.backward();
  CHECK(base.grad_item() == 12.0);
}

TEST_CASE("scalar graphs: gradcheck, numbers on either side, ties and errors", "[ops][scalar]") {
  const TensorD x = scalar_tensor(0.7), y = scalar_tensor(-1.3);
  require_gradcheck([](const Inputs& v) { return sigmoid(v[0] * v[1] + 0.5) / (2.0 - tanh(v[1])); },
                    {x, y});
  require_gradcheck([](const Inputs& v) { return exp(-v[0]) - abs(v[1]) * log(v[0]); }, {x, y});
  require_gradcheck([](const Inputs& v) { return maximum(v[0], 0.1) * minimum(v[1], 0.1); },
                    {x, y});
  require_gradcheck([](const Inputs& v) { return 3.0 - v[0] / 2.0 + 1.0 / v[1]; }, {x, y});

  // A tie of maximum / minimum sends the gradient to the second input, as for tensors.
  VarD t(0.5, requires_grad), u(0.5, requires_grad);
  maximum(t, u).backward();
  CHECK(t.grad_item() == 0.0);
  CHECK(u.grad_item() == 1.0);
  VarD zero(0.0, requires_grad);
  maximum(zero, 0.0).backward();
  CHECK(zero.grad_item() == 0.0);

  // A number, or a single-number Var, broadcast against a tensor.
  VarD m(TensorD{1.0, 2.0, 3.0}, requires_grad), s(2.0, requires_grad);
  VarD p = m * 2.0 + m * s;
  CHECK_THAT(p.value(), Equals(TensorD{4.0, 8.0, 12.0}));
  sum(p).backward();
  CHECK_THAT(m.grad(), Equals(TensorD{4.0, 4.0, 4.0}));
  CHECK(s.grad_item() == 6.0);
  CHECK(s.grad().shape().empty());

  CHECK_THROWS_WITH(VarD(1.0, requires_grad) / 0.0,
                    Catch::Contains("div") && Catch::Contains("division by zero"));
  CHECK_THROWS_AS(1.0 / VarD(0.0), std::domain_error);
  CHECK_THROWS_WITH(log(VarD(-1.0, requires_grad)),
                    Catch::Contains("log") && Catch::Contains("negative"));
}

// Note [numbers in ops]: `x + 0.5` on a single number keeps 0.5 in the result's node; traces,
// DOT and observers still see a constant input, made when they ask for the inputs.
TEST_CASE("a plain number next to a single number is kept by the op, shown as a constant",
          "[ops][scalar]") {
  VarD x(2.0, requires_grad, "x");
  const auto check_constant = [](const VarD& y, std::size_t slot, double number) {
    INFO(y.op() << " slot " << slot);
    REQUIRE(y.node()->inputs().size() == 2);
    const Node<double>& c = *y.node()->inputs()[slot];
    CHECK(c.is_leaf());
    CHECK_FALSE(c.requires_grad());
    CHECK(c.scalar() == number);
    CHECK(y.node()->inputs()[1 - slot].get() != &c);
  };
  check_constant(x - 0.5, 1, 0.5);
  check_constant(3.0 / x, 0, 3.0);
  check_constant(maximum(x, 1.5), 1, 1.5);
  // Materialising midway changes nothing: backward and the values are the same after.
  VarD y = 4.0 - x * 3.0;
  check_constant(y, 0, 4.0);
  VarD z = minimum(y, -1.0) / 2.0;
  z.backward();
  CHECK(z.item() == -1.0);
  CHECK(x.grad_item() == -1.5);  // minimum(-2, -1) sends it to y; dz/dy = 0.5, dy/dx = -3
  VarD w = minimum(x * 3.0, 10.0) / 2.0;
  x.zero_grad();
  w.backward();
  CHECK(x.grad_item() == 1.5);
  // Without a gradient the number is not kept: the result is a constant.
  VarD plain(2.0);
  CHECK((plain + 1.0).node()->inputs().empty());
}

TEST_CASE("a node used twice and a diamond accumulate gradients over paths", "[ops][engine]") {
  require_gradcheck([](const Inputs& v) { return v[0] * v[0]; }, {random_tensor({3}, 18)});
  require_gradcheck(
      [](const Inputs& v) {
        VarD h = tanh(v[0] * v[1]);
        return sigmoid(h) * exp(h * 0.5) + h;  // diamond: h feeds three paths
      },
      {random_tensor({2, 2}, 19), random_tensor({2, 2}, 20)});
  VarD x(3.0, requires_grad);
  VarD y = x * x;  // dy/dx = 2x
  y.backward();
  CHECK(x.grad_item() == 6.0);
}

TEST_CASE("bad inputs raise clear errors naming the op and the shapes", "[ops][errors]") {
  VarD a(TensorD::from_shape({2, 3})), b(TensorD::from_shape({4}));
  a.value().fill(1.0);
  b.value().fill(1.0);
  CHECK_THROWS_WITH(a + b,
                    Catch::Contains("add") && Catch::Contains("[2, 3]") && Catch::Contains("[4]"));
  CHECK_THROWS_AS(a * b, std::invalid_argument);
  CHECK_THROWS_WITH(matmul(a, a), Catch::Contains("matmul") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(matmul(a, b), Catch::Contains("inner sizes 3 and 4"));
  CHECK_THROWS_WITH(reshape(a, {4, 2}), Catch::Contains("reshape") &&
                                            Catch::Contains("6 elements") &&
                                            Catch::Contains("[4, 2]"));
  CHECK_THROWS_WITH(sum(a, 2), Catch::Contains("sum") && Catch::Contains("axis 2"));
  CHECK_THROWS_AS(max(a, -3), std::out_of_range);
  CHECK_THROWS_WITH(softmax(a, 5), Catch::Contains("softmax"));
  const VarD empty(TensorD::from_shape({0, 3}));
  CHECK_THROWS_WITH(mean(empty), Catch::Contains("mean") && Catch::Contains("empty"));
  CHECK_THROWS_WITH(max(empty), Catch::Contains("empty"));
  CHECK_THROWS_WITH(softmax(empty), Catch::Contains("empty"));
  CHECK_THROWS_WITH(matmul(empty, VarD(TensorD::from_shape({3, 2}))), Catch::Contains("empty"));
  CHECK_THROWS_WITH(log(VarD(TensorD{1.0, -1.0})),
                    Catch::Contains("log") && Catch::Contains("element 1"));
  CHECK_THROWS_AS(VarD(1.0) / VarD(0.0), std::domain_error);
  CHECK_THROWS_WITH(pow(VarD(-2.0), 0.5), Catch::Contains("non-integer"));
  CHECK(pow(VarD(-2.0), 3.0).item() == -8.0);
  CHECK_THROWS_WITH(add(VarD(), VarD(1.0)), Catch::Contains("empty"));
}

TEST_CASE("custom ops plug into the graph through make_op", "[ops][custom]") {
  // the course's MultiplyGate: forward and backward written by hand
  auto multiply_gate = [](const VarD& x, const VarD& y) {
    return make_op<double>("multiply_gate", TensorD(x.value() * y.value()), {x, y},
                           [](const Node<double>& n, const TensorD& g) -> GradList<double> {
                             return {TensorD(n.input(1) * g), TensorD(n.input(0) * g)};
                           });
  };
  require_gradcheck([&](const Inputs& v) { return multiply_gate(v[0], v[1]); },
                    {random_tensor({3}, 21), random_tensor({3}, 22)});
  // a wrong-shaped gradient from a custom backward is reported, not accumulated
  VarD x(TensorD{1.0, 2.0}, requires_grad);
  VarD bad = make_op<double>(
      "bad_gate", TensorD(x.value() * 2.0), {x},
      [](const Node<double>&, const TensorD&) -> GradList<double> { return {zeros<double>({3})}; });
  CHECK_THROWS_WITH(bad.backward(TensorD{1.0, 1.0}), Catch::Contains("bad_gate") &&
                                                         Catch::Contains("[3]") &&
                                                         Catch::Contains("[2]"));
}

TEST_CASE("new elementwise ops: closed-form values, kinks and domains", "[ops][unary]") {
  CHECK(sqrt(VarD(9.0)).item() == 3.0);
  CHECK(log1p(VarD(0.0)).item() == 0.0);
  CHECK(softplus(VarD(0.0)).item() == Approx(std::log(2.0)));
  CHECK(softplus(VarD(1000.0)).item() == 1000.0);  // no overflow
  CHECK(softplus(VarD(-1000.0)).item() == 0.0);
  CHECK(gelu(VarD(1.0)).item() == Approx(0.8413447460685429));  // 1 * Phi(1), exact erf form
  CHECK(sin(VarD(0.0)).item() == 0.0);
  CHECK(cos(VarD(0.0)).item() == 1.0);
  CHECK_THROWS_WITH(sqrt(VarD(TensorD{4.0, -1.0})),
                    Catch::Contains("sqrt") && Catch::Contains("element 1"));
  CHECK_THROWS_WITH(log1p(VarD(-2.0)), Catch::Contains("below -1"));
  // clamp: the bounds themselves pass the gradient (PyTorch's convention)
  VarD x(TensorD{-2.0, -1.0, 0.5, 1.0, 3.0}, requires_grad);
  VarD c = clamp(x, -1.0, 1.0);
  CHECK_THAT(c.value(), Equals(TensorD{-1.0, -1.0, 0.5, 1.0, 1.0}));
  sum(c).backward();
  CHECK_THAT(x.grad(), Equals(TensorD{0.0, 1.0, 1.0, 1.0, 0.0}));
  CHECK_THROWS_WITH(clamp(x, 1.0, -1.0), Catch::Contains("clamp") && Catch::Contains("above"));
  // where: the condition picks, broadcasting, and gets no gradient
  VarD cond(TensorD{1.0, 0.0, 1.0}, requires_grad), a(TensorD{1.0, 2.0, 3.0}, requires_grad);
  VarD b(10.0, requires_grad);
  VarD w = where(cond, a, b);
  CHECK_THAT(w.value(), Equals(TensorD{1.0, 10.0, 3.0}));
  sum(w).backward();
  CHECK_THAT(a.grad(), Equals(TensorD{1.0, 0.0, 1.0}));
  CHECK(b.grad_item() == 1.0);
  CHECK_FALSE(cond.has_grad());
  // the float path agrees
  CHECK(gelu(Var(1.0f)).item() == Approx(0.8413447f));
}

TEST_CASE("N-d matmul: batches broadcast, 1-d operands as numpy", "[ops][matmul]") {
  const TensorD a = random_tensor({2, 1, 3, 4}, 31), b = random_tensor({3, 4, 2}, 32);
  const VarD p = matmul(VarD(a), VarD(b));
  REQUIRE(p.shape() == Shape{2, 3, 3, 2});
  // entry [1, 2] is a[1, 0] times b[2]
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = 0; j < 2; ++j) {
      double expected = 0;
      for (std::size_t k = 0; k < 4; ++k) expected += a(1, 0, i, k) * b(2, k, j);
      CHECK(p.value()(1, 2, i, j) == Approx(expected));
    }
  }
  CHECK(matmul(VarD(TensorD{1.0, 2.0}), VarD(TensorD{3.0, 4.0})).shape() == Shape{});
  CHECK(matmul(VarD(TensorD{1.0, 2.0}), VarD(TensorD{3.0, 4.0})).item() == 11.0);
  CHECK_THAT(matmul(VarD(TensorD{{1.0, 2.0}, {3.0, 4.0}}), VarD(TensorD{1.0, 1.0})).value(),
             Equals(TensorD{3.0, 7.0}));
  CHECK_THROWS_WITH(
      matmul(VarD(TensorD::from_shape({2, 3, 4})), VarD(TensorD::from_shape({3, 4, 2}))),
      Catch::Contains("batch axes [2] and [3] do not broadcast"));
  CHECK_THROWS_WITH(matmul(VarD(1.0), VarD(TensorD{1.0})), Catch::Contains("single number"));
  // float runs through the same BLAS path
  const Var pf = matmul(Var(Tensor::from_shape({4, 2, 3})), Var(Tensor::from_shape({3, 5})));
  CHECK(pf.shape() == Shape{4, 2, 5});
}

TEST_CASE("shape ops: values, and their errors name the op and the shapes", "[ops][shape]") {
  const VarD x(shaped<double>({0, 1, 2, 3, 4, 5}, {2, 3}));
  CHECK_THAT(slice(x, 1, -2, slice_end).value(), Equals(shaped<double>({1, 2, 4, 5}, {2, 2})));
  CHECK_THAT(slice(x, 1, slice_end, slice_end, -2).value(),
             Equals(shaped<double>({2, 0, 5, 3}, {2, 2})));
  CHECK(slice(x, 0, 5, 9).shape() == Shape{0, 3});
  CHECK_THAT(permute(x, {1, 0}).value(), Equals(TensorD(xt::transpose(x.value()))));
  CHECK_THAT(concat<double>({x, x}, 0).value(),
             Equals(shaped<double>({0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}, {4, 3})));
  CHECK(stack<double>({x, x}, 1).shape() == Shape{2, 2, 3});
  CHECK_THAT(stack<double>({x, x}, 1).value(),
             Equals(shaped<double>({0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5}, {2, 2, 3})));
  const std::vector<VarD> parts = split(x, {1, 2}, 1);
  CHECK_THAT(parts[1].value(), Equals(shaped<double>({1, 2, 4, 5}, {2, 2})));
  CHECK_THAT(pad(x, {{0, 1}, {1, 0}}, -1.0).value(),
             Equals(shaped<double>({-1, 0, 1, 2, -1, 3, 4, 5, -1, -1, -1, -1}, {3, 4})));
  CHECK(flatten(VarD(TensorD::from_shape({2, 3, 4})), 1).shape() == Shape{2, 12});
  CHECK(squeeze(unsqueeze(x, 0), 0).shape() == Shape{2, 3});
  CHECK(broadcast_to(VarD(TensorD{1.0, 2.0, 3.0}), {2, 3}).shape() == Shape{2, 3});
  VarD leaf(TensorD{1.0, 2.0}, requires_grad);
  CHECK_FALSE(detach(leaf * 2.0).requires_grad());

  CHECK_THROWS_WITH(slice(x, 0, 0, 2, 0),
                    Catch::Contains("slice: step 0") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(slice(x, 2, 0, 1), Catch::Contains("slice: axis 2 is out of range"));
  CHECK_THROWS_WITH(
      concat<double>({x, VarD(TensorD::from_shape({2, 2}))}, 0),
      Catch::Contains("concat") && Catch::Contains("[2, 2]") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(stack<double>({x, VarD(TensorD::from_shape({3, 2}))}, 0),
                    Catch::Contains("stack") && Catch::Contains("[3, 2]"));
  CHECK_THROWS_WITH(split(x, {1, 1}, 1), Catch::Contains("split") && Catch::Contains("size 3"));
  CHECK_THROWS_WITH(permute(x, {0, 0}), Catch::Contains("permute") && Catch::Contains("[0, 0]"));
  CHECK_THROWS_WITH(squeeze(x, 0), Catch::Contains("squeeze") && Catch::Contains("size 2"));
  CHECK_THROWS_WITH(broadcast_to(x, {3, 3}), Catch::Contains("broadcast_to"));
  CHECK_THROWS_WITH(pad(x, {{1, 1}}), Catch::Contains("pad") && Catch::Contains("[2, 3]"));
}

namespace {
IndexTensor indices(std::vector<std::int64_t> values, const Shape& shape) {
  IndexTensor t = IndexTensor::from_shape(shape);
  std::copy(values.begin(), values.end(), t.begin());
  return t;
}
}  // namespace

TEST_CASE("take, take_along_axis and argmax: gathers, scatter-add gradients, index errors",
          "[ops][index]") {
  VarD table(shaped<double>({0, 1, 10, 11, 20, 21}, {3, 2}), requires_grad);
  VarD rows = take(table, indices({2, 0, 2, -1}, {4}), 0);
  CHECK_THAT(rows.value(), Equals(shaped<double>({20, 21, 0, 1, 20, 21, 20, 21}, {4, 2})));
  sum(rows).backward();
  // row 2 was taken three times (once as -1): its gradient collects all three
  CHECK_THAT(table.grad(), Equals(shaped<double>({1, 1, 0, 0, 3, 3}, {3, 2})));
  const VarD x(shaped<double>({3, 1, 2, 0, 5, 4}, {2, 3}));
  CHECK_THAT(take_along_axis(x, indices({0, 1}, {2, 1}), 1).value(),
             Equals(shaped<double>({3, 5}, {2, 1})));
  CHECK_THAT(argmax(x, 1).value(), Equals(TensorD{0.0, 1.0}));
  CHECK_THAT(argmax(x, 0).value(), Equals(TensorD{0.0, 1.0, 1.0}));
  const bool converted = to_indices(TensorD{2.0, -1.0}) == indices({2, -1}, {2});
  CHECK(converted);

  CHECK_THROWS_WITH(take(table, indices({3}, {1}), 0),
                    Catch::Contains("take: index 3 is out of range for axis 0 of size 3"));
  CHECK_THROWS_WITH(take(table, indices({-4}, {1}), 0), Catch::Contains("index -4"));
  CHECK_THROWS_WITH(take(table, TensorD{1.0}, 0),
                    Catch::Contains("take") && Catch::Contains("floating-point"));
  CHECK_THROWS_WITH(take_along_axis(x, indices({0, 1}, {1, 2}), 1),
                    Catch::Contains("take_along_axis") && Catch::Contains("[1, 2]"));
  CHECK_THROWS_WITH(take_along_axis(x, indices({0, 3}, {2, 1}), 1),
                    Catch::Contains("index 3 is out of range for axis 1 of size 3"));
  CHECK_THROWS_WITH(to_indices(TensorD{0.5}), Catch::Contains("not a whole number"));
  CHECK_THROWS_WITH(argmax(x, 2), Catch::Contains("argmax: axis 2"));
}

TEST_CASE("logsumexp is stable and equals log(sum(exp(x)))", "[ops][reduce]") {
  const VarD x(TensorD{{1000.0, 1000.0}, {0.0, std::log(3.0)}});
  const TensorD lse = logsumexp(x, 1).value();
  CHECK(lse(0) == 1000.0 + std::log(2.0));
  CHECK(lse(1) == Approx(std::log(4.0)));
  CHECK(logsumexp(x, 0, true).shape() == Shape{1, 2});
}
