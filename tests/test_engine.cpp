// The backward engine: ordering, accumulation, graph freeing, grad mode, observers, depth.

#include <cmath>
#include <thread>

#include "test_helpers.hpp"

using namespace retrograd;
using retrograd::testing::Equals;
using retrograd::testing::shaped;

TEST_CASE("topological order puts inputs before the nodes that use them", "[engine]") {
  VarD x(1.0, requires_grad), y(2.0, requires_grad);
  VarD a = x * y, b = a + x, c = b * a;
  const auto order = topological_order(*c.node());
  REQUIRE(order.size() == 5);
  auto position = [&](const VarD& v) {
    return std::find(order.begin(), order.end(), v.node().get()) - order.begin();
  };
  CHECK(position(x) < position(a));
  CHECK(position(y) < position(a));
  CHECK(position(a) < position(b));
  CHECK(position(b) < position(c));
  CHECK(order.back() == c.node().get());
}

TEST_CASE("leaf gradients accumulate over calls until zero_grad", "[engine]") {
  VarD x(3.0, requires_grad);
  (x * 2.0).backward();
  (x * 2.0).backward();
  CHECK(x.grad_item() == 4.0);
  x.zero_grad();
  (x * 5.0).backward();
  CHECK(x.grad_item() == 5.0);
}

TEST_CASE("interior gradients belong to the latest pass; retain_graph allows a second pass",
          "[engine]") {
  VarD x(-2.0, requires_grad), y(5.0, requires_grad), z(-4.0, requires_grad);
  VarD q = x + y;
  VarD f = q * z;
  f.backward(retain_graph);
  f.backward(retain_graph);
  CHECK(q.grad_item() == -4.0);  // not -8: interior gradients are not summed over passes
  CHECK(x.grad_item() == -8.0);  // leaves accumulate: two passes of -4
  CHECK(z.grad_item() == 6.0);
}

// Note [backward order]: a node waits in the heap until every user, however far up, has sent
// its share. Here `a` is used directly by the output and through a path six ops longer, and the
// short path is reached first.
TEST_CASE("a node reached by paths of different lengths gets every share before it runs",
          "[engine]") {
  VarD x(0.3, requires_grad, "x");
  VarD a = x * x;
  VarD long_path = a;
  for (int i = 0; i < 6; ++i) long_path = sigmoid(long_path) + 0.1;
  VarD f = a * 5.0 + long_path;
  f.backward(retain_graph);
  // df/da = 5 + d(long_path)/da, computed from the retained graph step by step.
  double d_long = 1.0, v = a.item();
  for (int i = 0; i < 6; ++i) {
    const double s = 1.0 / (1.0 + std::exp(-v));
    d_long *= s * (1.0 - s);
    v = s + 0.1;
  }
  CHECK(a.grad_item() == Approx(5.0 + d_long).epsilon(1e-14));
  CHECK(x.grad_item() == Approx((5.0 + d_long) * 2.0 * 0.3).epsilon(1e-14));
  CHECK(a.node()->height() == 1);
  CHECK(f.node()->height() == 14);
}

TEST_CASE("without retain_graph every node of the pass is freed, also those a Var still holds",
          "[engine]") {
  VarD x(TensorD{1.0, 2.0}, requires_grad), s(0.5, requires_grad);
  VarD h = tanh(x * s);  // held by the test after backward
  VarD f = sum(h * h) + s * 2.0;
  f.backward();
  CHECK(h.node()->released());
  CHECK(h.node()->inputs().empty());
  CHECK(f.node()->released());
  CHECK_FALSE(x.node()->released());
  CHECK(s.grad_item() ==
        Approx(2.0 + 2.0 * (std::tanh(0.5) * (1 - std::pow(std::tanh(0.5), 2)) +
                            2.0 * std::tanh(1.0) * (1 - std::pow(std::tanh(1.0), 2)))));
}

