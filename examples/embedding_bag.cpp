// An embedding bag learns which tokens matter. Vocabulary of 8 tokens; tokens 0-3 are
// "positive", 4-7 "negative"; a bag of 5 tokens is class 1 when most of its tokens are
// positive. The model averages 4-d embeddings looked up with take (gradients scatter-add into
// the rows the bag used, twice for a token used twice) and scores the classes linearly. It
// trains with plain gradient descent and prints the loss and accuracy, then the learnt
// "positivity" of each token: the class-1 minus class-0 score of its embedding.
//
//   embedding_bag      (exits 1 unless the training accuracy reaches 95%)

#include "embedding_bag.hpp"

#include <cstdio>
#include <random>

using namespace retrograd;

int main() {
  constexpr std::size_t vocabulary = 8, dim = 4, bags = 64, tokens = 5;
  std::mt19937_64 engine(3);
  std::uniform_int_distribution<std::int64_t> token(0, vocabulary - 1);
  IndexTensor ids = IndexTensor::from_shape({bags, tokens});
  TensorD labels = TensorD::from_shape({bags});
  for (std::size_t i = 0; i < bags; ++i) {
    int positive = 0;
    for (std::size_t t = 0; t < tokens; ++t) {
      ids(i, t) = token(engine);
      positive += ids(i, t) < 4 ? 1 : 0;
    }
    labels(i) = positive * 2 > static_cast<int>(tokens) ? 1.0 : 0.0;
  }
  std::normal_distribution<double> normal(0.0, 0.1);
  const auto init = [&](const Shape& shape) {
    TensorD t = TensorD::from_shape(shape);
    for (double& v : t) v = normal(engine);
    return t;
  };
  VarD table(init({vocabulary, dim}), requires_grad, "table");
  VarD w(init({dim, 2}), requires_grad, "W");
  VarD b(TensorD::from_shape({2}), requires_grad, "b");
  b.value().fill(0.0);

  const auto accuracy = [&] {
    NoGradGuard no_grad;
    const TensorD predicted = argmax(example::embedding_bag_logits(ids, table, w, b), 1).value();
    return double(xt::sum(xt::equal(predicted, labels))()) / double(bags);
  };
  const double learning_rate = 2.0;
  for (int step = 0; step <= 300; ++step) {
    const VarD loss =
        sparse_softmax_cross_entropy(example::embedding_bag_logits(ids, table, w, b), labels);
    if (step % 100 == 0) {
      std::printf("step %3d  loss %.4f  accuracy %.3f\n", step, loss.item(), accuracy());
    }
    if (step == 300) break;
    for (VarD* p : {&table, &w, &b}) p->zero_grad();
    loss.backward();
    for (VarD* p : {&table, &w, &b}) p->value() -= learning_rate * p->grad();
  }
  const TensorD scores = matmul(table, w).value();  // [vocabulary, 2]
  std::printf("token positivity (class 1 - class 0 score):");
  for (std::size_t v = 0; v < vocabulary; ++v) std::printf(" %+.2f", scores(v, 1) - scores(v, 0));
  std::printf("\n");
  const double final_accuracy = accuracy();
  std::printf("final accuracy %.3f\n", final_accuracy);
  return final_accuracy >= 0.95 ? 0 : 1;
}
