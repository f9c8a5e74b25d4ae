// The linear neuron of the backprop course: every week the café bills us one total for the
// coffees, juices and toasts we had, never the prices. The prices are the weights of a linear
// neuron y = w·x, and the delta rule  Δw_i = η x_i (t − y)  learns them from the totals.
// retrograd derives the rule: the gradient of E = ½ (t − y)² is −x (t − y).
//
//   linear_neuron      (exits 1 if a lesson does not show: no convergence, no divergence...)

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <retrograd/retrograd.hpp>
#include <xtensor/xview.hpp>

using namespace retrograd;

namespace {

const TensorD true_prices = {0.50, 1.50, 1.00};  // euros; the café hands them to the cashier only

// `weeks` rows of portions [café, zumo, tostada], 0 to 5 of each. With `together`, juice and
// toast are nearly always ordered in equal numbers (one week in ten they differ by one).
TensorD make_weeks(std::size_t weeks, bool together, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> portions(0, 5);
  TensorD x = zeros<double>({weeks, 3});
  for (std::size_t i = 0; i < weeks; ++i) {
    for (std::size_t j = 0; j < 3; ++j) x(i, j) = portions(rng);
    if (together) x(i, 2) = x(i, 1) + (i % 10 == 9 ? 1 : 0);
  }
  return x;
}

// E = ½ mean over weeks of (t − y)²: the mean keeps η independent of the number of weeks.
VarD error(const VarD& w, const TensorD& x, const TensorD& totals) {
  const VarD y = sum(VarD(x) * w, 1);  // one total per week
  const VarD r = VarD(totals) - y;
  return mean(r * r) * 0.5;
}

struct Run {
  int epochs;  // epochs until every price is within a cent (or the limit)
  bool converged;
  bool diverged;  // the error grew past 1e6
  TensorD w;
};

// Batch learning: each epoch applies the delta rule summed (averaged) over all weeks.
Run learn(const TensorD& x, double eta, int max_epochs, bool verbose) {
  const TensorD totals = xt::sum(x * true_prices, {1});
  VarD w(TensorD(full<double>({3}, 0.50)), requires_grad, "w");  // start: every price 0.50€
  for (int epoch = 1; epoch <= max_epochs; ++epoch) {
    const VarD e = error(w, x, totals);
    w.zero_grad();
    e.backward();
    w.value() -= eta * w.grad();  // Δw = −η ∂E/∂w = η mean x (t − y)
    const double worst = xt::amax(xt::abs(w.value() - true_prices))();
    if (verbose && (epoch <= 3 || epoch % 100 == 0))
      std::printf("  epoch %4d  E = %10.6f  w = (%.4f, %.4f, %.4f)\n", epoch, e.item(),
                  w.value()(0), w.value()(1), w.value()(2));
    if (!std::isfinite(e.item()) || e.item() > 1e6) return {epoch, false, true, w.value()};
    if (worst < 0.01) return {epoch, true, false, w.value()};
  }
  return {max_epochs, false, false, w.value()};
}

// Largest and smallest eigenvalue of the error's curvature xᵀx / n, a symmetric 3 x 3 matrix:
// closed form (the characteristic cubic's trigonometric roots), no LAPACK needed.
std::pair<double, double> curvature(const TensorD& x) {
  const double n = double(x.shape()[0]);
  double a[3][3];
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) a[i][j] = xt::sum(xt::col(x, i) * xt::col(x, j))() / n;
  const double q = (a[0][0] + a[1][1] + a[2][2]) / 3;
  const double off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
  const double p = std::sqrt(((a[0][0] - q) * (a[0][0] - q) + (a[1][1] - q) * (a[1][1] - q) +
                              (a[2][2] - q) * (a[2][2] - q) + 2 * off) /
                             6);
  double b[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) b[i][j] = (a[i][j] - (i == j ? q : 0)) / p;
  const double det = b[0][0] * (b[1][1] * b[2][2] - b[1][2] * b[2][1]) -
                     b[0][1] * (b[1][0] * b[2][2] - b[1][2] * b[2][0]) +
                     b[0][2] * (b[1][0] * b[2][1] - b[1][1] * b[2][0]);
  const double phi = std::acos(std::clamp(det / 2, -1.0, 1.0)) / 3;
  return {q + 2 * p * std::cos(phi), q + 2 * p * std::cos(phi + 2 * M_PI / 3)};
}

}  // namespace

