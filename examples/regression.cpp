// The course's Keras regression program, line for line:
//   model.add(Dense(4, input_shape=[d_in], activation='tanh'))
//   model.add(Dense(5, activation='relu'))
//   model.add(Dense(d_out, activation='none'))
//   model.compile(loss='mse', optimizer='sgd')
//   history = model.fit(x, y, epochs=100, batch_size=32); y_predicted = model.predict(x)
// on noisy samples of sin(x) (cargar_dataset() in the notes).
//
//   regression      (exits 1 unless the final loss is below half the variance of y)

#include <cstdio>
#include <retrograd/retrograd.hpp>

using namespace retrograd;

int main(int, char** argv) {
  ensure_fast_blas(argv);
  nn::manual_seed(0);
  const data::Dataset set = data::make_sine(1000, 0.1, 1);  // x, y = cargar_dataset()
  const Tensor x = set.features(), y = set.targets();
  const std::size_t d_in = x.shape()[1], d_out = y.shape()[1];

  nn::Sequential model;
  model.add(nn::Dense(d_in, 4, nn::Activation::tanh()));
  model.add(nn::Dense(4, 5, nn::Activation::relu()));
  model.add(nn::Dense(5, d_out, nn::Activation::linear()));
  model.compile(nn::Loss::mse(), nn::SGD(0.01));  // Keras' 'sgd': learning rate 0.01
  nn::FitOptions options;
  options.epochs = 100;
  options.batch_size = 32;
  options.verbose = 0;
  const nn::History history = model.fit(x, y, options);
  const Tensor y_predicted = model.predict(x);

  std::printf("%s", model.summary().c_str());
  for (std::size_t e = 0; e < history.epochs(); e += 10)
    std::printf("epoch %3zu  loss %.4f\n", e + 1, history.loss[e]);
  const double variance = xt::variance(y)();
  std::printf("epoch %3zu  loss %.4f  (predicting the mean costs %.4f)\n", history.epochs(),
              history.loss.back(), variance);
  std::printf("    x      sin(x)+noise   predicted\n");
  for (std::size_t i = 0; i < 5; ++i)
    std::printf("  %6.3f   %8.4f      %8.4f\n", x(i, 0), y(i, 0), y_predicted(i, 0));
  return history.loss.back() < variance / 2 ? 0 : 1;
}
