// One dense sigmoid neuron on a batch of four samples, with the course's 1/2n quadratic cost,
// stepped through: the forward pass with every tensor's shape, then the backward pass gate by
// gate (matmul sends upstream . W^T and X^T . upstream, the bias sums its broadcast rows), and
// the same as an interactive page.
//
//   dense_neuron [output-dir]     (default: the current directory)

#include <iostream>
#include <retrograd/retrograd.hpp>
#include <string>

using namespace retrograd;

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  const std::string out_dir = argc > 1 ? argv[1] : ".";

  // Four samples of two features (rows), their targets (the OR of the two), one neuron.
  VarD X(TensorD{{0, 0}, {0, 1}, {1, 0}, {1, 1}}, false, "X");
  TensorD targets{0, 1, 1, 1};
  targets.reshape({4, 1});
  VarD t(targets, false, "t");
  TensorD weights{0.5, -1.0};
  weights.reshape({2, 1});
  VarD W(weights, requires_grad, "W");
  VarD b(TensorD{0.25}, requires_grad, "b");

  VarD z = (matmul(X, W) + b).named("z");
  VarD a = sigmoid(z).named("a");
  VarD e = (a - t).named("e");
  VarD C = (mean(e * e) * 0.5).named("C");  // C = 1/2n sum (a - t)^2

  const Trace<double> trace = traced_backward(C);
  std::cout << trace.forward_text() << trace.backward_text() << trace.gradients_text();
  const std::string page = out_dir + "/dense_neuron.html";
  write_html(trace, page, "C = mean((sigmoid(X W + b) - t)^2) / 2");
  std::cout << "page: " << page << "\n";
  return 0;
}
