#include "retrograd/nn/metrics.hpp"

#include <stdexcept>

namespace retrograd::nn {

namespace {
template <class T>
std::size_t argmax_row(const T* row, std::size_t c) {
  std::size_t best = 0;
  for (std::size_t k = 1; k < c; ++k) {
    if (row[k] > row[best]) best = k;
  }
  return best;
}

template <class T>
[[noreturn]] void shape_error(const BasicTensor<T>& pred, const BasicTensor<T>& target) {
  throw std::invalid_argument("accuracy: predictions of shape " + shape_string(pred.shape()) +
                              " and targets of shape " + shape_string(target.shape()) +
                              " do not fit (expected [n, c] with [n, c] or [n] targets, or [n] / "
                              "[n, 1] binary predictions with targets of that shape)");
}
}  // namespace

template <class T>
std::size_t count_correct(const BasicTensor<T>& pred, const BasicTensor<T>& target,
                          bool from_logits) {
  const Shape& ps = pred.shape();
  const Shape& ts = target.shape();
  if (ps.empty() || ps.size() > 2 || ts.empty() || ts[0] != ps[0]) shape_error(pred, target);
  const std::size_t n = ps[0];
  const std::size_t c = ps.size() == 2 ? ps[1] : 1;
  std::size_t correct = 0;
  if (c == 1) {
    if (target.size() != n) shape_error(pred, target);
    const T threshold = from_logits ? T(0) : T(0.5);
    for (std::size_t i = 0; i < n; ++i) {
      correct += (pred.data()[i] > threshold) == (target.data()[i] > T(0.5));
    }
    return correct;
  }
  if (target.size() == n * c && ts.size() == 2 && ts[1] == c) {
    for (std::size_t i = 0; i < n; ++i) {
      correct += argmax_row(pred.data() + i * c, c) == argmax_row(target.data() + i * c, c);
    }
  } else if (target.size() == n) {
    for (std::size_t i = 0; i < n; ++i) {
      correct += static_cast<T>(argmax_row(pred.data() + i * c, c)) == target.data()[i];
    }
  } else {
    shape_error(pred, target);
  }
  return correct;
}

template <class T>
double accuracy(const BasicTensor<T>& pred, const BasicTensor<T>& target, bool from_logits) {
  const std::size_t correct = count_correct(pred, target, from_logits);
  return pred.size() == 0 ? 0.0 : static_cast<double>(correct) / pred.shape()[0];
}

template std::size_t count_correct(const Tensor&, const Tensor&, bool);
template std::size_t count_correct(const TensorD&, const TensorD&, bool);
template double accuracy(const Tensor&, const Tensor&, bool);
template double accuracy(const TensorD&, const TensorD&, bool);

}  // namespace retrograd::nn
