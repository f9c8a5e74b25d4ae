// Anomaly mode: the first non-finite forward value or gradient is named (op, node, input shapes,
// pass, context); without a guard nothing is checked; guards and contexts nest.

#include <cmath>
#include <thread>

#include "test_helpers.hpp"

using namespace retrograd;
using Catch::Matchers::Contains;
using retrograd::testing::shaped;

namespace {
/// The message of the AnomalyError `f` throws (fails the test when it throws none).
template <class F>
std::string anomaly_message(F&& f) {
  try {
    f();
  } catch (const AnomalyError& e) {
    return e.what();
  }
  FAIL("no AnomalyError");
  return {};
}
}  // namespace

TEST_CASE("anomaly mode names the op whose forward value is not finite", "[anomaly]") {
  DetectAnomalyGuard anomaly;
  VarD x(shaped<double>({1, 0, 2, 4, 5, 6}, {2, 3}), requires_grad, "x");
  VarD scale(shaped<double>({2, 2, 2}, {3}), false, "scale");
  const std::string message = anomaly_message([&] { return log(x * scale); });
  CHECK_THAT(message, Contains("anomaly in the forward pass: log produced -inf at [0, 1] of its "
                               "value of shape [2, 3]; its inputs: [2, 3] (mul)"));
  // The same for an op that records no node (no input requires a gradient).
  VarD c(shaped<double>({3, 0}, {2}), false, "c");
  CHECK_THAT(anomaly_message([&] { return log(c); }),
             Contains("log produced -inf at [1] of its value of shape [2]; its inputs: [2] "
                      "(leaf 'c')"));
  // A two-input op lists both inputs.
  VarD big(shaped<double>({1e300, 1}, {2}), requires_grad, "big");
  CHECK_THAT(anomaly_message([&] { return big * big; }),
             Contains("mul produced inf at [0] of its value of shape [2]; its inputs: [2] "
                      "(leaf 'big'), [2] (leaf 'big')"));
}

TEST_CASE("anomaly mode checks single-number nodes too", "[anomaly]") {
  DetectAnomalyGuard anomaly;
  VarD z(0.0, requires_grad, "z");
  CHECK_THAT(anomaly_message([&] { return log(z); }),
             Contains("log produced -inf (its value is a single number); its inputs: [] "
                      "(leaf 'z')"));
  // sqrt at 0 is 0, a finite value; its gradient 0.5 / sqrt(0) is not (the scalar rule's path
  // of the engine).
  VarD root = pow(z, 0.5);
  CHECK(root.item() == 0.0);
  root.named("root");
  CHECK_THAT(anomaly_message([&] { root.backward(); }),
             Contains("anomaly in the backward pass: the gradient that pow 'root' sends to its "
                      "input 0 (leaf 'z', shape []) is inf; its inputs: [] (leaf 'z'), [] "
                      "(leaf); its upstream gradient is finite"));
}

TEST_CASE("anomaly mode names the op whose gradient to an input is not finite", "[anomaly]") {
  VarD x(shaped<double>({4, 0, 1}, {3}), requires_grad, "x");
  DetectAnomalyGuard anomaly;
  VarD root = pow(x, 0.5);
  CHECK(root.value()(1) == 0.0);  // forward finite
  VarD total = sum(root * 3.0);
  const std::string message = anomaly_message([&] { total.backward(); });
  CHECK_THAT(message, Contains("anomaly in the backward pass: the gradient that pow sends to its "
                               "input 0 (leaf 'x', shape [3]) is inf at [1]; its inputs: [3] "
                               "(leaf 'x'), [] (leaf); its upstream gradient is finite"));
  // The ops after pow in backward order (sum, mul) passed finite gradients: pow is the first.
  CHECK_THAT(message, !Contains("sum") && !Contains("mul"));
}

