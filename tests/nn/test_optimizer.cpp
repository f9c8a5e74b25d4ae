// Optimizers: the first steps of each against values worked out by hand, gradient clipping,
// readable state, double-buffered updates without reallocation, a refused non-finite step,
// and bad hyperparameters.

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "retrograd/nn/optimizer.hpp"
#include "retrograd/ops.hpp"

using namespace retrograd;
using namespace retrograd::nn;

namespace {
/// Runs `steps` steps on w = [1, -2] under the loss sum(w * c), whose gradient is always c.
template <class Opt>
TensorD run(Opt opt, std::size_t steps, TensorD c = {0.5, 0.1}) {
  VarD w(TensorD{1.0, -2.0}, requires_grad, "w");
  opt.attach({w});
  for (std::size_t i = 0; i < steps; ++i) {
    opt.zero_grad();
    sum(w * VarD(c)).backward();
    opt.step();
  }
  return w.value();
}

void check_values(const TensorD& got, std::initializer_list<double> expected) {
  REQUIRE(got.size() == expected.size());
  std::size_t i = 0;
  for (double e : expected) CHECK(got.data()[i++] == Approx(e).epsilon(1e-9).margin(1e-12));
}
}  // namespace

TEST_CASE("SGD: plain, momentum, Nesterov, weight decay", "[nn][optimizer]") {
  check_values(run(BasicSGD<double>(0.1), 2), {0.9, -2.02});
  // v1 = g, w1 = w0 - lr v1; v2 = 0.9 v1 + g = 1.9 g
  check_values(run(BasicSGD<double>(0.1, 0.9), 2), {0.855, -2.029});
  // Nesterov: w -= lr (g + 0.9 v): step 1 uses v1 = g, step 2 v2 = 1.9 g
  check_values(run(BasicSGD<double>(0.1, 0.9, true), 1), {0.905, -2.019});
  check_values(run(BasicSGD<double>(0.1, 0.9, true), 2), {0.7695, -2.0461});
  // g' = g + 0.01 w = [0.51, 0.08]
  check_values(run(BasicSGD<double>(0.1, 0, false, 0.01), 1), {0.949, -2.008});
}

TEST_CASE("Adagrad, RMSProp, Adam, AdamW first steps", "[nn][optimizer]") {
  // s1 = g^2: w1 = w0 - lr sign(g); s2 = 2 g^2: w2 = w1 - lr / sqrt(2) sign(g)
  check_values(run(BasicAdagrad<double>(0.1), 1), {0.9, -2.1});
  check_values(run(BasicAdagrad<double>(0.1), 2),
               {0.9 - 0.1 / std::sqrt(2.0), -2.1 - 0.1 / std::sqrt(2.0)});
  // s1 = 0.1 g^2: w1 = w0 - lr g / sqrt(0.1 g^2) = w0 - lr sqrt(10) sign(g)
  check_values(run(BasicRMSProp<double>(0.01, 0.9, 0), 1),
               {1 - 0.01 * std::sqrt(10.0), -2 - 0.01 * std::sqrt(10.0)});
  // With a constant gradient the bias-corrected moments are g and g^2: steps of lr sign(g).
  check_values(run(BasicAdam<double>(0.1, 0.9, 0.999, 0), 1), {0.9, -2.1});
  check_values(run(BasicAdam<double>(0.1, 0.9, 0.999, 0), 2), {0.8, -2.2});
  // AdamW: w (1 - lr wd) first, then the Adam step.
  check_values(run(BasicAdamW<double>(0.1, 0.9, 0.999, 0, 0.1), 1), {0.89, -2.08});
  // Adam's L2 weight decay goes through the gradient, g' = g + 0.1 w = [0.6, -0.1]: a step of
  // lr sign(g') at t = 1, which for the second element now points the other way.
  check_values(run(BasicAdam<double>(0.1, 0.9, 0.999, 0, 0.1), 1), {0.9, -1.9});
  // Float instances run the same rules.
  Var w(Tensor{1.f, -2.f}, requires_grad);
  SGD sgd(0.1f);
  sgd.attach({w});
  sum(w * Var(Tensor{0.5f, 0.1f})).backward();
  sgd.step();
  CHECK(w.value()(0) == Approx(0.95f));
}

