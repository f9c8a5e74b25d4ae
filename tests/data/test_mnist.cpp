#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <iostream>

#include "retrograd/data/idx.hpp"
#include "retrograd/data/mnist.hpp"

namespace fs = std::filesystem;
using namespace retrograd::data;
using retrograd::Shape;
using retrograd::Tensor;

namespace {

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("retrograd_test_mnist_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

IdxImages tiny_images(std::size_t count) {
  IdxImages im;
  im.count = count;
  im.rows = 2;
  im.cols = 3;
  im.pixels.resize(count * 6);
  for (std::size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = static_cast<uint8_t>(i);
  return im;
}

}  // namespace

TEST_CASE("load_idx_dataset pairs images and labels", "[data][idx][mnist]") {
  const fs::path dir = scratch_dir("pair");
  const std::string images = (dir / "im.gz").string(), labels = (dir / "lb").string();
  write_idx_images(images, tiny_images(4));
  write_idx_labels(labels, {3, 1, 4, 1});
  const Dataset d = load_idx_dataset(images, labels);
  CHECK(d.size() == 4);
  CHECK(d.stores_bytes());
  CHECK(d.sample_shape() == Shape{2, 3});
  CHECK(d.num_classes() == 5);
  CHECK(d.labels() == std::vector<Label>{3, 1, 4, 1});
  Tensor x;
  d.batch(1, 2, x);  // samples 2 and 3
  CHECK(x(1, 5) == Approx(23.0f / 255));

  REQUIRE_THROWS_WITH(load_idx_dataset(images, labels, 4),
                      Catch::Contains("label 4 of item 2 at offset 10"));
  write_idx_labels(labels, {3, 1, 4});
  REQUIRE_THROWS_AS(load_idx_dataset(images, labels), IdxError);
  REQUIRE_THROWS_WITH(load_idx_dataset(images, labels),
                      Catch::Contains("holds 4 images but") && Catch::Contains("3 labels") &&
                          Catch::Contains("im.gz") && Catch::Contains("lb"));
}

TEST_CASE("load_mnist finds the four files, compressed or not", "[data][idx][mnist]") {
  const fs::path dir = scratch_dir("dir");
  write_idx_images((dir / "train-images-idx3-ubyte").string(), tiny_images(6));
  write_idx_labels((dir / "train-labels-idx1-ubyte.gz").string(), {0, 1, 2, 3, 4, 9});
  write_idx_images((dir / "t10k-images-idx3-ubyte.gz").string(), tiny_images(2));
  REQUIRE_THROWS_WITH(load_mnist(dir.string()),
                      Catch::Contains("no t10k-labels-idx1-ubyte.gz or t10k-labels-idx1-ubyte"));
  write_idx_labels((dir / "t10k-labels-idx1-ubyte").string(), {5, 5});
  const Mnist m = load_mnist(dir.string());
  CHECK(m.train.size() == 6);
  CHECK(m.test.size() == 2);
  CHECK(m.test.num_classes() == 10);
  REQUIRE_THROWS_WITH(load_mnist((dir / "absent").string()),
                      Catch::Contains("absent") && Catch::Contains("no such directory"));
}

TEST_CASE("Fashion-MNIST from the Debian package", "[data][idx][mnist][real]") {
  if (!fs::exists(fs::path(fashion_mnist_dir) / "train-images-idx3-ubyte.gz")) {
    WARN("skipped: " << fashion_mnist_dir << " not found (apt-get install dataset-fashion-mnist)");
    return;
  }
  const Mnist m = load_mnist();
  REQUIRE(m.train.size() == 60000);
  REQUIRE(m.test.size() == 10000);
  CHECK(m.train.sample_shape() == Shape{28, 28});
  CHECK(m.train.feature_count() == 784);
  CHECK(m.train.num_classes() == 10);
  for (const Dataset* d : {&m.train, &m.test}) {
    CHECK(*std::min_element(d->labels().begin(), d->labels().end()) == 0);
    CHECK(*std::max_element(d->labels().begin(), d->labels().end()) == 9);
    // Fashion-MNIST is balanced: 6,000 / 1,000 images per class.
    CHECK(std::count(d->labels().begin(), d->labels().end(), 7) ==
          static_cast<long>(d->size() / 10));
  }
  CHECK(std::string(fashion_mnist_classes()[9]) == "Ankle boot");
  Tensor x, y;
  REQUIRE(m.train.batch(0, 64, x, y) == 64);
  CHECK(x.shape() == Shape{64, 784});
  CHECK(*std::max_element(x.begin(), x.end()) <= 1.0f);
  CHECK(*std::min_element(x.begin(), x.end()) >= 0.0f);
}
