// The unit's later blocks on one small problem (two moons), one change at a time:
//   1. initialization: all-zero weights never break the symmetry between hidden neurons;
//   2. optimizers: plain SGD, SGD with momentum and Adam after the same number of epochs;
//   3. regularization: a wide net on 60 noisy samples memorises them; L2 and dropout close the
//      gap between training and test accuracy;
//   4. batch normalization: the deep sigmoid net of the vanishing-gradients lesson, with and
//      without BatchNorm before each activation.
//
//   training_aids      (exits 1 if a lesson does not show)

#include <algorithm>
#include <cstdio>
#include <retrograd/retrograd.hpp>
#include <string>

using namespace retrograd;

namespace {

struct Data {
  Tensor x, y, x_test, y_test;
};

Data moons(std::size_t n, double noise) {
  Data d;
  data::make_moons(n, noise, 1).batch(0, n, d.x, d.y);  // y: one-hot, two classes
  data::make_moons(1000, noise, 2).batch(0, 1000, d.x_test, d.y_test);
  return d;
}

struct Score {
  double loss, train, test;
};

Score run(nn::Sequential& model, const Data& d, std::size_t epochs, std::size_t batch) {
  nn::FitOptions options;
  options.epochs = epochs;
  options.batch_size = batch;
  options.verbose = 0;
  options.seed = 1;
  const nn::History h = model.fit(d.x, d.y, options);
  return {h.loss.back(), model.evaluate(d.x, d.y).at("accuracy"),
          model.evaluate(d.x_test, d.y_test).at("accuracy")};
}

}  // namespace

int main(int, char** argv) {
  ensure_fast_blas(argv);
  bool ok = true;
  const nn::Loss loss = nn::Loss::categorical_cross_entropy(/*from_logits=*/true);
  const Data d = moons(500, 0.1);

  std::printf("== 1. Initialization (2-16-16-2 relu, Adam, 30 epochs) ==\n");
  double zero_test = 0, he_test = 0;
  for (const auto& [name, init] : {std::pair{"zeros", nn::Initializer::zeros()},
                                   std::pair{"glorot_uniform", nn::Initializer::glorot_uniform()},
                                   std::pair{"he_uniform", nn::Initializer::he_uniform()}}) {
    nn::manual_seed(1);
    nn::Sequential m;
    m.add(nn::Dense(2, 16, nn::Activation::relu(), init));
    m.add(nn::Dense(16, 16, nn::Activation::relu(), init));
    m.add(nn::Dense(16, 2, nn::Activation::linear(), init));
    m.compile(loss, nn::Adam(0.01), {"accuracy"});
    const Score s = run(m, d, 30, 32);
    std::printf("  %-15s loss %.4f  test accuracy %.3f\n", name, s.loss, s.test);
    if (std::string(name) == "zeros") zero_test = s.test;
    if (std::string(name) == "he_uniform") he_test = s.test;
  }
  std::printf(
      "zero weights: every hidden neuron computes the same thing and gets the same "
      "gradient (here none: relu(0) has slope 0), so nothing learns\n\n");
  ok = ok && zero_test < 0.6 && he_test > 0.95;

  std::printf("== 2. Optimizers (same net and start, 10 epochs) ==\n");
  double sgd_loss = 0, adam_loss = 0;
  for (int which = 0; which < 3; ++which) {
    nn::manual_seed(1);
    nn::Sequential m;
    m.add(nn::Dense(2, 16, nn::Activation::relu(), nn::Initializer::he_uniform()));
    m.add(nn::Dense(16, 16, nn::Activation::relu(), nn::Initializer::he_uniform()));
    m.add(nn::Dense(16, 2));
    const char* name = which == 0   ? "SGD(0.01)"
                       : which == 1 ? "SGD(0.01, momentum 0.9)"
                                    : "Adam(0.01)";
    if (which == 0) m.compile(loss, nn::SGD(0.01), {"accuracy"});
    if (which == 1) m.compile(loss, nn::SGD(0.01, 0.9), {"accuracy"});
    if (which == 2) m.compile(loss, nn::Adam(0.01), {"accuracy"});
    const Score s = run(m, d, 10, 32);
    std::printf("  %-24s loss %.4f  test accuracy %.3f\n", name, s.loss, s.test);
    if (which == 0) sgd_loss = s.loss;
    if (which == 2) adam_loss = s.loss;
  }
  std::printf("\n");
  ok = ok && adam_loss < sgd_loss;

  std::printf("== 3. Regularization (2-128-128-2 on 60 noisy samples, Adam, 300 epochs) ==\n");
  const Data small = moons(60, 0.3);
  double plain_gap = 0, best_gap = 1;
  for (int which = 0; which < 3; ++which) {
    nn::manual_seed(1);
    nn::Sequential m;
    nn::Dense a(2, 128, nn::Activation::relu(), nn::Initializer::he_uniform());
    nn::Dense b(128, 128, nn::Activation::relu(), nn::Initializer::he_uniform());
    if (which == 1) {
      a.set_regularizer({0, 1e-2});
      b.set_regularizer({0, 1e-2});
    }
    m.add(std::move(a));
    if (which == 2) m.add(nn::Dropout(0.5));
    m.add(std::move(b));
    if (which == 2) m.add(nn::Dropout(0.5));
    m.add(nn::Dense(128, 2));
    m.compile(loss, nn::Adam(0.01), {"accuracy"});
    const Score s = run(m, small, 300, 20);
    const char* name = which == 0 ? "none" : which == 1 ? "L2 1e-2" : "dropout 0.5";
    std::printf("  %-12s train accuracy %.3f  test accuracy %.3f  gap %.3f\n", name, s.train,
                s.test, s.train - s.test);
    if (which == 0)
      plain_gap = s.train - s.test;
    else
      best_gap = std::min(best_gap, s.train - s.test);
  }
  std::printf("\n");
  ok = ok && best_gap < plain_gap;

  std::printf("== 4. Batch normalization (2-5x10-2 sigmoid, SGD 0.1, 30 epochs) ==\n");
  double plain_bn = 0, with_bn = 0;
  for (int which = 0; which < 2; ++which) {
    nn::manual_seed(1);
    nn::Sequential m;
    std::size_t in = 2;
    for (int l = 0; l < 5; ++l, in = 10) {
      if (which == 1) {
        m.add(nn::Dense(in, 10));
        m.add(nn::BatchNorm(10));
        m.add(nn::ActivationLayer(nn::Activation::sigmoid()));
      } else {
        m.add(nn::Dense(in, 10, nn::Activation::sigmoid()));
      }
    }
    m.add(nn::Dense(10, 2));
    m.compile(loss, nn::SGD(0.1), {"accuracy"});
    const Score s = run(m, d, 30, 32);
    std::printf("  %-14s loss %.4f  test accuracy %.3f\n", which ? "with BatchNorm" : "without",
                s.loss, s.test);
    (which ? with_bn : plain_bn) = s.test;
  }
  ok = ok && with_bn > plain_bn;
  return ok ? 0 : 1;
}
