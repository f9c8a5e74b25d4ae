#include "retrograd/data/labels.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace retrograd::data {

namespace {
[[noreturn]] void bad_label(const char* who, Label label, std::size_t index, std::size_t classes) {
  throw std::out_of_range(std::string(who) + ": label " + std::to_string(label) + " at index " +
                          std::to_string(index) + " is outside [0, " + std::to_string(classes) +
                          ")");
}
}  // namespace

void one_hot_into(const Label* labels, std::size_t count, std::size_t classes, Tensor& out) {
  if (classes == 0) throw std::invalid_argument("one_hot: the number of classes must be positive");
  for (std::size_t i = 0; i < count; ++i) {
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= classes) {
      bad_label("one_hot", labels[i], i, classes);
    }
  }
  if (out.dimension() != 2 || out.shape()[0] != count || out.shape()[1] != classes) {
    out.resize({count, classes});
  }
  float* p = out.data();
  std::fill(p, p + count * classes, 0.0f);
  for (std::size_t i = 0; i < count; ++i) p[i * classes + static_cast<std::size_t>(labels[i])] = 1;
}

Tensor one_hot(const std::vector<Label>& labels, std::size_t classes) {
  Tensor out;
  one_hot_into(labels.data(), labels.size(), classes, out);
  return out;
}

std::vector<Label> to_labels(const Tensor& values, const std::string& what) {
  std::vector<Label> labels(values.size());
  const float* p = values.data();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float v = p[i];
    if (!(v >= 0) || v != std::floor(v) || v > 2147483647.0f) {
      throw std::invalid_argument(what + ": value " + std::to_string(v) + " at index " +
                                  std::to_string(i) +
                                  " is not a class id (a non-negative whole number)");
    }
    labels[i] = static_cast<Label>(v);
  }
  return labels;
}

std::size_t count_classes(const std::vector<Label>& labels) {
  Label top = -1;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      throw std::out_of_range("count_classes: label " + std::to_string(labels[i]) + " at index " +
                              std::to_string(i) + " is negative");
    }
    top = std::max(top, labels[i]);
  }
  return static_cast<std::size_t>(top + 1);
}

}  // namespace retrograd::data