namespace {
/// Three steps of `opt` on two float parameters whose gradients change every step, either by
/// step() or by step_slices() over pieces that cut both parameters (as a data-parallel group
/// splits them): the weights and the state after each.
template <class Opt>
std::vector<Tensor> steps_by(Opt opt, bool slices) {
  Var a(Tensor{0.3f, -1.2f, 2.f, 0.7f, -0.4f}, requires_grad),
      b(Tensor{1.f, -0.5f, 0.25f}, requires_grad);
  opt.attach({a, b});
  for (int step = 1; step <= 3; ++step) {
    opt.zero_grad();
    (sum(a * a * static_cast<float>(step)) + sum(b * b * b) * 0.5f).backward();
    if (!slices) {
      opt.step();
      continue;
    }
    const float* ga = a.grad().data();
    const float* gb = b.grad().data();
    opt.step_slices({{0, 0, 2, ga}, {0, 2, 3, ga + 2}, {1, 0, 1, gb}, {1, 1, 2, gb + 1}}, 1.f);
  }
  std::vector<Tensor> out = {a.value(), b.value()};
  for (const NamedState<float>& s : opt.state()) out.push_back(*s.tensor);
  return out;
}

template <class Opt>
void check_slices_match_step(const Opt& opt) {
  const std::vector<Tensor> whole = steps_by(opt, false), sliced = steps_by(opt, true);
  REQUIRE(whole.size() == sliced.size());
  for (std::size_t i = 0; i < whole.size(); ++i) {
    const bool same = whole[i] == sliced[i];  // bit for bit
    CHECK(same);
  }
}
}  // namespace

TEST_CASE("a step split in slices equals the whole step, for every optimizer", "[nn][optimizer]") {
  check_slices_match_step(SGD(0.1));
  check_slices_match_step(SGD(0.1, 0.9, true, 0.01));
  check_slices_match_step(Adagrad(0.1, 1e-10, 0.1, 0.01));
  check_slices_match_step(RMSProp(0.01, 0.9, 1e-8, 0.5, 0.01));
  check_slices_match_step(Adam(0.01, 0.9, 0.999, 1e-8, 0.01));
  check_slices_match_step(AdamW(0.01));
  // Only the slices given move, and the step counts once.
  Var w(Tensor{1.f, 2.f, 3.f}, requires_grad);
  SGD sgd(1.0);
  sgd.attach({w});
  const float g[1] = {0.5f};
  sgd.step_slices({{0, 1, 1, g}}, 1.f);
  const bool only_that_slice = w.value() == Tensor{1.f, 1.5f, 3.f};
  CHECK(only_that_slice);
  CHECK(sgd.iterations() == 1);
  CHECK_THROWS_WITH(sgd.step_slices({{0, 2, 2, g}}, 1.f),
                    Catch::Contains("SGD: step_slices: elements [2, 4) of parameter 0 of 1"));
  CHECK_THROWS_WITH(sgd.step_slices({{1, 0, 1, g}}, 1.f), Catch::Contains("parameter 1 of 1"));
  CHECK(sgd.iterations() == 1);
}

TEST_CASE("step_slices refuses a non-finite slice, or the verdict's refusal, changing nothing",
          "[nn][optimizer]") {
  Var w(Tensor{1.f, 2.f, 3.f}, requires_grad), u(Tensor{4.f}, requires_grad);
  SGD sgd(1.0, 0.5);
  sgd.attach({w, u});
  const float fine[2] = {0.5f, 0.25f};
  REQUIRE_FALSE(sgd.step_slices({{0, 0, 2, fine}}, 1.f));
  const Tensor w_after = w.value(), velocity = *sgd.state()[0].tensor;
  const float inf[1] = {std::numeric_limits<float>::infinity()};
  const std::optional<std::size_t> bad = sgd.step_slices({{0, 2, 1, fine}, {1, 0, 1, inf}}, 1.f);
  REQUIRE(bad);
  CHECK(*bad == 1);
  CHECK(std::isinf(sgd.rejected_value(1)(0)));
  CHECK((w.value() == w_after));
  CHECK((*sgd.state()[0].tensor == velocity));
  CHECK((u.value() == Tensor{4.f}));
  CHECK(sgd.iterations() == 1);
  // A finite step that another process refused (the verdict) is not taken either.
  std::optional<std::size_t> seen = 7;
  const auto refuse = [&](std::optional<std::size_t> found) {
    seen = found;
    return std::optional<std::size_t>(0);
  };
  CHECK(sgd.step_slices({{0, 0, 2, fine}}, 1.f, refuse) == std::optional<std::size_t>(0));
  CHECK_FALSE(seen);
  CHECK((w.value() == w_after));
  CHECK(sgd.iterations() == 1);
  // And an accepted one commits only its slices.
  const auto accept = [](std::optional<std::size_t> found) { return found; };
  REQUIRE_FALSE(sgd.step_slices({{0, 2, 1, fine}}, 1.f, accept));
  CHECK(w.value()(0) == w_after(0));
  CHECK(w.value()(2) == 3.f - 0.5f);
  CHECK(sgd.iterations() == 2);
}

TEST_CASE("clipping by global norm scales every gradient", "[nn][optimizer]") {
  BasicSGD<double> sgd(1.0);
  sgd.set_clip_norm(1.0);
  // g = [3, 4], norm 5: scaled to [0.6, 0.8]
  check_values(run(sgd, 1, {3.0, 4.0}), {0.4, -2.8});
  VarD a(TensorD{3.0}, requires_grad), b(TensorD{4.0}, requires_grad);
  sum(a * a / 6.0 + b * b / 8.0).backward();
  CHECK(global_grad_norm<double>({a, b}) == Approx(std::sqrt(2.0)));
}

