#pragma once
/// @file mnist.hpp
/// MNIST and Fashion-MNIST as Datasets: 28 x 28 images kept as bytes, labels 0..9.

#include <array>
#include <string>

#include "retrograd/data/dataset.hpp"

namespace retrograd::data {

/// Where Debian's `dataset-fashion-mnist` package installs the four Fashion-MNIST files.
inline constexpr const char* fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

/// The names of Fashion-MNIST's ten classes, indexed by label.
const std::array<const char*, 10>& fashion_mnist_classes();

/// The training and test sets of an MNIST-format directory.
struct Mnist {
  /// The 60,000 training images (for the real sets).
  Dataset train;
  /// The 10,000 test images (for the real sets).
  Dataset test;
};

/// A labelled byte Dataset from an idx3 image file and an idx1 label file (gzip or raw), with
/// `num_classes` classes (0: largest label + 1). Samples have shape {rows, cols}; batches scale
/// pixels to [0, 1]. Throws IdxError for a bad file, or when the files hold different numbers
/// of images and labels (the message names both files and both counts).
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         std::size_t num_classes = 0);

/// The file load_mnist() reads for `name` ("train-images-idx3-ubyte") in `dir`: `name.gz` when
/// it exists, else `name`. Throws IdxError naming the directory and both names when neither
/// exists.
std::string find_mnist_file(const std::string& dir, const std::string& name);

/// Loads `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
/// `t10k-labels-idx1-ubyte` from `dir`, each with or without a `.gz` suffix (the compressed
/// name is tried first), as 10-class datasets. Throws IdxError naming the directory and the
/// file names tried when one is missing.
Mnist load_mnist(const std::string& dir = fashion_mnist_dir);

}  // namespace retrograd::data