TEST_CASE("backward through a freed graph is a clear error", "[engine][errors]") {
  VarD x(2.0, requires_grad);
  VarD f = exp(x) * x;
  f.backward();
  CHECK_THROWS_WITH(f.backward(),
                    Catch::Contains("already freed") && Catch::Contains("retain_graph"));
}

TEST_CASE("backward needs a scalar output or a seed of the output's shape", "[engine][errors]") {
  VarD x(TensorD{1.0, 2.0, 3.0}, requires_grad, "x");
  VarD y = x * 2.0;
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("[3]") && Catch::Contains("seed"));
  CHECK_THROWS_WITH(y.backward(TensorD{1.0, 1.0}),
                    Catch::Contains("[2]") && Catch::Contains("[3]"));
  y.backward(TensorD{1.0, 0.5, 0.0});
  CHECK_THAT(x.grad(), Equals(TensorD{2.0, 1.0, 0.0}));
  CHECK_THROWS_WITH(VarD(1.0).backward(), Catch::Contains("does not require a gradient"));
  CHECK_THROWS_WITH(VarD(1.0, false, "c").grad(), Catch::Contains("'c'"));
  CHECK_THROWS_WITH(VarD(1.0, requires_grad, "w").grad(), Catch::Contains("run backward"));
  CHECK_THROWS_WITH(x.item(), Catch::Contains("[3]"));
}

TEST_CASE("inputs that need no gradient receive none", "[engine]") {
  VarD w(2.0, requires_grad), data(5.0);
  VarD f = w * data;
  f.backward();
  CHECK(w.grad_item() == 5.0);
  CHECK_FALSE(data.has_grad());
  CHECK_THROWS_WITH(f.set_requires_grad(false), Catch::Contains("op result"));
}

TEST_CASE("NoGradGuard records no graph", "[engine]") {
  VarD x(2.0, requires_grad);
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    VarD y = x * x;
    CHECK(y.item() == 4.0);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.node()->inputs().empty());
    { NoGradGuard nested; }
    CHECK_FALSE(grad_enabled());
  }
  CHECK(grad_enabled());
  CHECK((x * x).requires_grad());
}

TEST_CASE("a chain of a million nodes runs backward and is destroyed without overflow",
          "[engine][deep]") {
  VarD x(1.0, requires_grad);
  {
    VarD y = x;
    for (int i = 0; i < 1'000'000; ++i) y = y + 1e-6;
    y.backward(retain_graph);  // keep the graph: the chain is destroyed by the handle going away
    CHECK(y.item() == Approx(2.0));
  }
  CHECK(x.grad_item() == 1.0);
  VarD z = x;
  for (int i = 0; i < 1'000'000; ++i) z = z * 1.0;
  z.backward();  // frees the graph as it goes
  CHECK(x.grad_item() == 2.0);
}

namespace {
struct Recorder : BackwardObserver<double> {
  std::vector<std::string> ops;
  std::vector<double> upstream;
  std::vector<std::size_t> downstream_counts;
  int begins = 0, ends = 0;
  void on_backward_begin(const Node<double>&) override { ++begins; }
  void on_step(const BackwardStep<double>& step) override {
    ops.emplace_back(step.node.op());
    upstream.push_back(step.upstream());
    downstream_counts.push_back(step.downstream.size());
  }
  void on_backward_end(const Node<double>&) override { ++ends; }
};
}  // namespace

TEST_CASE("observers see every step in backward order while registered", "[engine][observer]") {
  VarD x(-2.0, requires_grad), y(5.0, requires_grad), z(-4.0, requires_grad);
  Recorder recorder;
  {
    ObserverScope<double> scope(recorder);
    ((x + y) * z).backward();
  }
  CHECK(recorder.ops == std::vector<std::string>{"mul", "add"});
  CHECK(recorder.upstream == std::vector<double>{1.0, -4.0});
  CHECK(recorder.downstream_counts == std::vector<std::size_t>{2, 2});
  CHECK(recorder.begins == 1);
  CHECK(recorder.ends == 1);
  ((x + y) * z).backward();  // after the scope: not observed
  CHECK(recorder.ops.size() == 2);
}

