// XOR two ways: Keras-style with Sequential::fit, and the same net in a hand-written loop.
// The smallest end-to-end use of retrograd::nn (docs/nn.md walks through it).

#include <iostream>

#include "retrograd/retrograd.hpp"

using namespace retrograd;

int main(int, char** argv) {
  ensure_fast_blas(argv);
  const Tensor x = {{0.f, 0.f}, {0.f, 1.f}, {1.f, 0.f}, {1.f, 1.f}};
  Tensor y = {0.f, 1.f, 1.f, 0.f};
  y.reshape({4, 1});

  nn::manual_seed(3);
  nn::Sequential model;
  model.add(nn::Dense(2, 4, nn::Activation::tanh()));
  model.add(nn::Dense(4, 1, nn::Activation::sigmoid()));
  model.compile(nn::Loss::binary_cross_entropy(), nn::SGD(0.5, 0.9), {"accuracy"});
  std::cout << model.summary();
  nn::FitOptions options;
  options.epochs = 300;
  options.batch_size = 4;
  options.verbose = 0;
  const nn::History history = model.fit(x, y, options);
  std::cout << "fit: loss " << history.loss.back() << ", accuracy " << history.accuracy.back()
            << "\npredictions: " << values_string(model.predict(x)) << "\n";

  // The same net by hand: forward, loss, zero_grad, backward, step.
  nn::Sequential net;
  net.add(nn::Dense(2, 4, nn::Activation::tanh(), nn::Initializer::glorot_uniform(), 1u));
  net.add(nn::Dense(4, 1, nn::Activation::sigmoid(), nn::Initializer::glorot_uniform(), 2u));
  nn::SGD optimizer(0.5, 0.9);
  optimizer.attach(net.parameters());
  const nn::Loss loss_fn = nn::Loss::binary_cross_entropy();
  double last = 0;
  for (int epoch = 0; epoch < 300; ++epoch) {
    const Var loss = loss_fn(net(Var(x)), Var(y));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    last = loss.item();
  }
  NoGradGuard no_grad;
  net.eval();
  std::cout << "loop: loss " << last << "\npredictions: " << values_string(net(Var(x)).value())
            << "\n";
  return 0;
}
