// The classic perceptron rule of the course: ŷ = step(θ·x + θ0), and on every sample
// Δθ = α (y − ŷ) x, Δθ0 = α (y − ŷ). On linearly separable data with margin γ and radius R it
// makes at most R²/γ² mistakes (Novikoff); on XOR it never stops making them.
//
//   perceptron      (exits 1 if the mistakes exceed the bound or XOR converges)

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <random>
#include <retrograd/retrograd.hpp>
#include <vector>

using namespace retrograd;

namespace {

struct Sample {
  std::array<double, 2> x;
  int y;  // 0 or 1
};

struct Perceptron {
  std::array<double, 2> theta{0, 0};
  double theta0 = 0;
  double alpha = 1;

  int predict(const std::array<double, 2>& x) const {
    return theta[0] * x[0] + theta[1] * x[1] + theta0 > 0 ? 1 : 0;
  }
  // One pass over the data; returns the number of mistakes (= updates).
  int epoch(const std::vector<Sample>& data) {
    int mistakes = 0;
    for (const Sample& s : data) {
      const int error = s.y - predict(s.x);  // −1, 0 or +1
      if (error == 0) continue;
      ++mistakes;
      theta[0] += alpha * error * s.x[0];
      theta[1] += alpha * error * s.x[1];
      theta0 += alpha * error;
    }
    return mistakes;
  }
};

}  // namespace

int main(int, char** argv) {
  ensure_fast_blas(argv);
  bool ok = true;

  // Points uniform in [-1, 1]², labelled by the side of the line 0.6 x1 − 0.8 x2 + 0.1 = 0;
  // points closer to it than 0.05 are dropped, which guarantees a margin.
  std::printf("== 1. Linearly separable: 100 points ==\n");
  const std::array<double, 3> line{0.6, -0.8, 0.1};
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> uniform(-1, 1);
  std::vector<Sample> data;
  while (data.size() < 100) {
    const std::array<double, 2> x{uniform(rng), uniform(rng)};
    const double side = line[0] * x[0] + line[1] * x[1] + line[2];
    if (std::abs(side) >= 0.05) data.push_back({x, side > 0 ? 1 : 0});
  }
  // The bound counts the bias as a third input fixed at 1: R and γ live in that space, where the
  // separating direction is the line's coefficients scaled to unit length.
  double radius = 0, margin = 1e9;
  const double norm = std::sqrt(line[0] * line[0] + line[1] * line[1] + line[2] * line[2]);
  for (const Sample& s : data) {
    radius = std::max(radius, std::sqrt(s.x[0] * s.x[0] + s.x[1] * s.x[1] + 1));
    margin = std::min(margin, std::abs(line[0] * s.x[0] + line[1] * s.x[1] + line[2]) / norm);
  }
  const double bound = radius * radius / (margin * margin);
  std::printf("R = %.4f, γ = %.4f, bound R²/γ² = %.1f mistakes\n", radius, margin, bound);

  Perceptron p;
  int total = 0, epochs = 0;
  for (int mistakes = 1; mistakes > 0 && epochs < 1000; total += mistakes) {
    mistakes = p.epoch(data);
    ++epochs;
    std::printf("  epoch %2d: %2d mistakes\n", epochs, mistakes);
  }
  std::printf("converged after %d epochs with %d mistakes in total (bound %.1f)\n", epochs, total,
              bound);
  std::printf("θ = (%.3f, %.3f), θ0 = %.3f\n\n", p.theta[0], p.theta[1], p.theta0);
  ok = ok && total <= bound;

  std::printf("== 2. XOR: no line separates it ==\n");
  const std::vector<Sample> xor_data = {{{0, 0}, 0}, {{0, 1}, 1}, {{1, 0}, 1}, {{1, 1}, 0}};
  Perceptron q;
  int clean_epochs = 0;
  for (int epoch = 1; epoch <= 100; ++epoch) {
    const int mistakes = q.epoch(xor_data);
    if (mistakes == 0) ++clean_epochs;
    if (epoch <= 4 || epoch == 100)
      std::printf("  epoch %3d: %d mistakes, θ = (%g, %g), θ0 = %g\n", epoch, mistakes, q.theta[0],
                  q.theta[1], q.theta0);
  }
  std::printf("epochs without a mistake: %d of 100: the perceptron never converges on XOR\n",
              clean_epochs);
  ok = ok && clean_epochs == 0;
  return ok ? 0 : 1;
}