TEST_CASE("a non-finite upstream gradient is named as such", "[anomaly]") {
  VarD x(shaped<double>({1, 2}, {2}), requires_grad, "x");
  DetectAnomalyGuard anomaly;
  VarD y = x * 2.0;
  y.named("doubled");
  const TensorD seed = shaped<double>({NAN, 1}, {2});
  CHECK_THAT(anomaly_message([&] { y.backward(seed); }),
             Contains("the gradient that mul 'doubled' sends to its input 0 (leaf 'x', shape [2]) "
                      "is nan at [0]; its inputs: [2] (leaf 'x'), [] (leaf); its upstream "
                      "gradient is already not finite"));
}

TEST_CASE("custom ops are checked under their own name", "[anomaly]") {
  VarD x(shaped<double>({-1, 1}, {2}), requires_grad, "x");
  DetectAnomalyGuard anomaly;
  const auto forward = [&] {
    TensorD value = x.value();
    value(0) = std::sqrt(value(0));
    return make_op<double>(
        "my_sqrt", value, {x},
        [](const Node<double>&, const TensorD& g) -> GradList<double> { return {g}; });
  };
  CHECK_THAT(anomaly_message(forward), Contains("my_sqrt produced nan at [0]"));
}

TEST_CASE("without a guard, non-finite values pass unchecked", "[anomaly]") {
  CHECK_FALSE(anomaly_detection_enabled());
  VarD x(shaped<double>({4, 0}, {2}), requires_grad, "x");
  VarD y = log(x);
  CHECK(std::isinf(y.value()(1)));
  VarD root = sum(pow(x, 0.5));
  root.backward();
  CHECK(std::isinf(x.grad()(1)));
}

TEST_CASE("guards nest and restore the mode they found, even when an anomaly unwinds them",
          "[anomaly]") {
  VarD zero(0.0, requires_grad);
  CHECK_FALSE(anomaly_detection_enabled());
  {
    DetectAnomalyGuard outer;
    {
      DetectAnomalyGuard inner;
      CHECK(anomaly_detection_enabled());
      CHECK_THROWS_AS(log(zero), AnomalyError);
    }
    CHECK(anomaly_detection_enabled());
    CHECK_THROWS_AS(log(zero), AnomalyError);
  }
  CHECK_FALSE(anomaly_detection_enabled());
  CHECK_NOTHROW(log(zero));
  try {
    DetectAnomalyGuard guard;
    (void)log(zero);
  } catch (const AnomalyError&) {
  }
  CHECK_FALSE(anomaly_detection_enabled());
}

TEST_CASE("the mode belongs to the thread that set it", "[anomaly]") {
  DetectAnomalyGuard anomaly;
  bool other_thread_enabled = true;
  bool other_thread_threw = false;
  std::thread other([&] {
    other_thread_enabled = anomaly_detection_enabled();
    VarD zero(0.0, requires_grad);
    try {
      (void)log(zero);
    } catch (const AnomalyError&) {
      other_thread_threw = true;
    }
  });
  other.join();
  CHECK_FALSE(other_thread_enabled);
  CHECK_FALSE(other_thread_threw);
}

TEST_CASE("contexts add what the program was doing, outermost first", "[anomaly]") {
  VarD zero(0.0, requires_grad);
  DetectAnomalyGuard anomaly;
  int described = 0;
  AnomalyContext run([&] {
    ++described;
    return std::string("run 7");
  });
  {
    AnomalyContext step([] { return std::string("step 3"); });
    CHECK(AnomalyContext::describe_all() == "run 7, step 3");
    CHECK_THAT(anomaly_message([&] { return log(zero); }),
               Contains("(its value is a single number); its inputs: [] (leaf), during run 7, "
                        "step 3"));
  }
  CHECK_THAT(anomaly_message([&] { return log(zero); }),
             Contains("during run 7") && !Contains("step 3"));
  // Described only when an anomaly is reported: ops that pass cost no description.
  const int before = described;
  for (int i = 0; i < 100; ++i) (void)(zero + 1.0);
  CHECK(described == before);
}
