// The course's MNIST network: 784 input pixels, 15 sigmoid hidden neurons, 10 sigmoid outputs,
// the quadratic cost C = 1/2n Σ‖y(x) − a‖², and mini-batch SGD:
//   for each epoch: shuffle; for each mini-batch of m samples: compute the gradients, apply SGD.
// Prints the cost and the test accuracy per epoch, then draws what each hidden neuron looks
// for: its 784 input weights as a 28 x 28 image, the 15 of them in a grid (PNG).
//
//   mnist_784_15_10 [--data DIR] [--synthetic] [--epochs N] [--train N] [--test N]
//                   [--batch M] [--eta E] [--png FILE] [--min-accuracy A]
//     --data: any MNIST-format directory (default: Debian's Fashion-MNIST)
//     --synthetic: write a small synthetic MNIST-format set to ./synthetic-idx and use it
//     --train/--test: use only the first N samples (0: all)
//     exits 1 if the final test accuracy is below --min-accuracy (default 0)

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <random>
#include <retrograd/retrograd.hpp>
#include <stdexcept>
#include <string>
#include <xtensor/xview.hpp>

using namespace retrograd;

namespace {

// Ten classes a 784-15-10 net separates in a few epochs: class k is a bright horizontal bar
// at row 2 + 2.5k of a noisy 28 x 28 image. Written as IDX so the real loader reads it.
std::string write_synthetic(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> noise(0, 60), label(0, 9);
  for (const auto& [prefix, count] : {std::pair{"train", 3000}, std::pair{"t10k", 500}}) {
    data::IdxImages images{std::size_t(count), 28, 28, {}};
    std::vector<std::uint8_t> labels(count);
    for (int i = 0; i < count; ++i) {
      labels[i] = std::uint8_t(label(rng));
      const int bar = 2 + labels[i] * 5 / 2;
      for (int r = 0; r < 28; ++r)
        for (int c = 0; c < 28; ++c)
          images.pixels.push_back(std::uint8_t(r == bar || r == bar + 1 ? 255 : noise(rng)));
    }
    data::write_idx_images(dir + "/" + prefix + "-images-idx3-ubyte", images);
    data::write_idx_labels(dir + "/" + prefix + "-labels-idx1-ubyte", labels);
  }
  return dir;
}

data::Dataset first(const data::Dataset& set, std::size_t n) {
  if (n == 0 || n >= set.size()) return set;
  std::vector<std::size_t> indices(n);
  std::iota(indices.begin(), indices.end(), 0);
  return set.subset(indices);
}

// The 15 columns of W (784 x 15) as 28 x 28 tiles in a 5 x 3 grid, each tile scaled by its
// largest |weight| (gray = 0, white = positive, black = negative) and magnified 4 times.
void save_hidden_weights(const Tensor& w, const std::string& path) {
  constexpr int tile = 28, zoom = 4, gap = 2, cols = 5, rows = 3;
  const int width = (cols * (tile + gap) + gap) * zoom, height = (rows * (tile + gap) + gap) * zoom;
  std::vector<png_byte> image(std::size_t(width) * height, 255);
  for (int unit = 0; unit < 15; ++unit) {
    const auto column = xt::view(w, xt::all(), unit);
    const float scale = std::max(xt::amax(xt::abs(column))(), 1e-12f);
    const int x0 = gap + (unit % cols) * (tile + gap), y0 = gap + (unit / cols) * (tile + gap);
    for (int p = 0; p < tile * tile; ++p) {
      const png_byte gray = png_byte(std::lround(127.5 + 127.5 * column(p) / scale));
      for (int dy = 0; dy < zoom; ++dy)
        for (int dx = 0; dx < zoom; ++dx)
          image[std::size_t((y0 + p / tile) * zoom + dy) * width + (x0 + p % tile) * zoom + dx] =
              gray;
    }
  }
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) throw std::runtime_error("cannot write " + path);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {  // libpng reports errors by longjmp
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
    throw std::runtime_error("libpng failed writing " + path);
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y) png_write_row(png, &image[std::size_t(y) * width]);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(file);
}

}  // namespace

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  std::string dir = data::fashion_mnist_dir, png = "mnist_784_15_10_hidden.png";
  std::size_t epochs = 30, train_n = 0, test_n = 0, batch = 10;
  double eta = 3.0, min_accuracy = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--synthetic") {
      dir = write_synthetic("synthetic-idx");
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "missing value after %s\n", flag.c_str());
      return 2;
    }
    const char* value = argv[++i];
    if (flag == "--data")
      dir = value;
    else if (flag == "--epochs")
      epochs = std::stoul(value);
    else if (flag == "--train")
      train_n = std::stoul(value);
    else if (flag == "--test")
      test_n = std::stoul(value);
    else if (flag == "--batch")
      batch = std::stoul(value);
    else if (flag == "--eta")
      eta = std::stod(value);
    else if (flag == "--png")
      png = value;
    else if (flag == "--min-accuracy")
      min_accuracy = std::stod(value);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }

  const data::Mnist mnist = data::load_mnist(dir);
  data::Dataset train = first(mnist.train, train_n);
  const data::Dataset test = first(mnist.test, test_n);
  std::printf("data: %s, %zu training and %zu test images\n", dir.c_str(), train.size(),
              test.size());

  // Weights from N(0, 1/√fan_in) (Nielsen's scaled Gaussians): with N(0, 1) the 784 input
  // weights stay mostly starting noise, and their drawings would show the noise, not the
  // features the neurons learned.
  nn::manual_seed(1);
  nn::Sequential model;
  model.add(nn::Dense(784, 15, nn::Activation::sigmoid(), nn::Initializer::normal(0, 1 / 28.)));
  model.add(
      nn::Dense(15, 10, nn::Activation::sigmoid(), nn::Initializer::normal(0, 1 / std::sqrt(15.))));
  nn::SGD sgd(eta);
  sgd.attach(model.parameters());
  std::printf("784-15-10 sigmoid, quadratic cost, mini-batch SGD: m = %zu, η = %g\n", batch, eta);

  double accuracy = 0;
  train.shuffle(1);
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
    double cost = 0;
    for (const data::Batch& b : train.batches(batch)) {
      const Var c = nn::quadratic_cost(model(Var(b.x)), Var(b.y));
      sgd.zero_grad();
      c.backward();
      sgd.step();
      cost += c.item() * double(b.size);
    }
    train.shuffle();  // the next epoch's order

    NoGradGuard no_grad;
    std::size_t correct = 0;
    for (const data::Batch& b : test.batches(1000))
      correct += nn::count_correct(model(Var(b.x)).value(), b.y);
    accuracy = double(correct) / double(test.size());
    std::printf("epoch %2zu  cost %.4f  test accuracy %zu / %zu = %.4f\n", epoch,
                cost / double(train.size()), correct, test.size(), accuracy);
  }

  save_hidden_weights(model.named_parameters()[0].var.value(), png);
  std::printf("hidden weights: %s\n", png.c_str());
  if (accuracy < min_accuracy) {
    std::printf("test accuracy %.4f is below %.4f\n", accuracy, min_accuracy);
    return 1;
  }
  return 0;
}
