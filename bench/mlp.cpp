// Training benchmark: the three configurations of docs/performance.md on Fashion-MNIST.
// Prints one line of key=value pairs that bench/run.sh collects into a table.
//
//   bench_mlp CONFIG [epochs=5] [threads=1] [data-dir] [seed=1]
//   CONFIG: a  784-15-10 sigmoid, MSE, batch 20, SGD lr 3.0
//           b  784-128-10 relu, softmax cross-entropy, batch 64, SGD lr 0.1
//           c  784-512-512-10 relu, cross-entropy, batch 128, SGD momentum 0.9 lr 0.05

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <retrograd/retrograd.hpp>
#include <string>

using namespace retrograd;

namespace {

/// PyTorch's initialization, so that both sides start alike: nn.Linear's default
/// U(-1/sqrt(in), 1/sqrt(in)) for weights and biases, or N(0, 1) for both in configuration (a).
void initialize_like_torch(nn::Sequential& model, bool normal, nn::Engine& engine) {
  for (std::size_t i = 0; i < model.size(); ++i) {
    auto* dense = dynamic_cast<nn::Dense*>(&model.layer(i));
    if (!dense) continue;
    const float bound = 1.0f / std::sqrt(static_cast<float>(dense->in_features()));
    std::uniform_real_distribution<float> uniform(-bound, bound);
    std::normal_distribution<float> gaussian(0.0f, 1.0f);
    for (Var p : {dense->weight(), dense->bias()}) {
      for (float& v : p.value()) v = normal ? gaussian(engine) : uniform(engine);
    }
  }
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_mlp a|b|c [epochs] [threads] [data-dir] [seed]\n");
    return 2;
  }
  const std::string config = argv[1];
  const std::size_t epochs = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 5;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 1;
  const std::string dir = argc > 4 ? argv[4] : data::fashion_mnist_dir;
  const unsigned long seed = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 1;
  set_blas_threads(threads);

  const data::Mnist mnist = data::load_mnist(dir);
  nn::manual_seed(seed);
  nn::Sequential model;
  std::size_t batch = 0;
  if (config == "a") {
    model.add(nn::Dense(784, 15, nn::Activation::sigmoid()));
    model.add(nn::Dense(15, 10, nn::Activation::sigmoid()));
    model.compile(nn::Loss::quadratic(), nn::SGD(3.0), {"accuracy"});
    batch = 20;
  } else if (config == "b") {
    model.add(nn::Dense(784, 128, nn::Activation::relu()));
    model.add(nn::Dense(128, 10));
    model.compile(nn::Loss::categorical_cross_entropy(true), nn::SGD(0.1), {"accuracy"});
    batch = 64;
  } else if (config == "c") {
    model.add(nn::Dense(784, 512, nn::Activation::relu()));
    model.add(nn::Dense(512, 512, nn::Activation::relu()));
    model.add(nn::Dense(512, 10));
    model.compile(nn::Loss::categorical_cross_entropy(true), nn::SGD(0.05, 0.9), {"accuracy"});
    batch = 128;
  } else {
    std::fprintf(stderr, "bench_mlp: unknown configuration '%s' (a, b or c)\n", config.c_str());
    return 2;
  }

  nn::Engine engine(seed);
  initialize_like_torch(model, config == "a", engine);
  // Images stay bytes; each batch is gathered and scaled to [0, 1] into reused buffers.
  const io::DatasetSource train(mnist.train), test(mnist.test);
  std::vector<double> seconds;
  double accuracy_1 = 0, accuracy_last = 0;
  nn::FitOptions options;
  options.batch_size = batch;
  options.epochs = 1;
  options.verbose = 0;
  for (std::size_t e = 0; e < epochs; ++e) {
    options.seed = seed + e;
    const auto t0 = std::chrono::steady_clock::now();
    model.fit(train, options);
    const auto t1 = std::chrono::steady_clock::now();
    seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
    const double accuracy = model.evaluate(test, 1000).at("accuracy");
    if (e == 0) accuracy_1 = accuracy;
    accuracy_last = accuracy;
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  std::printf(
      "impl=retrograd config=%s threads=%d epochs=%zu median_s=%.4f samples_per_s=%.0f "
      "acc1=%.4f acc_last=%.4f peak_rss_mib=%.1f blas=%s gemm=%s seed=%lu\n",
      config.c_str(), threads, epochs, median, mnist.train.size() / median, accuracy_1,
      accuracy_last, peak_rss_mib(), blas_core_name().c_str(), gemm_backend().c_str(), seed);
  return 0;
}
