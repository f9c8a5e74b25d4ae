// The step-through trace and DOT export on the course's (x + y) * z example.

#include "test_helpers.hpp"

using namespace retrograd;
using retrograd::testing::Equals;
using retrograd::testing::shaped;

TEST_CASE("the trace of (x + y) * z shows forward values and upstream x local = downstream",
          "[trace]") {
  VarD x(-2.0, requires_grad, "x"), y(5.0, requires_grad, "y"), z(-4.0, requires_grad, "z");
  VarD q = (x + y).named("q");
  VarD f = (q * z).named("f");
  const std::string text = step_through(f);
  CHECK_THAT(text, Catch::Contains("q = x + y = 3\n"));
  CHECK_THAT(text, Catch::Contains("f = q * z = -12\n"));
  CHECK_THAT(text, Catch::Contains("f = q * z    upstream df/df = 1\n"
                                   "    to q: 1 x -4 = -4\n"
                                   "    to z: 1 x 3 = 3\n"));
  CHECK_THAT(text, Catch::Contains("q = x + y    upstream df/dq = -4\n"
                                   "    to x: -4 x 1 = -4\n"
                                   "    to y: -4 x 1 = -4\n"));
  CHECK_THAT(text, Catch::Contains("df/dx = -4\n  df/dy = -4\n  df/dz = 3\n"));
  // the mul gate comes before the add gate in backward order
  CHECK(text.find("f = q * z    upstream") < text.find("q = x + y    upstream"));
}

TEST_CASE("the trace labels unnamed nodes and shows constants by value", "[trace]") {
  VarD w(2.0, requires_grad, "w");
  VarD f = sigmoid(w * 3.0);
  Trace<double> trace(f);
  CHECK_THAT(trace.forward_text(), Catch::Contains("n1 = w * 3 = 6\n"));
  CHECK_THAT(trace.forward_text(), Catch::Contains("n2 = sigmoid(n1) = 0.997527\n"));
  {
    ObserverScope<double> scope(trace);
    f.backward();
  }
  // the trace still names nodes after backward freed the graph
  CHECK_THAT(trace.backward_text(), Catch::Contains("n2 = sigmoid(n1)    upstream dn2/dn2 = 1"));
  CHECK_THAT(trace.gradients_text(), Catch::Contains("dn2/dw = 0.00739"));
}

TEST_CASE("to_dot writes names, ops, values, gradients and edges", "[dot]") {
  VarD x(-2.0, requires_grad, "x"), y(5.0, requires_grad, "y");
  VarD f = (x * y).named("f");
  f.backward(retain_graph);
  const std::string dot = to_dot(f);
  CHECK_THAT(dot, Catch::StartsWith("digraph retrograd {"));
  CHECK_THAT(dot, Catch::Contains("{x | value -2 | grad 5}"));
  CHECK_THAT(dot, Catch::Contains("{f = mul | value -10 | grad 1}"));
  CHECK_THAT(dot, Catch::Contains("n0 -> n2;"));
  CHECK_THAT(dot, Catch::Contains("n1 -> n2;"));
  CHECK_THROWS_WITH(write_dot(f, "/nonexistent-dir/graph.dot"),
                    Catch::Contains("/nonexistent-dir/graph.dot"));
}
