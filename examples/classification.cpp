// The course's Keras classification program: the regression net with a softmax head,
//   model.add(Dense(d_out, activation='softmax'))
//   model.compile(loss='categorical_crossentropy', optimizer='sgd', metrics='accuracy')
//   history = model.fit(x, y, epochs=100, batch_size=32); y_predicted = model.predict(x)
// on three Gaussian blobs with one-hot labels (cargar_dataset(one_hot=True) in the notes).
//
//   classification      (exits 1 unless the final training accuracy reaches 90%)

#include <cstdio>
#include <retrograd/retrograd.hpp>

using namespace retrograd;

int main(int, char** argv) {
  ensure_fast_blas(argv);
  nn::manual_seed(0);
  const data::Dataset set = data::make_blobs(600, 3, 2, 1.0, 1);  // cargar_dataset(one_hot=True)
  Tensor x, y;
  set.batch(0, set.size(), x, y);  // y: one-hot rows
  const std::size_t d_in = x.shape()[1], d_out = y.shape()[1];

  nn::Sequential model;
  model.add(nn::Dense(d_in, 4, nn::Activation::tanh()));
  model.add(nn::Dense(4, 5, nn::Activation::relu()));
  model.add(nn::Dense(5, d_out, nn::Activation::softmax()));
  model.compile(nn::Loss::categorical_cross_entropy(), nn::SGD(0.01), {"accuracy"});
  nn::FitOptions options;
  options.epochs = 100;
  options.batch_size = 32;
  options.verbose = 0;
  const nn::History history = model.fit(x, y, options);
  const Tensor y_predicted = model.predict(x);

  std::printf("%s", model.summary().c_str());
  for (std::size_t e = 0; e < history.epochs(); e += 10)
    std::printf("epoch %3zu  loss %.4f  accuracy %.4f\n", e + 1, history.loss[e],
                history.accuracy[e]);
  std::printf("epoch %3zu  loss %.4f  accuracy %.4f\n", history.epochs(), history.loss.back(),
              history.accuracy.back());
  std::printf("first samples: class, then predicted probabilities\n");
  for (std::size_t i = 0; i < 4; ++i)
    std::printf("  %zu   %.3f %.3f %.3f\n", std::size_t(set.labels()[i]), y_predicted(i, 0),
                y_predicted(i, 1), y_predicted(i, 2));
  return history.accuracy.back() >= 0.9 ? 0 : 1;
}
