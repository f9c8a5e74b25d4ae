// Gradients of gradients: the second derivative of the course's sigmoid neuron, stepped
// through; Newton's method against gradient descent on the Rosenbrock function; and a small
// model trained with a gradient penalty (the squared norm of d loss / d input).
//
//   second_derivatives

#include <cmath>
#include <cstdio>
#include <iostream>
#include <retrograd/retrograd.hpp>

using namespace retrograd;

namespace {
VarD rosenbrock(const VarD& x) {
  const VarD a = sum(slice(x, 0, 0, 1)), b = sum(slice(x, 0, 1, 2));
  return sum(pow(1.0 - a, 2.0) + 100.0 * pow(b - a * a, 2.0));
}
double distance_to_minimum(const TensorD& x) { return std::hypot(x(0) - 1.0, x(1) - 1.0); }

void sigmoid_neuron() {
  std::cout << "== 1. The second derivative of the sigmoid neuron ==\n";
  VarD w0(2.0, requires_grad, "w0"), w1(-3.0, requires_grad, "w1"), w2(-3.0, requires_grad, "w2");
  const double x0 = -1.0, x1 = -2.0;
  const VarD f = sigmoid(w0 * x0 + w1 * x1 + w2).named("f");
  // df/dw0 as a Var in a graph of its own: it can be differentiated again.
  const VarD dw0 = grad(f, {w0}, {/*create_graph=*/true})[0].named("df/dw0");
  const double s = f.item();
  std::printf("f = %.6f, df/dw0 = %.6f (x0 s (1 - s) = %.6f)\n", s, dw0.item(), x0 * s * (1 - s));
  std::cout << "Stepping through the graph of df/dw0:\n" << step_through(dw0);
  std::printf(
      "closed form: d2f/dw0^2 = x0^2 s(1-s)(1-2s) = %.6f, d2f/dw0dw1 = x0 x1 "
      "s(1-s)(1-2s) = %.6f\n\n",
      x0 * x0 * s * (1 - s) * (1 - 2 * s), x0 * x1 * s * (1 - s) * (1 - 2 * s));
}

void newton_against_descent() {
  std::cout << "== 2. Newton's method and gradient descent on Rosenbrock, from (-1.2, 1) ==\n";
  TensorD x{-1.2, 1.0};
  int steps = 0;
  while (distance_to_minimum(x) > 1e-8 && steps < 100) {
    const VarD xv(x, requires_grad);
    const TensorD g = grad(rosenbrock(xv), {xv})[0].value();
    const TensorD h = hessian<double>(rosenbrock, x);
    const double det = h(0, 0) * h(1, 1) - h(0, 1) * h(1, 0);
    x(0) -= (h(1, 1) * g(0) - h(0, 1) * g(1)) / det;
    x(1) -= (-h(1, 0) * g(0) + h(0, 0) * g(1)) / det;
    ++steps;
    std::printf("  Newton step %d: x = (%.10f, %.10f), distance %.3e\n", steps, x(0), x(1),
                distance_to_minimum(x));
  }
  TensorD y{-1.2, 1.0};
  int descent = 0;
  const int limit = 20000;
  while (distance_to_minimum(y) > 1e-8 && descent < limit) {
    const VarD yv(y, requires_grad);
    y -= 1e-3 * grad(rosenbrock(yv), {yv})[0].value();
    ++descent;
  }
  std::printf(
      "Newton: %d steps to 1e-8. Gradient descent (lr 0.001): %s%d steps, distance "
      "%.3e\n\n",
      steps, descent == limit ? "not there after " : "", descent, distance_to_minimum(y));
}

void gradient_penalty() {
  std::cout << "== 3. A sigmoid neuron trained with a gradient penalty ==\n";
  // OR of two inputs; loss = mean squared error + 0.1 |d loss / d X|^2
  const VarD X(TensorD{{0, 0}, {0, 1}, {1, 0}, {1, 1}}, requires_grad, "X");
  TensorD targets{0, 1, 1, 1};
  targets.reshape({4, 1});
  const VarD t(targets);
  TensorD weights{0.5, -1.0};
  weights.reshape({2, 1});
  VarD W(weights, requires_grad, "W"), b(TensorD{0.25}, requires_grad, "b");
  for (int step = 0; step <= 300; ++step) {
    const VarD e = sigmoid(matmul(X, W) + b) - t;
    const VarD loss = mean(e * e);
    const VarD dx = grad(loss, {X}, {/*create_graph=*/true})[0];
    const VarD penalty = sum(dx * dx);
    const VarD total = loss + 0.1 * penalty;
    if (step % 100 == 0) {
      std::printf("  step %3d: loss %.6f, penalty %.6f, total %.6f\n", step, loss.item(),
                  penalty.item(), total.item());
    }
    W.zero_grad();
    b.zero_grad();
    total.backward();  // through the penalty's graph too: second derivatives reach W and b
    NoGradGuard no_grad;
    W.value() -= 2.0 * W.grad();
    b.value() -= 2.0 * b.grad();
  }
}
}  // namespace

int main(int, char** argv) {
  ensure_fast_blas(argv);
  sigmoid_neuron();
  newton_against_descent();
  gradient_penalty();
  return 0;
}