namespace {
/// Records steps and ready leaves in the order the engine reports them.
struct ReadyRecorder : BackwardObserver<double> {
  std::vector<std::string> events;
  std::vector<double> grads_when_ready;
  void on_step(const BackwardStep<double>& step) override { events.emplace_back(step.node.op()); }
  void on_gradient_ready(const Node<double>& leaf) override {
    events.push_back("ready " + leaf.name());
    grads_when_ready.push_back(leaf.grad()());
  }
};
}  // namespace

TEST_CASE("observers learn that a leaf's gradient is complete as soon as its last user ran",
          "[engine][observer]") {
  VarD x(-2.0, requires_grad, "x"), y(5.0, requires_grad, "y"), z(-4.0, requires_grad, "z");
  ReadyRecorder recorder;
  {
    ObserverScope<double> scope(recorder);
    ((x + y) * z).backward();
  }
  // z is complete after the product, before the sum runs; x and y after the sum.
  CHECK(recorder.events == std::vector<std::string>{"mul", "ready z", "add", "ready x", "ready y"});
  CHECK(recorder.grads_when_ready == std::vector<double>{3.0, -4.0, -4.0});
}

TEST_CASE("a leaf used at several depths is ready once, with its whole gradient",
          "[engine][observer]") {
  VarD w(3.0, requires_grad, "w"), x(2.0, requires_grad, "x");
  ReadyRecorder recorder;
  {
    ObserverScope<double> scope(recorder);
    // f = (w x + 1) w w: w reaches f through three uses, the last one deepest in the graph.
    VarD f = (w * x + 1.0) * w * w;
    f.backward();
  }
  // w's first two uses come early in backward; it waits for the third, with x.
  CHECK(recorder.events ==
        std::vector<std::string>{"mul", "mul", "add", "mul", "ready w", "ready x"});
  // df/dw = 3 w^2 x + 2 w = 54 + 6, df/dx = w^3 = 27.
  CHECK(recorder.grads_when_ready == std::vector<double>{60.0, 27.0});
  CHECK(w.grad_item() == 60.0);
}

TEST_CASE("a leaf whose gradient already holds earlier passes is ready with the sum",
          "[engine][observer]") {
  VarD w(3.0, requires_grad, "w");
  (w * 2.0).backward();
  ReadyRecorder recorder;
  {
    ObserverScope<double> scope(recorder);
    (w * 5.0).backward();
    VarD(7.0, requires_grad, "leaf").backward();  // a leaf as the output is ready at once
  }
  CHECK(recorder.events == std::vector<std::string>{"mul", "ready w", "ready leaf"});
  CHECK(recorder.grads_when_ready == std::vector<double>{7.0, 1.0});
}

TEST_CASE("a gradient can be changed in place between backward and its use", "[engine]") {
  VarD w(TensorD{1.0, 2.0}, requires_grad, "w");
  sum(w * 3.0).backward();
  w.grad() *= 0.5;
  CHECK_THAT(w.grad(), Equals(TensorD{1.5, 1.5}));
  VarD unused(TensorD{1.0}, requires_grad, "unused");
  CHECK_THROWS_WITH(unused.grad(), Catch::Contains("'unused'") && Catch::Contains("run backward"));
}

