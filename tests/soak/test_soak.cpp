// Soak: 10,000 training steps leave the resident memory flat after warm-up (under 1 MiB of
// growth from step 1,000 to step 10,000): nothing leaks per step, no cache keeps growing.
// Built without sanitizers only: ASan's quarantine holds freed memory on purpose.

#include <catch2/catch.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/regularization.hpp"
#include "retrograd/nn/sequential.hpp"

using namespace retrograd;
using namespace retrograd::nn;

namespace {
/// This process's resident set size in KiB (VmRSS of /proc/self/status).
std::size_t resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  throw std::runtime_error("no VmRSS line in /proc/self/status");
}
}  // namespace

TEST_CASE("10,000 training steps leave RSS flat after warm-up", "[soak]") {
  // Every kind of layer state (Dense, BatchNorm, Dropout), Adam, shuffling, and a validation
  // pass (inference) after each of the 1,250 epochs of 8 steps of 16 samples.
  Sequential model;
  model.add(Dense(16, 64, Activation::relu(), Initializer::he_uniform(), 1));
  model.add(BatchNorm(64));
  model.add(Dropout(0.2, 2));
  model.add(Dense(64, 64, Activation::tanh(), Initializer::glorot_uniform(), 3));
  model.add(Dense(64, 4, Activation::linear(), Initializer::glorot_uniform(), 4));
  model.compile(Loss::categorical_cross_entropy(true), Adam(0.001), {"accuracy"});
  Tensor x = Tensor::from_shape({160, 16});
  Tensor y = zeros<float>({160, 4});
  for (std::size_t i = 0; i < 160; ++i) {
    for (std::size_t j = 0; j < 16; ++j) x(i, j) = static_cast<float>((i * 31 + j * 17) % 23) / 7;
    y(i, i % 4) = 1;
  }

  std::vector<std::size_t> rss_at;  // KiB after steps 1,000, 2,000, ... 10,000
  LambdaCallback probe;
  probe.batch_end = [&](Trainer& t, std::size_t, const Logs&) {
    if (t.state().step % 1000 == 0) rss_at.push_back(resident_kib());
  };
  FitOptions o;
  o.epochs = 1250;
  o.batch_size = 16;
  o.validation_split = 0.2;
  o.verbose = 0;
  o.seed = 4;
  o.callbacks = {&probe};
  const History h = model.fit(x, y, o);
  REQUIRE(h.epochs() == 1250);
  REQUIRE(rss_at.size() == 10);

  std::cout << "soak: RSS after steps 1,000 to 10,000 (KiB):";
  for (std::size_t kib : rss_at) std::cout << " " << kib;
  const long growth = static_cast<long>(rss_at.back()) - static_cast<long>(rss_at.front());
  std::cout << "; growth from step 1,000 to 10,000: " << growth << " KiB\n";
  CHECK(growth < 1024);
}