TEST_CASE("optimizer state is readable; steps swap two sets of buffers allocated once",
          "[nn][optimizer]") {
  VarD w(TensorD{1.0, -2.0}, requires_grad), unused(TensorD{5.0}, requires_grad);
  BasicAdam<double> adam(0.1);
  adam.attach({w, unused});
  const TensorD* value = &std::as_const(w).value();
  auto state = adam.state();
  REQUIRE(state.size() == 4);
  CHECK(state[0].name == "m.0");
  CHECK(state[3].name == "v.1");
  const TensorD* m = state[0].tensor;
  std::vector<const double*> value_buffers, m_buffers;
  for (int i = 0; i < 4; ++i) {
    adam.zero_grad();
    sum(w * w).backward();
    adam.step();
    value_buffers.push_back(std::as_const(w).value().data());
    m_buffers.push_back(adam.state()[0].tensor->data());
  }
  CHECK(adam.iterations() == 4);
  // The tensors stay where they are (state() pointers keep working); their storage alternates
  // between the two buffers of Note [double-buffered steps], made by the first step.
  CHECK(&std::as_const(w).value() == value);
  CHECK(adam.state()[0].tensor == m);
  CHECK(value_buffers[0] != value_buffers[1]);
  CHECK(value_buffers[2] == value_buffers[0]);
  CHECK(value_buffers[3] == value_buffers[1]);
  CHECK(m_buffers[2] == m_buffers[0]);
  CHECK(adam.state()[0].tensor->data()[0] != 0.0);
  // A parameter that never received a gradient is left alone.
  CHECK(unused.value()(0) == 5.0);
  CHECK(BasicSGD<double>(0.1).name() == "SGD");
  CHECK(BasicAdamW<double>().name() == "AdamW");
}

TEST_CASE("step_if_finite refuses an update that leaves a NaN or an infinity, changing nothing",
          "[nn][optimizer][finite]") {
  VarD a(TensorD{1.0, 2.0}, requires_grad), b(TensorD{3.0}, requires_grad);
  BasicSGD<double> sgd(0.1, 0.9);
  sgd.attach({a, b});
  const auto step_on = [&](double scale) {
    sgd.zero_grad();
    (sum(a * a) + sum(b * scale)).backward();
    return sgd.step_if_finite();
  };
  CHECK_FALSE(step_on(1.0));
  const TensorD a_after = std::as_const(a).value(), b_after = std::as_const(b).value();
  const TensorD velocity = *sgd.state()[1].tensor;
  REQUIRE(sgd.iterations() == 1);
  const std::optional<std::size_t> bad = step_on(std::numeric_limits<double>::infinity());
  REQUIRE(bad);
  CHECK(*bad == 1);
  CHECK(std::isinf(sgd.rejected_value(1)(0)));
  CHECK((std::as_const(a).value() == a_after));
  CHECK((std::as_const(b).value() == b_after));
  CHECK((*sgd.state()[1].tensor == velocity));
  CHECK(sgd.iterations() == 1);
  // step() takes whatever comes.
  sgd.step();
  CHECK(std::isinf(std::as_const(b).value()(0)));
  CHECK(sgd.iterations() == 2);
}

TEST_CASE("optimizers reject bad hyperparameters with the optimizer's name", "[nn][optimizer]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_WITH(SGD(0.0), Catch::Contains("SGD: learning rate") && Catch::Contains("got 0"));
  REQUIRE_THROWS_WITH(SGD(-0.5), Catch::Contains("got -0.5"));
  REQUIRE_THROWS_WITH(Adam(nan), Catch::Contains("Adam: learning rate") && Catch::Contains("nan"));
  REQUIRE_THROWS_WITH(AdamW(std::numeric_limits<double>::infinity()), Catch::Contains("AdamW"));
  REQUIRE_THROWS_WITH(SGD(0.1, 1.5), Catch::Contains("momentum") && Catch::Contains("1.5"));
  REQUIRE_THROWS_WITH(SGD(0.1, 0, true), Catch::Contains("Nesterov"));
  REQUIRE_THROWS_WITH(AdamW(0.1, 1.0), Catch::Contains("AdamW: beta1"));
  REQUIRE_THROWS_WITH(RMSProp(0.1, 0.9, -1.0), Catch::Contains("RMSProp: eps"));
  SGD sgd(0.1);
  REQUIRE_THROWS_WITH(sgd.set_learning_rate(nan), Catch::Contains("SGD: learning rate"));
  REQUIRE_THROWS_WITH(sgd.set_clip_norm(-1), Catch::Contains("clip norm"));
  REQUIRE_THROWS_WITH(sgd.step(), Catch::Contains("attach"));
}
