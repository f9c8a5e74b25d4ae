// Convolution by hand (docs/tutorial/09-convolution.md): a 4x4 single-channel image and one
// 3x3 filter. The forward is a sum of nine products per output; the backward gives gradients
// that are convolutions themselves:
//   dL/dW = the input correlated with the upstream gradient (a 2x2 "filter" over the 4x4 image),
//   dL/dx = the upstream gradient padded by 2 and correlated with the filter flipped both ways
//           (the "full" convolution).
// Both are computed here with conv2d itself and compared with what backward() gives.
//
//   convolution      (exits 1 if a formula disagrees with backward())

#include <cstdio>
#include <retrograd/retrograd.hpp>
#include <string>

using namespace retrograd;

namespace {

TensorD image(std::initializer_list<double> values, std::size_t h, std::size_t w) {
  TensorD t = TensorD::from_shape({1, 1, h, w});
  std::copy(values.begin(), values.end(), t.begin());
  return t;
}

/// The 2-d view of a [1, 1, h, w] tensor, for printing.
TensorD plane(const TensorD& t) {
  TensorD p = t;
  p.reshape({t.shape()[2], t.shape()[3]});
  return p;
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

}  // namespace

int main() {
  const TensorD x = image({1, 2, 3, 0, 0, 1, 2, 3, 3, 0, 1, 2, 2, 3, 0, 1}, 4, 4);
  const TensorD w = image({2, 0, 1, 0, 1, 2, 1, 0, 2}, 3, 3);
  std::printf("x (4x4 image) = %s\n", tensor_string(plane(x)).c_str());
  std::printf("W (3x3 filter) = %s\n\n", tensor_string(plane(w)).c_str());

  // Forward: each output is the filter laid on one 3x3 window, nine products summed.
  VarD xv(x, requires_grad), wv(w, requires_grad);
  const VarD y = conv2d(xv, wv, VarD());
  std::printf("forward, y = conv2d(x, W), 2x2:\n");
  for (std::size_t i = 0; i < 2; ++i) {
    for (std::size_t j = 0; j < 2; ++j) {
      std::string terms;
      double total = 0;
      for (std::size_t p = 0; p < 3; ++p) {
        for (std::size_t q = 0; q < 3; ++q) {
          const double a = x(0, 0, i + p, j + q), b = w(0, 0, p, q);
          terms += (terms.empty() ? "" : " + ") + number(a) + "*" + number(b);
          total += a * b;
        }
      }
      std::printf("  y[%zu][%zu] = %s = %s\n", i, j, terms.c_str(), number(total).c_str());
      if (total != y.value()(0, 0, i, j)) return 1;
    }
  }

  // Backward from L = sum(G * y): the upstream gradient of y is G.
  const TensorD g = image({1, -1, 2, 0.5}, 2, 2);
  std::printf("\nbackward, upstream dL/dy = G = %s\n", tensor_string(plane(g)).c_str());
  sum(y * VarD(g)).backward();
  std::printf("  dL/dW from backward() = %s\n", tensor_string(plane(wv.grad())).c_str());
  // dL/dW[p][q] = sum_ij G[i][j] x[i+p][j+q]: G slides over x like a 2x2 filter.
  const TensorD dw = conv2d(VarD(x), VarD(g), VarD()).value();
  std::printf("  x correlated with G    = %s\n", tensor_string(plane(dw)).c_str());
  std::printf(
      "  dL/dW[0][0] = %s\n",
      (number(x(0, 0, 0, 0)) + "*" + number(g(0, 0, 0, 0)) + " + " + number(x(0, 0, 0, 1)) + "*" +
       number(g(0, 0, 0, 1)) + " + " + number(x(0, 0, 1, 0)) + "*" + number(g(0, 0, 1, 0)) + " + " +
       number(x(0, 0, 1, 1)) + "*" + number(g(0, 0, 1, 1)) + " = " + number(dw(0, 0, 0, 0)))
          .c_str());

  // dL/dx[r][c] = sum_ij G[i][j] W[r-i][c-j]: the full convolution, G padded by 2 under W
  // flipped both ways.
  TensorD flipped = w;
  for (std::size_t p = 0; p < 3; ++p)
    for (std::size_t q = 0; q < 3; ++q) flipped(0, 0, p, q) = w(0, 0, 2 - p, 2 - q);
  std::printf("\n  dL/dx from backward()       = %s\n", tensor_string(plane(xv.grad())).c_str());
  std::printf("  W flipped                   = %s\n", tensor_string(plane(flipped)).c_str());
  const TensorD dx = conv2d(VarD(g), VarD(flipped), VarD(), 1, 2).value();
  std::printf("  G (padded by 2) * W flipped = %s\n", tensor_string(plane(dx)).c_str());

  const bool same = dw == wv.grad() && dx == xv.grad();
  std::printf("\nboth gradients are convolutions: %s\n", same ? "yes" : "NO");
  return same ? 0 : 1;
}
