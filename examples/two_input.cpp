// A functional model of two inputs and two outputs (issue 23, docs/nn.md "Functional models"):
// a point a (4 features) and a point b (3 features) go through their own Dense layers, meet in
// a concat, and leave as a class (3 logits) and a value. One loss per output, each with its
// weight: cross-entropy on the class, mean squared error on the value at half weight.
//
//   class = [a0 + b0 > 0] + [a1 - b1 > 0]        value = a2 b2 + a3 / 2
//
// The Trainer sees one input and one output: Model::pack lays a and b side by side, the
// targets are the one-hot class and the value side by side, and Model::loss reads each
// output's columns.
//
//   two_input     (exits 1 unless the test accuracy reaches 0.85 and the value's MSE is below 0.1)

#include <cstdio>
#include <random>
#include <retrograd/retrograd.hpp>

using namespace retrograd;

namespace {

struct Split {
  Tensor a, b, targets;  // targets: one-hot class (3) and value (1) side by side
};

Split make_data(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> normal;
  Split s{Tensor::from_shape({n, 4}), Tensor::from_shape({n, 3}), Tensor::from_shape({n, 4})};
  for (float& v : s.a) v = normal(engine);
  for (float& v : s.b) v = normal(engine);
  s.targets.fill(0);
  for (std::size_t i = 0; i < n; ++i) {
    const int k = (s.a(i, 0) + s.b(i, 0) > 0) + (s.a(i, 1) - s.b(i, 1) > 0);
    s.targets(i, k) = 1;
    s.targets(i, 3) = s.a(i, 2) * s.b(i, 2) + s.a(i, 3) / 2;
  }
  return s;
}

}  // namespace

int main(int, char** argv) {
  ensure_fast_blas(argv);
  nn::manual_seed(5);
  auto a = nn::Input({4});
  auto b = nn::Input({3});
  nn::Layer from_a = nn::Dense(4, 32, nn::Activation::tanh());
  nn::Layer from_b = nn::Dense(3, 32, nn::Activation::tanh());
  nn::Layer hidden = nn::Dense(64, 32, nn::Activation::tanh());
  nn::Layer classes = nn::Dense(32, 3);
  nn::Layer value = nn::Dense(32, 1);
  const nn::Symbol h = hidden(nn::concat({from_a(a), from_b(b)}));
  nn::Model model({a, b}, {classes(h), value(h)});
  std::printf("%s", model.summary().c_str());

  const nn::Loss loss =
      model.loss({{nn::Loss::categorical_cross_entropy(true), 1.0}, {nn::Loss::mse(), 0.5}});
  std::printf("loss: %s\n", loss.name().c_str());
  const Split train = make_data(800, 1), test = make_data(200, 2);
  const Tensor x = model.pack({train.a, train.b});
  nn::TensorBatchSource data(x, train.targets);
  nn::Adam adam(0.01);
  nn::FitOptions options;
  options.epochs = 60;
  options.batch_size = 32;
  options.seed = 3;
  options.verbose = 0;
  const nn::History history = nn::Trainer(model, loss, adam, options).fit(data);
  std::printf("epoch  1  loss %.4f\nepoch %zu  loss %.4f\n", history.loss.front(), history.epochs(),
              history.loss.back());

  const std::vector<Tensor> out = model.unpack(model.infer_tensor(model.pack({test.a, test.b})));
  std::size_t right = 0;
  double squared = 0;
  for (std::size_t i = 0; i < test.a.shape()[0]; ++i) {
    std::size_t best = 0;
    for (std::size_t k = 1; k < 3; ++k) {
      if (out[0](i, k) > out[0](i, best)) best = k;
    }
    right += test.targets(i, best) == 1;
    const double d = out[1](i, 0) - test.targets(i, 3);
    squared += d * d;
  }
  const double accuracy = double(right) / 200, mse = squared / 200;
  std::printf("test: class accuracy %.3f, value MSE %.4f\n", accuracy, mse);
  return accuracy >= 0.85 && mse < 0.1 ? 0 : 1;
}
