#include "test_helpers.hpp"

using namespace retrograd;
using retrograd::testing::Equals;
using retrograd::testing::shaped;

TEST_CASE("gradcheck passes a correct op and catches a wrong backward", "[gradcheck]") {
  const TensorD x = {0.5, -1.0, 2.0};
  auto square = [](const std::vector<VarD>& v) { return v[0] * v[0]; };
  CHECK(gradcheck(square, {x}).passed);

  auto wrong_square = [](const std::vector<VarD>& v) {
    return make_op<double>("wrong_square", TensorD(v[0].value() * v[0].value()), {v[0]},
                           [](const Node<double>& n, const TensorD& g) -> GradList<double> {
                             return {TensorD(g * n.input(0))};  // forgot the factor 2
                           });
  };
  const GradcheckResult result = gradcheck(wrong_square, {x});
  CHECK_FALSE(result.passed);
  // worst element: input 2.0, analytic 2, numeric 4
  CHECK(result.worst_input_index == 2);
  CHECK(result.worst_analytic == Approx(2.0));
  CHECK(result.worst_numeric == Approx(4.0));
  CHECK(result.max_abs_error == Approx(2.0));
  CHECK_THAT(result.summary(), Catch::Contains("FAILED") && Catch::Contains("element 2"));
}

TEST_CASE(
    "gradcheck tells a point where the function is not differentiable from a wrong "
    "gradient",
    "[gradcheck]") {
  auto relu_of = [](const std::vector<VarD>& v) { return relu(v[0]); };
  const GradcheckResult kink = gradcheck(relu_of, {TensorD{-1.0, 0.0, 2.0}});
  CHECK_FALSE(kink.passed);
  CHECK(kink.not_differentiable);
  CHECK(kink.worst_input_index == 1);
  CHECK(kink.worst_left == 0.0);
  CHECK(kink.worst_right == Approx(1.0));
  CHECK_THAT(kink.summary(), Catch::Contains("not differentiable at input 0 element 1") &&
                                 Catch::Contains("the slope is 0 from the left and 1 from the "
                                                 "right; backward gives 0"));
  // A wrong gradient at a smooth point stays a failure, even beside a kink.
  auto wrong_square = [](const std::vector<VarD>& v) {
    return make_op<double>("wrong_square", TensorD(v[0].value() * v[0].value()), {v[0]},
                           [](const Node<double>& n, const TensorD& g) -> GradList<double> {
                             return {TensorD(g * n.input(0))};
                           });
  };
  const GradcheckResult wrong = gradcheck(wrong_square, {TensorD{2.0}});
  CHECK_FALSE(wrong.not_differentiable);
  CHECK_THAT(wrong.summary(), Catch::Contains("FAILED"));
  auto both = [&](const std::vector<VarD>& v) { return relu(v[0]) + wrong_square({v[1]}); };
  CHECK_FALSE(gradcheck(both, {TensorD{0.0}, TensorD{2.0}}).not_differentiable);
  CHECK(gradcheck(relu_of, {TensorD{0.5}}).passed);
}

TEST_CASE("make_op takes its element type from the value", "[gradcheck][custom]") {
  auto square = [](const std::vector<VarD>& v) {
    return make_op("square", TensorD(v[0].value() * v[0].value()), {v[0]},
                   [](const Node<double>& n, const TensorD& g) -> GradList<double> {
                     return {TensorD(2.0 * g * n.input(0))};
                   });
  };
  CHECK(gradcheck(square, {TensorD{0.5, -1.0, 2.0}}).passed);
  Var x(Tensor{3.0f}, requires_grad);
  Var y = make_op(
      "twice", Tensor(2.0f * x.value()), {x},
      [](const Node<float>&, const Tensor& g) -> GradList<float> { return {Tensor(2.0f * g)}; });
  sum(y).backward();
  CHECK(x.grad()(0) == 2.0f);
}

TEST_CASE("gradcheck rejects a function whose output ignores its inputs", "[gradcheck]") {
  auto constant = [](const std::vector<VarD>&) { return VarD(1.0); };
  CHECK_THROWS_WITH(gradcheck(constant, {TensorD{1.0}}), Catch::Contains("does not depend"));
}

TEST_CASE("gradcheck checks parameters that the function reads without receiving them",
          "[gradcheck]") {
  const TensorD x = {0.5, -1.0, 2.0};
  VarD w(TensorD{1.5, -0.5, 0.25}, requires_grad, "w");
  const TensorD w_before = w.value();
  auto scaled = [&](const std::vector<VarD>& v) { return v[0] * w; };
  const GradcheckResult good = gradcheck(scaled, {x}, {w});
  CHECK(good.passed);
  CHECK_THAT(w.value(), Equals(w_before));  // shifted during the check, restored after
  CHECK_FALSE(w.has_grad());

  // A rule that forgets w's gradient: the input passes, the parameter (input 1) fails.
  auto wrong = [&](const std::vector<VarD>& v) {
    return make_op<double>("wrong_scale", TensorD(v[0].value() * w.value()), {v[0], w},
                           [](const Node<double>& n, const TensorD& g) -> GradList<double> {
                             return {TensorD(g * n.input(1)), zeros<double>(n.input(1).shape())};
                           });
  };
  CHECK(gradcheck(wrong, {x}).passed);
  const GradcheckResult bad = gradcheck(wrong, {x}, {w});
  CHECK_FALSE(bad.passed);
  CHECK(bad.worst_input == 1);
  CHECK(bad.worst_input_index == 2);
  CHECK(bad.worst_numeric == Approx(2.0));

  CHECK_THROWS_WITH(gradcheck(scaled, {x}, {VarD(TensorD{1.0}, false, "frozen")}),
                    Catch::Contains("parameter 0 'frozen' does not require a gradient"));
}
