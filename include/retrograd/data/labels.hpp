#pragma once
/// @file labels.hpp
/// Class labels: the label type, one-hot encoding, and conversion from numeric values.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "retrograd/tensor.hpp"

namespace retrograd::data {

/// A class id: 0, 1, ..., classes - 1.
using Label = std::int32_t;

/// One-hot rows for `labels`: a [labels.size(), classes] float tensor with a 1 in column
/// `labels[i]` of row i. Throws std::out_of_range naming the label and its index if a label is
/// negative or not below `classes`, and std::invalid_argument if `classes` is 0.
Tensor one_hot(const std::vector<Label>& labels, std::size_t classes);

/// One-hot encoding of `count` labels into `out`, resized to [count, classes] only when its
/// shape differs (a reused buffer is not reallocated). Errors as in one_hot().
void one_hot_into(const Label* labels, std::size_t count, std::size_t classes, Tensor& out);

/// Class ids from numeric values (a label column read from CSV, say): every value must be a
/// non-negative whole number. Throws std::invalid_argument naming `what`, the index and the value
/// otherwise.
std::vector<Label> to_labels(const Tensor& values, const std::string& what = "labels");

/// Number of classes the labels imply: the largest label + 1 (0 for no labels). Throws
/// std::out_of_range for a negative label.
std::size_t count_classes(const std::vector<Label>& labels);

}  // namespace retrograd::data
