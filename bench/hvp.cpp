// The cost of a Hessian-vector product against the first-order pass it extends, on a small MLP
// loss (64 samples, 784-128-10, tanh, softmax cross-entropy through log_softmax): the
// first-order pass is forward + backward (grad without create_graph); the hvp is forward +
// grad with create_graph + the backward of <grad, v>. Prints the median of each and their
// ratio (issue 22's goal: hvp at most 4x the first-order pass).
//
//   bench_hvp [runs=21]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <retrograd/retrograd.hpp>
#include <vector>

using namespace retrograd;
using Clock = std::chrono::steady_clock;

namespace {
Tensor random_tensor(const Shape& shape, std::mt19937& engine, float scale) {
  std::normal_distribution<float> normal(0.0f, scale);
  Tensor t = Tensor::from_shape(shape);
  for (float& v : t) v = normal(engine);
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  const int runs = argc > 1 ? std::atoi(argv[1]) : 21;
  std::mt19937 engine(7);
  const Var x(random_tensor({64, 784}, engine, 1.0f));
  Tensor onehot = Tensor::from_shape({64, 10});
  onehot.fill(0.0f);
  for (std::size_t i = 0; i < 64; ++i) onehot(i, i % 10) = 1.0f;
  const Var targets(onehot);
  const Var w1(random_tensor({784, 128}, engine, 0.05f), requires_grad, "W1");
  const Var w2(random_tensor({128, 10}, engine, 0.1f), requires_grad, "W2");
  const Var v1(random_tensor({784, 128}, engine, 1.0f)), v2(random_tensor({128, 10}, engine, 1.0f));
  const auto loss = [&] {
    const Var h = tanh(matmul(x, w1));
    return -mean(sum(targets * log_softmax(matmul(h, w2), 1), 1));
  };
  std::vector<double> first_ns, hvp_ns;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    { const std::vector<Var> g = grad(loss(), {w1, w2}); }
    const auto t1 = Clock::now();
    {
      const std::vector<Var> g = grad(loss(), {w1, w2}, {/*create_graph=*/true});
      const Var gv = sum(g[0] * v1) + sum(g[1] * v2);
      const std::vector<Var> hv = grad(gv, {w1, w2});
    }
    const auto t2 = Clock::now();
    first_ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    hvp_ns.push_back(std::chrono::duration<double, std::nano>(t2 - t1).count());
  }
  const double first = median(first_ns), hvp = median(hvp_ns);
  std::printf("first-order pass (forward + grad): %.1f us\n", first / 1e3);
  std::printf("hvp (forward + grad with create_graph + grad of <grad, v>): %.1f us\n", hvp / 1e3);
  std::printf("hvp / first-order: %.2fx (goal <= 4x)\n", hvp / first);
  return 0;
}
