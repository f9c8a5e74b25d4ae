// Training benchmark of the convolutional network `retrograd train --model cnn` builds, beside
// bench/cnn_torch.py: conv 1->32 3x3 pad 1, relu, max-pool 2, conv 32->64 3x3 pad 1, relu,
// max-pool 2, flatten, dense 3136->128, relu, dropout 0.25, dense 10; Adam lr 0.001, batch 64,
// PyTorch's default initialization. Prints one line of key=value pairs like bench_mlp.
//
//   bench_cnn [epochs=2] [threads=1] [data-dir] [seed=1]

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

/// PyTorch's default initialization of Conv2d and Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
/// weights and biases.
void initialize_like_torch(nn::Sequential& model, nn::Engine& engine) {
  for (std::size_t i = 0; i < model.size(); ++i) {
    std::vector<Var> params;
    std::size_t fan_in = 0;
    if (auto* dense = dynamic_cast<nn::Dense*>(&model.layer(i))) {
      params = {dense->weight(), dense->bias()};
      fan_in = dense->in_features();
    } else if (auto* conv = dynamic_cast<nn::Conv2D*>(&model.layer(i))) {
      params = {conv->weight(), conv->bias()};
      fan_in = conv->in_channels() * conv->kernel().h * conv->kernel().w;
    } else {
      continue;
    }
    const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
    std::uniform_real_distribution<float> uniform(-bound, bound);
    for (Var p : params) {
      for (float& v : p.value()) v = uniform(engine);
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
  const std::size_t epochs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const std::string dir = argc > 3 ? argv[3] : data::fashion_mnist_dir;
  const unsigned long seed = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 1;
  set_blas_threads(threads);

  data::Mnist mnist = data::load_mnist(dir);
  mnist.train.set_batch_sample_shape({1, 28, 28});
  mnist.test.set_batch_sample_shape({1, 28, 28});
  nn::manual_seed(seed);
  nn::Sequential model;
  model.set_input_shape({1, 28, 28});
  nn::Conv2DOptions same;
  same.padding = 1;
  model.add(nn::Conv2D(1, 32, 3, same));
  model.add(nn::ActivationLayer(nn::Activation::relu()));
  model.add(nn::MaxPool2D(2));
  model.add(nn::Conv2D(32, 64, 3, same));
  model.add(nn::ActivationLayer(nn::Activation::relu()));
  model.add(nn::MaxPool2D(2));
  model.add(nn::Flatten());
  model.add(nn::Dense(3136, 128, nn::Activation::relu()));
  model.add(nn::Dropout(0.25));
  model.add(nn::Dense(128, 10));
  model.compile(nn::Loss::categorical_cross_entropy(true), nn::Adam(0.001), {"accuracy"});
  nn::Engine engine(seed);
  initialize_like_torch(model, engine);

  const io::DatasetSource train(mnist.train), test(mnist.test);
  std::vector<double> seconds;
  double accuracy_1 = 0, accuracy_last = 0;
  nn::FitOptions options;
  options.batch_size = 64;
  options.epochs = 1;
  options.verbose = 0;
  for (std::size_t e = 0; e < epochs; ++e) {
    options.seed = seed + e;
    const auto t0 = std::chrono::steady_clock::now();
    model.fit(train, options);
    const auto t1 = std::chrono::steady_clock::now();
    seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
    const double accuracy = model.evaluate(test, 100).at("accuracy");
    if (e == 0) accuracy_1 = accuracy;
    accuracy_last = accuracy;
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  std::printf(
      "impl=retrograd config=cnn threads=%d epochs=%zu median_s=%.4f samples_per_s=%.0f "
      "acc1=%.4f acc_last=%.4f peak_rss_mib=%.1f blas=%s gemm=%s seed=%lu\n",
      threads, epochs, median, mnist.train.size() / median, accuracy_1, accuracy_last,
      peak_rss_mib(), blas_core_name().c_str(), gemm_backend().c_str(), seed);
  return 0;
}
