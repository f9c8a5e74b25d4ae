// Single-head self-attention, softmax(Q K^T / sqrt(d)) V, on batched matmul: a batch of two
// sequences of four tokens with three features, projected to d = 2. It prints the attention
// weights (each row sums to 1), the output, and the gradient of a loss with respect to the
// query weights, then checks every gradient against finite differences.
//
//   self_attention      (exits 1 if the gradient check fails)

#include "self_attention.hpp"

#include <cstdio>
#include <random>

using namespace retrograd;

namespace {
TensorD seeded(const Shape& shape, std::mt19937_64& engine) {
  std::normal_distribution<double> normal(0.0, 1.0);
  TensorD t = TensorD::from_shape(shape);
  for (double& v : t) v = normal(engine);
  return t;
}
}  // namespace

int main() {
  std::mt19937_64 engine(7);
  const TensorD x = seeded({2, 4, 3}, engine);
  VarD wq(seeded({3, 2}, engine), requires_grad, "Wq");
  VarD wk(seeded({3, 2}, engine), requires_grad, "Wk");
  VarD wv(seeded({3, 2}, engine), requires_grad, "Wv");

  const VarD weights = example::attention_weights(VarD(x), wq, wk);
  std::printf("attention weights, sequence 0 (row i: what token i reads):\n%s\n",
              tensor_string(squeeze(slice(weights, 0, 0, 1), 0).value()).c_str());
  const TensorD row_sums = xt::sum(weights.value(), {2});
  std::printf("row sums: %s\n", values_string(row_sums).c_str());

  const VarD out = example::self_attention(VarD(x), wq, wk, wv);
  std::printf("output shape: %s\n", shape_string(out.shape()).c_str());
  const VarD loss = mean(out * out);
  loss.backward();
  std::printf("loss = %.6f\ndloss/dWq = %s\n", loss.item(), tensor_string(wq.grad()).c_str());

  const GradcheckResult check = gradcheck(
      [&](const std::vector<VarD>& in) {
        return example::self_attention(in[0], in[1], in[2], in[3]);
      },
      {x, wq.value(), wk.value(), wv.value()});
  std::printf("gradient check of x, Wq, Wk, Wv: %s\n", check.summary().c_str());
  return check.passed ? 0 : 1;
}
