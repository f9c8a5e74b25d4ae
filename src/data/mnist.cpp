#include "retrograd/data/mnist.hpp"

#include <filesystem>

#include "retrograd/data/idx.hpp"

namespace retrograd::data {

const std::array<const char*, 10>& fashion_mnist_classes() {
  static const std::array<const char*, 10> names = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         std::size_t num_classes) {
  IdxImages images = read_idx_images(images_path);
  const std::vector<std::uint8_t> raw_labels = read_idx_labels(labels_path);
  if (raw_labels.size() != images.count) {
    throw IdxError(images_path, "holds " + std::to_string(images.count) + " images but " +
                                    labels_path + " holds " + std::to_string(raw_labels.size()) +
                                    " labels (count mismatch)");
  }
  std::vector<Label> labels(raw_labels.begin(), raw_labels.end());
  if (num_classes != 0) {
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (static_cast<std::size_t>(labels[i]) >= num_classes) {
        throw IdxError(labels_path, "label " + std::to_string(labels[i]) + " of item " +
                                        std::to_string(i) + " at offset " + std::to_string(8 + i) +
                                        " is not below " + std::to_string(num_classes) +
                                        " classes");
      }
    }
  }
  Shape sample_shape = {images.rows, images.cols};
  return Dataset::from_bytes(std::move(images.pixels), sample_shape, std::move(labels),
                             num_classes);
}

std::string find_mnist_file(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  for (const std::string& candidate : {name + ".gz", name}) {
    const fs::path p = fs::path(dir) / candidate;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  std::error_code ec;
  const bool is_dir = fs::is_directory(dir, ec);
  throw IdxError(dir, "no " + name + ".gz or " + name + " in this directory" +
                          (is_dir ? "" : " (no such directory)"));
}

Mnist load_mnist(const std::string& dir) {
  // One file after the other (a call's arguments have no order): a directory missing several
  // is reported by its first, whichever compiler built this.
  const auto load = [&dir](const std::string& set) {
    const std::string images = find_mnist_file(dir, set + "-images-idx3-ubyte");
    const std::string labels = find_mnist_file(dir, set + "-labels-idx1-ubyte");
    return load_idx_dataset(images, labels, 10);
  };
  Mnist m;
  m.train = load("train");
  m.test = load("t10k");
  return m;
}

}  // namespace retrograd::data
