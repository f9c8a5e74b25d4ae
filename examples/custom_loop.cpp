// Training without fit(): the five steps every framework hides, written out.
//   forward -> loss -> zero_grad -> backward -> step
// Two Dense layers (no Sequential) learn the two-moons set in mini-batches; the loop prints
// the mean loss and the accuracy every 5 epochs. First it shows why zero_grad is there:
// gradients accumulate until zeroed.
//
//   custom_loop      (exits 1 unless the test accuracy reaches 95%)

#include <cstdio>
#include <retrograd/retrograd.hpp>

using namespace retrograd;

int main(int, char** argv) {
  ensure_fast_blas(argv);
  nn::manual_seed(0);
  data::Dataset train = data::make_moons(1000, 0.1, 1);
  const data::Dataset test = data::make_moons(500, 0.1, 2);

  nn::Dense hidden(2, 16, nn::Activation::relu(), nn::Initializer::he_uniform());
  nn::Dense output(16, 2);  // logits: the loss applies the softmax
  std::vector<Var> params = hidden.parameters();
  for (const Var& p : output.parameters()) params.push_back(p);
  nn::SGD optimizer(0.1, /*momentum=*/0.9);
  optimizer.attach(params);

  // Why zero_grad: two backward passes over the same loss add up their gradients.
  {
    Tensor x, y;
    train.batch(0, 32, x, y);
    const Var loss = softmax_cross_entropy(output(hidden(Var(x))), Var(y));
    loss.backward(/*keep_graph=*/true);
    std::printf("dL/db[0] of the output layer after one backward: %+.6f\n",
                double(params[3].grad()(0)));
    loss.backward();
    std::printf("after a second one:                              %+.6f (accumulated)\n",
                double(params[3].grad()(0)));
    optimizer.zero_grad();
    std::printf("after zero_grad: has a gradient? %s\n\n", params[3].has_grad() ? "yes" : "no");
  }

  train.shuffle(1);
  for (int epoch = 1; epoch <= 30; ++epoch) {
    double total = 0;
    std::size_t correct = 0;
    for (const data::Batch& b : train.batches(32)) {
      const Var logits = output(hidden(Var(b.x)));               // forward
      const Var loss = softmax_cross_entropy(logits, Var(b.y));  // loss (b.y one-hot)
      optimizer.zero_grad();  // zero_grad: otherwise this batch adds to the last one
      loss.backward();        // backward: dL/d(every parameter)
      optimizer.step();       // step: w -= lr * velocity
      total += loss.item() * double(b.size);
      correct += nn::count_correct(logits.value(), b.y, /*from_logits=*/true);
    }
    train.shuffle();
    if (epoch % 5 == 0)
      std::printf("epoch %2d  loss %.4f  accuracy %.4f\n", epoch, total / double(train.size()),
                  double(correct) / double(train.size()));
  }

  NoGradGuard no_grad;  // inference: no graph
  Tensor x, y;
  test.batch(0, test.size(), x, y);
  const double accuracy = nn::accuracy(output(hidden(Var(x))).value(), y, true);
  std::printf("test accuracy %.4f\n", accuracy);
  return accuracy >= 0.95 ? 0 : 1;
}