int main(int, char** argv) {
  ensure_fast_blas(argv);
  bool ok = true;

  std::printf("== 1. One week, one step (the notes' numbers) ==\n");
  {
    const TensorD portions = {5, 2, 3};
    const double total = xt::sum(portions * true_prices)();
    VarD w(TensorD(full<double>({3}, 0.50)), requires_grad, "w");
    const VarD y = sum(VarD(portions) * w);
    std::printf("portions (café, zumo, tostada) = (5, 2, 3), bill t = %.2f€\n", total);
    std::printf("estimate: every price 0.50€, y = %.2f€, residual t − y = %.2f€\n", y.item(),
                total - y.item());
    const VarD e = 0.5 * (VarD(total) - y) * (VarD(total) - y);
    e.backward();
    const double eta = 1.0 / 35;
    const TensorD delta = -eta * w.grad();
    std::printf("dE/dw = (%.2f, %.2f, %.2f) = −x (t − y)\n", w.grad()(0), w.grad()(1), w.grad()(2));
    std::printf("η = 1/35: Δw = (%+.2f, %+.2f, %+.2f)\n", delta(0), delta(1), delta(2));
    w.value() += delta;
    const double new_y = xt::sum(portions * w.value())();
    std::printf("new prices (%.2f, %.2f, %.2f), new error t − y = %.2f€\n", w.value()(0),
                w.value()(1), w.value()(2), total - new_y);
    std::printf(
        "café estimate moved from 0.50 to %.2f (true 0.50): worse, though the bill fits "
        "better\n\n",
        w.value()(0));
  }

  const TensorD weeks = make_weeks(20, false, 7);
  const auto [lmax, lmin] = curvature(weeks);
  std::printf("== 2. Twenty weeks of bills, batch delta rule ==\n");
  std::printf(
      "curvature of E: largest %.3f, smallest %.3f; steps diverge above η = 2/%.3f = "
      "%.4f\n",
      lmax, lmin, lmax, 2 / lmax);
  const double eta = 1 / lmax;
  std::printf("η = 1/largest = %.4f:\n", eta);
  const Run good = learn(weeks, eta, 100000, true);
  std::printf(
      "converged in %d epochs: café %.3f, zumo %.3f, tostada %.3f (true 0.50, 1.50, "
      "1.00)\n\n",
      good.epochs, good.w(0), good.w(1), good.w(2));
  ok = ok && good.converged;

  std::printf("== 3. Too large a learning rate ==\n");
  const double big = 2.2 / lmax;
  std::printf("η = 2.2/largest = %.4f:\n", big);
  const Run bad = learn(weeks, big, 100000, true);
  std::printf(bad.diverged ? "diverged: E > 1e6 after %d epochs\n\n" : "no divergence (%d)\n\n",
              bad.epochs);
  ok = ok && bad.diverged;

  std::printf("== 4. Zumo and tostada always ordered together ==\n");
  const TensorD paired = make_weeks(20, true, 7);
  const auto [pmax, pmin] = curvature(paired);
  const TensorD juice = xt::col(paired, 1), toast = xt::col(paired, 2);
  const double corr = xt::mean((juice - xt::mean(juice)()) * (toast - xt::mean(toast)()))() /
                      (xt::stddev(juice)() * xt::stddev(toast)());
  // The valley's axes scale as 1/√curvature: a large largest/smallest ratio means a long,
  // narrow valley whose walls the gradient points at instead of along.
  std::printf("correlation zumo/tostada %.3f\n", corr);
  std::printf("curvature largest %.3f, smallest %.4f: ratio %.0f (independent orders: %.0f)\n",
              pmax, pmin, pmax / pmin, lmax / lmin);
  const Run slow = learn(paired, 1 / pmax, 100000, false);
  std::printf(
      "η = 1/largest = %.4f: converged in %d epochs (independent orders: %d), %.0fx "
      "slower\n",
      1 / pmax, slow.epochs, good.epochs, double(slow.epochs) / good.epochs);
  std::printf("prices: café %.3f, zumo %.3f, tostada %.3f\n", slow.w(0), slow.w(1), slow.w(2));
  ok = ok && slow.converged && slow.epochs > 10 * good.epochs;

  return ok ? 0 : 1;
}
