// The step-through trace and DOT export on the course's (x + y) * z example.

#include <sstream>

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

TEST_CASE("a node used by two gates shows the sum of its gradients", "[trace]") {
  VarD x(3.0, requires_grad, "x"), y(2.0, requires_grad, "y");
  VarD f = (x * y + x).named("f");
  const std::string text = step_through(f);
  CHECK_THAT(text, Catch::Contains("    to x: 1 x 1 = 1    sum at x: 1 (path 1 of 2)\n"));
  CHECK_THAT(text, Catch::Contains("    to x: 1 x 2 = 2    sum at x: 1 + 2 = 3 (path 2 of 2)\n"));
  CHECK_THAT(text, Catch::Contains("df/dx = 3 (sum of 2 paths)\n  df/dy = 3\n"));

  // an interior node used twice by one gate collects both before it passes anything on
  VarD q = (x + y).named("q");
  VarD g = (q * q).named("g");
  const std::string square = step_through(g);
  CHECK_THAT(square, Catch::Contains("    to q: 1 x 5 = 5    sum at q: 5 (path 1 of 2)\n"
                                     "    to q: 1 x 5 = 5    sum at q: 5 + 5 = 10 (path 2 of 2)\n"
                                     "  q = x + y    upstream dg/dq = 10\n"));
}

TEST_CASE("step_through twice shows and leaves the same gradients", "[trace]") {
  VarD x(-2.0, requires_grad, "x"), y(5.0, requires_grad, "y"), z(-4.0, requires_grad, "z");
  VarD f = ((x + y) * z).named("f");
  const std::string first = step_through(f);
  const std::string second = step_through(f);
  CHECK(first == second);
  CHECK_THAT(second, Catch::Contains("df/dx = -4\n"));
  CHECK(x.grad_item() == -4.0);
  // a plain backward still accumulates, as documented
  f.backward(retain_graph);
  CHECK(x.grad_item() == -8.0);
}

TEST_CASE("a trace records only the latest pass of its own graph", "[trace]") {
  VarD x(2.0, requires_grad, "x");
  VarD f = (x * x).named("f");
  VarD other = (x * 3.0).named("other");
  Trace<double> trace(f);
  {
    ObserverScope<double> scope(trace);
    f.backward(retain_graph);
    other.backward();
    f.backward(retain_graph);
  }
  REQUIRE(trace.gates().size() == 1);
  CHECK_THAT(trace.gradients_text(), Catch::Contains("df/dx = 4 (sum of 2 paths)"));
  CHECK_THAT(trace.backward_text(), !Catch::Contains("other"));
}

TEST_CASE("tensors print with their shape; matmul and broadcast rules are spelled out", "[trace]") {
  VarD X(TensorD{{0, 0}, {0, 1}, {1, 0}, {1, 1}}, false, "X");
  TensorD w{0.5, -1.0};
  w.reshape({2, 1});
  VarD W(w, requires_grad, "W");
  VarD b(TensorD{0.25}, requires_grad, "b");
  VarD z = (matmul(X, W) + b).named("z");
  VarD L = mean(sigmoid(z)).named("L");
  const std::string text = step_through(L);
  CHECK_THAT(text, Catch::Contains("X = [[0, 0], [0, 1], [1, 0], [1, 1]] (4x2)\n"));
  CHECK_THAT(text, Catch::Contains("W = [[0.5], [-1]] (2x1)\n"));
  CHECK_THAT(text, Catch::Contains("n1 = matmul(X, W) = [[0], [-1], [0.5], [-0.5]] (4x1)\n"));
  // a one-number output: the local gradient is shown as numbers
  CHECK_THAT(text, Catch::Contains("to n2: 1 x [[0.25], [0.25], [0.25], [0.25]] (4x1) = "));
  // the elementwise sigmoid, tensor in and out: upstream x local, element by element
  CHECK_THAT(text, Catch::Contains("  n2 = sigmoid(z)    upstream dL/dn2 = [[0.25], [0.25], "));
  // broadcasting and matmul: the formula of what the gate sends
  CHECK_THAT(text, Catch::Contains("    to b: upstream x 1, summed to [1] = ["));
  CHECK_THAT(text, Catch::Contains("    to W: X^T . upstream = [["));
  // 0.25 (sigmoid'(0.75) + sigmoid'(-0.25)), and the same for the second weight
  CHECK_THAT(text, Catch::Contains("dL/dW = [[0.116007], [0.116007]] (2x1)\n"));
}

