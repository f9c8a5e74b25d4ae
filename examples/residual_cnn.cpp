// A residual CNN against the plain one on Fashion-MNIST (issue 23): the same convolutions, with
// and without the two skip connections, built as functional models (nn/model.hpp).
//
//   stem    conv 3x3 (1 -> 16), BatchNorm, relu, max-pool 2          [16, 14, 14]
//   block   conv 3x3, BatchNorm, relu, conv 3x3, BatchNorm, + input, relu   (twice; the
//           residual block's last BatchNorm starts with scale 0)
//   head    max-pool 2, flatten, dense 784 -> 10                      [10]
//
//   residual_cnn [--data DIR] [--train N] [--test N] [--epochs N] [--batch-size N] [--lr X]
//                [--seed S] [--min-accuracy A]
//     --train, --test: the first N images of each set (all by default)
//     --seed: the initial weights' seed (17 by default), the same for both networks
//     --min-accuracy: exit 1 unless the residual network's test accuracy reaches A
//
// Both networks start from the same seed, see the same batches and train with Adam, its rate
// falling to 1/16 by the last epoch as `retrograd train`'s does; each prints its test accuracy
// after every epoch.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <retrograd/data/mnist.hpp>
#include <retrograd/io/dataset_source.hpp>
#include <retrograd/retrograd.hpp>
#include <string>
#include <utility>

using namespace retrograd;

namespace {

constexpr std::size_t channels = 16;

nn::Layer conv3x3(std::size_t in) {
  return nn::Conv2D(in, channels, 3, nn::Conv2DOptions{1, 1, 1, false});
}

/// Two convolutions, each with BatchNorm; with `skip`, the block's input is added before the
/// last relu, and the block starts as the identity: its last BatchNorm's scale starts at 0
/// (torchvision's zero_init_residual), so early training sees the stem's features unchanged.
/// The plain block keeps the scale at 1: at 0 it would pass nothing on.
nn::Symbol block(const nn::Symbol& x, bool skip) {
  nn::Layer relu = nn::ActivationLayer(nn::Activation::relu());
  nn::Layer relu_out = nn::ActivationLayer(nn::Activation::relu());
  nn::BatchNorm last(channels);
  if (skip) {
    Var scale = last.gamma();
    scale.value().fill(0);
  }
  nn::Layer bn1 = nn::BatchNorm(channels), bn2 = std::move(last);
  const nn::Symbol h = bn2(conv3x3(channels)(relu(bn1(conv3x3(channels)(x)))));
  return relu_out(skip ? nn::add(h, x) : h);
}

nn::Model network(bool residual, std::uint64_t seed) {
  nn::manual_seed(seed);
  auto x = nn::Input({1, 28, 28});
  nn::Layer stem = nn::Conv2D(1, channels, 3, nn::Conv2DOptions{1, 1, 1, true});
  nn::Symbol h = nn::Layer(nn::MaxPool2D(2))(nn::Layer(nn::ActivationLayer(nn::Activation::relu()))(
      nn::Layer(nn::BatchNorm(channels))(stem(x))));
  h = block(block(h, residual), residual);
  h = nn::Layer(nn::Flatten())(nn::Layer(nn::MaxPool2D(2))(h));
  return nn::Model({x}, {nn::Layer(nn::Dense(channels * 7 * 7, 10))(h)});
}

data::Dataset first(const data::Dataset& set, std::size_t n) {
  std::vector<std::size_t> indices(std::min(n, set.size()));
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  data::Dataset out = set.subset(indices);
  out.set_batch_sample_shape({1, 28, 28});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  std::string dir = data::fashion_mnist_dir;
  std::size_t train_n = 60000, test_n = 10000, epochs = 5, batch_size = 64;
  std::uint64_t seed = 17;
  double lr = 0.002, min_accuracy = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "residual_cnn: %s needs a value\n", flag.c_str());
      return 2;
    }
    const char* value = argv[++i];
    if (flag == "--data") {
      dir = value;
    } else if (flag == "--train") {
      train_n = std::stoul(value);
    } else if (flag == "--test") {
      test_n = std::stoul(value);
    } else if (flag == "--epochs") {
      epochs = std::stoul(value);
    } else if (flag == "--batch-size") {
      batch_size = std::stoul(value);
    } else if (flag == "--lr") {
      lr = std::stod(value);
    } else if (flag == "--seed") {
      seed = std::stoull(value);
    } else if (flag == "--min-accuracy") {
      min_accuracy = std::stod(value);
    } else {
      std::fprintf(stderr, "residual_cnn: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  const data::Mnist mnist = data::load_mnist(dir);
  const data::Dataset train = first(mnist.train, train_n), test = first(mnist.test, test_n);
  std::printf("data: %s, %zu training and %zu test images\n", dir.c_str(), train.size(),
              test.size());
  const io::DatasetSource train_source(train), test_source(test);

  double accuracy[2] = {0, 0};
  for (const bool residual : {false, true}) {
    nn::Model model = network(residual, seed);
    if (residual) std::printf("%s", model.summary().c_str());
    nn::Adam adam(lr);
    // The command line's default schedule: the rate falls to 1/16 of lr by the last epoch.
    nn::ExponentialLR schedule(
        adam, epochs > 1 ? std::pow(1.0 / 16, 1.0 / static_cast<double>(epochs - 1)) : 1.0);
    nn::FitOptions options;
    options.callbacks.push_back(&schedule);
    options.epochs = epochs;
    options.batch_size = batch_size;
    options.seed = 3;
    options.verbose = 0;
    options.validation_data = &test_source;
    const nn::History history =
        nn::Trainer(model, nn::Loss::categorical_cross_entropy(true), adam, options, true)
            .fit(train_source);
    const char* name = residual ? "residual" : "plain";
    for (std::size_t e = 0; e < history.epochs(); ++e) {
      std::printf("%-8s epoch %zu  loss %.4f  test accuracy %.4f\n", name, e + 1, history.loss[e],
                  history.val_accuracy[e]);
    }
    accuracy[residual] = history.val_accuracy.back();
  }
  std::printf("plain CNN: test accuracy %.4f\nresidual CNN: test accuracy %.4f (%+.4f)\n",
              accuracy[0], accuracy[1], accuracy[1] - accuracy[0]);
  std::printf("the residual network reaches the plain one's accuracy: %s\n",
              accuracy[1] >= accuracy[0] ? "yes" : "no");
  if (accuracy[1] < min_accuracy) {
    std::fprintf(stderr, "residual_cnn: test accuracy %.4f is below --min-accuracy %.4f\n",
                 accuracy[1], min_accuracy);
    return 1;
  }
  return 0;
}