TEST_CASE("scalar nodes build their tensors only when asked, and keep working after",
          "[engine][scalar]") {
  VarD x(2.0, requires_grad, "x");
  VarD y = x * 3.0 + 1.0;
  CHECK(y.item() == 7.0);
  CHECK(y.shape().empty());
  CHECK(y.size() == 1);
  // Reading the value as a tensor midway: later ops and backward still see the same number.
  CHECK_THAT(y.value(), Equals(scalar_tensor(7.0)));
  VarD z = y * y;
  z.backward(retain_graph);
  CHECK(x.grad_item() == 2.0 * 7.0 * 3.0);
  CHECK_THAT(x.grad(), Equals(scalar_tensor(42.0)));
  // Leaf gradients keep accumulating after the gradient was read as a tensor.
  z.backward();
  CHECK(x.grad_item() == 84.0);

  // A parameter updated in place through its tensor.
  VarD w(1.0, requires_grad);
  w.value()() = 3.0;
  CHECK((w * 2.0).item() == 6.0);

  // Observers see scalar nodes through the tensor interface.
  struct Counter : BackwardObserver<double> {
    void on_step(const BackwardStep<double>& step) override {
      CHECK(step.upstream.shape().empty());
      CHECK(step.downstream.size() == step.node.inputs().size());
      ++steps;
    }
    int steps = 0;
  } counter;
  VarD a(0.5, requires_grad);
  VarD f = sigmoid(a * 2.0);
  {
    ObserverScope<double> scope(counter);
    f.backward();
  }
  CHECK(counter.steps == 2);
  CHECK(a.grad_item() == Approx(2.0 * f.item() * (1.0 - f.item())));
}

TEST_CASE(
    "a leaf changed in place after the graph used it is refused at backward, naming the op "
    "and the leaf",
    "[engine][errors][versions]") {
  // f = x * x at x = 2 has df/dx = 4; computed from x = 10 it would say 20.
  VarD x(2.0, requires_grad, "x");
  VarD f = x * x;
  x.value() = scalar_tensor(10.0);
  CHECK_THROWS_WITH(f.backward(),
                    Catch::Contains("backward: input 0 of mul (leaf 'x', shape []) was changed in "
                                    "place after the graph used it (version 1, the graph saw "
                                    "version 0)"));
  CHECK_FALSE(x.has_grad());
  // A graph built after the change is fine, and so is a change after backward.
  VarD g = x * x;
  g.backward();
  CHECK(x.grad_item() == 20.0);
  x.value() = scalar_tensor(2.0);

  // A tensor leaf in a matmul, changed element by element, and an unnamed leaf.
  VarD w(TensorD{{1.0, 2.0}, {3.0, 4.0}}, requires_grad, "w");
  VarD in(TensorD{{1.0, 1.0}});
  VarD y = sum(matmul(in, w));
  w.value()(0, 1) = 5.0;
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("input 1 of matmul (leaf 'w', shape [2, 2])"));
  VarD unnamed(TensorD{1.0, 2.0}, requires_grad);
  VarD z = sum(unnamed * 3.0);
  unnamed.value()(0) = 0.0;
  CHECK_THROWS_WITH(z.backward(), Catch::Contains("input 0 of mul (leaf, shape [2])"));

  // Reading through a const Var changes nothing.
  VarD r(TensorD{1.0, 2.0}, requires_grad, "r");
  VarD s = sum(r * r);
  const VarD& reader = r;
  CHECK(reader.value()(1) == 2.0);
  CHECK_NOTHROW(s.backward());
}

TEST_CASE("a graph built on one thread is freed on another, and node slots outlive their thread",
          "[engine][threads]") {
  // Note [node handles]: a node's slot goes back to the arena of the thread that frees it, and a
  // thread that ends hands its free slots to the next thread that needs some.
  VarD x(0.5, requires_grad, "x");
  VarD built;
  std::thread([&] { built = sigmoid(x * 3.0 + 1.0) * x; }).join();
  built.backward(retain_graph);
  const double expected = x.grad_item();
  built = VarD();
  for (int round = 0; round < 3; ++round) {
    VarD y;
    std::thread([&] {
      x.zero_grad();
      y = sigmoid(x * 3.0 + 1.0) * x;
      y.backward(retain_graph);
    }).join();
    CHECK(x.grad_item() == expected);
    CHECK(y.item() == Approx(1.0 / (1.0 + std::exp(-2.5)) * 0.5));
    y = VarD();  // freed here, on the main thread, after the thread that made it has ended
  }
}