TEST_CASE("tensor_string nests by axis, adds the shape, and shortens large tensors", "[trace]") {
  CHECK(tensor_string(scalar_tensor(-4.0)) == "-4");
  CHECK(tensor_string(TensorD{1, 2, 3}) == "[1, 2, 3] (3)");
  CHECK(tensor_string(TensorD{{1, 2}, {3, 4}}) == "[[1, 2], [3, 4]] (2x2)");
  TensorD big = TensorD::from_shape({6, 5});
  for (std::size_t i = 0; i < big.size(); ++i) big.data()[i] = double(i);
  CHECK(tensor_string(big) ==
        "[[0, 1, ..., 3, 4], [5, 6, ..., 8, 9], ..., [20, 21, ..., 23, 24], "
        "[25, 26, ..., 28, 29]] (6x5)");
  CHECK(tensor_string(TensorD::from_shape({0})) == "[] (0)");
}

TEST_CASE("to_dot names nodes as the trace does and shows values and gradients", "[dot]") {
  VarD x(-2.0, requires_grad, "x"), y(5.0, requires_grad, "y"), z(-4.0, requires_grad, "z");
  VarD f = ((x + y) * z * 2.0).named("f");
  const Trace<double> trace = traced_backward(f);
  CHECK_THAT(trace.forward_text(),
             Catch::Contains("n1 = x + y = 3\n  z = -4\n  n2 = n1 * z = -12"));
  const std::string dot = to_dot(f);
  CHECK_THAT(dot, Catch::StartsWith("digraph retrograd {"));
  CHECK_THAT(dot, Catch::Contains("\"n1\" [id=\"node-2\", label=<"));
  CHECK_THAT(dot, Catch::Contains("<B>n1 = x + y</B>"));
  CHECK_THAT(dot, Catch::Contains("<B>f = n2 * 2</B>"));
  CHECK_THAT(dot, Catch::Contains(">-2</FONT>"));
  CHECK_THAT(dot, Catch::Contains(">df/dx = -8</FONT>"));
  CHECK_THAT(dot, Catch::Contains("\"2\" [id=\"node-5\""));  // the constant, by its value
  CHECK_THAT(dot, Catch::Contains("\"x\" -> \"n1\" [id=\"edge-0-2-0\"];"));
  CHECK_THAT(dot, Catch::Contains("\"y\" -> \"n1\" [id=\"edge-1-2-1\"];"));
  // the trace's drawing also labels each edge with the gradient sent along it
  const std::string traced = to_dot(trace);
  CHECK_THAT(traced, Catch::Contains("\"n1\" -> \"n2\" [id=\"edge-2-4-0\", label=\"-8\"];"));
  CHECK_THAT(traced, Catch::Contains("\"z\" -> \"n2\" [id=\"edge-3-4-1\", label=\"6\"];"));
  CHECK_THAT(traced, Catch::Contains("\"2\" -> \"f\" [id=\"edge-5-6-1\"];"));
  CHECK_THROWS_WITH(write_dot(f, "/nonexistent-dir/graph.dot"),
                    Catch::Contains("/nonexistent-dir/graph.dot"));
}

TEST_CASE("step_through streams the same text, and cuts a long one with a note", "[trace]") {
  VarD x(2.0, requires_grad, "x");
  VarD f = x * 3.0;
  for (int i = 0; i < 50; ++i) f = f + x * double(i);
  f.named("f");
  const std::string whole = step_through(f);
  std::ostringstream streamed;
  step_through(f, streamed);
  CHECK(streamed.str() == whole);
  CHECK_THAT(whole, Catch::Contains("df/dx = 1228 (sum of 51 paths)"));  // 3 + 0 + 1 + ... + 49
  const std::string cut = step_through(f, 200);
  CHECK(cut.substr(0, 200) == whole.substr(0, 200));
  CHECK_THAT(cut, Catch::Contains("(cut: " + std::to_string(whole.size() - 200) +
                                  " more characters past the budget of 200"));
}
