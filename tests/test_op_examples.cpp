// The models of the op examples (examples/self_attention, embedding_bag, masked_mse), each
// gradchecked in double with respect to every input and parameter.

#include "../examples/embedding_bag.hpp"
#include "../examples/masked_mse.hpp"
#include "../examples/self_attention.hpp"
#include "test_helpers.hpp"

using namespace retrograd;
using retrograd::testing::random_tensor;
using retrograd::testing::require_gradcheck;
using Inputs = std::vector<VarD>;

TEST_CASE("self-attention: weights are distributions, gradients match finite differences",
          "[examples][attention]") {
  const TensorD x = random_tensor({2, 3, 4}, 1);
  const TensorD wq = random_tensor({4, 2}, 2), wk = random_tensor({4, 2}, 3);
  const TensorD wv = random_tensor({4, 3}, 4);
  const VarD weights = example::attention_weights(VarD(x), VarD(wq), VarD(wk));
  REQUIRE(weights.shape() == Shape{2, 3, 3});
  const TensorD sums = xt::sum(weights.value(), {2});
  for (double s : sums) CHECK(s == Approx(1.0));
  CHECK(example::self_attention(VarD(x), VarD(wq), VarD(wk), VarD(wv)).shape() == Shape{2, 3, 3});
  require_gradcheck([](const Inputs& v) { return example::self_attention(v[0], v[1], v[2], v[3]); },
                    {x, wq, wk, wv});
}

TEST_CASE("embedding bag: gradients of the table, W and b, with a token used twice",
          "[examples][embedding]") {
  IndexTensor ids = IndexTensor::from_shape({3, 4});
  const std::int64_t values[] = {0, 2, 2, 4, 1, 1, 1, 3, 4, 0, 3, 2};
  std::copy(std::begin(values), std::end(values), ids.begin());
  const TensorD labels{1.0, 0.0, 1.0};
  require_gradcheck(
      [&](const Inputs& v) {
        return sparse_softmax_cross_entropy(example::embedding_bag_logits(ids, v[0], v[1], v[2]),
                                            labels);
      },
      {random_tensor({5, 3}, 5), random_tensor({3, 2}, 6), random_tensor({2}, 7)});
}

TEST_CASE("masked MSE: only masked entries count and get a gradient", "[examples][where]") {
  const VarD target(TensorD{{0.5, 0.0, -1.0}, {0.0, 2.0, 1.0}});
  const VarD mask(TensorD{{1, 0, 1}, {0, 1, 1}});
  require_gradcheck([&](const Inputs& v) { return example::masked_mse(v[0], target, mask); },
                    {random_tensor({2, 3}, 8)});
  VarD prediction(TensorD{{1.0, 9.0, 0.0}, {9.0, 2.0, 1.0}}, requires_grad);
  const VarD loss = example::masked_mse(prediction, target, mask);
  CHECK(loss.item() == Approx((0.25 + 1.0) / 4));  // the 9s are outside the mask
  loss.backward();
  CHECK(prediction.grad()(0, 1) == 0.0);
  CHECK(prediction.grad()(1, 0) == 0.0);
}
