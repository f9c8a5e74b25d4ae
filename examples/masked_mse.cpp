// A masked mean-squared error built with where: a 2x3 batch of predictions whose targets are
// known only where the mask is 1. The loss averages the squared errors of the known entries;
// the unknown ones get no gradient.
//
//   masked_mse      (exits 1 if the gradient check fails)

#include "masked_mse.hpp"

#include <cstdio>

using namespace retrograd;

int main() {
  VarD prediction(TensorD{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, requires_grad, "prediction");
  const VarD target(TensorD{{1.5, 0.0, 2.0}, {0.0, 5.0, 8.0}}, false, "target");
  const VarD mask(TensorD{{1, 0, 1}, {0, 1, 1}}, false, "mask");
  const VarD loss = example::masked_mse(prediction, target, mask);
  loss.backward();
  // (0.25 + 1 + 0 + 4) / 4 = 1.3125; d/dp = 2 (p - t) / 4 where known, 0 elsewhere
  std::printf("masked MSE = %.4f\n", loss.item());
  std::printf("dloss/dprediction = %s\n", values_string(prediction.grad()).c_str());
  const GradcheckResult check = gradcheck(
      [&](const std::vector<VarD>& in) { return example::masked_mse(in[0], target, mask); },
      {prediction.value()});
  std::printf("gradient check: %s\n", check.summary().c_str());
  return check.passed ? 0 : 1;
}
