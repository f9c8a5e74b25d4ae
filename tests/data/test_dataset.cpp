#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <set>
#include <vector>

#include "retrograd/data/dataset.hpp"
#include "retrograd/data/labels.hpp"
#include "retrograd/data/split.hpp"

using namespace retrograd::data;
using retrograd::Shape;
using retrograd::Tensor;

namespace {

/// n samples of 2 features; sample i is (i, -i) with label i % classes.
Dataset counting_set(std::size_t n, std::size_t classes = 3) {
  Tensor x = Tensor::from_shape({n, std::size_t(2)});
  std::vector<Label> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    x(i, 0) = static_cast<float>(i);
    x(i, 1) = -static_cast<float>(i);
    y[i] = static_cast<Label>(i % classes);
  }
  return Dataset(std::move(x), std::move(y), classes);
}

/// The sample ids (feature 0) of every row of every batch of one epoch.
std::vector<std::size_t> epoch_ids(const Dataset& d, std::size_t batch_size) {
  std::vector<std::size_t> ids;
  Tensor x;
  std::vector<Label> labels;
  for (std::size_t b = 0; b < d.batch_count(batch_size); ++b) {
    const std::size_t rows = d.batch(b, batch_size, x, labels);
    for (std::size_t r = 0; r < rows; ++r) {
      const auto id = static_cast<std::size_t>(x(r, 0));
      CHECK(x(r, 1) == -x(r, 0));
      CHECK(labels[r] == static_cast<Label>(id % 3));
      ids.push_back(id);
    }
  }
  return ids;
}

}  // namespace

TEST_CASE("Dataset construction checks counts and labels", "[data][dataset]") {
  const Dataset d = counting_set(10);
  CHECK(d.size() == 10);
  CHECK(d.feature_count() == 2);
  CHECK(d.num_classes() == 3);
  CHECK(d.has_labels());
  CHECK_FALSE(d.has_targets());
  CHECK_FALSE(d.stores_bytes());

  REQUIRE_THROWS_WITH(Dataset(Tensor::from_shape({4, 2}), std::vector<Label>{0, 1}),
                      Catch::Contains("4 samples but 2 labels"));
  REQUIRE_THROWS_WITH(Dataset(Tensor::from_shape({2, 2}), std::vector<Label>{0, 5}, 3),
                      Catch::Contains("label 5 at index 1") && Catch::Contains("num_classes 3"));
  REQUIRE_THROWS_WITH(Dataset(Tensor::from_shape({2, 2}), std::vector<Label>{0, -1}),
                      Catch::Contains("label -1 at index 1"));
  REQUIRE_THROWS_WITH(Dataset(Tensor::from_shape({4, 2}), Tensor::from_shape({3})),
                      Catch::Contains("4 samples but targets of shape [3]"));
  REQUIRE_THROWS_WITH(Dataset::from_bytes(std::vector<std::uint8_t>(7), {2, 2}, {0, 1}),
                      Catch::Contains("7 bytes for 2 samples of shape [2, 2]"));
  const Dataset inferred(Tensor::from_shape({3, 4, 5}), std::vector<Label>{0, 4, 2});
  CHECK(inferred.num_classes() == 5);
  CHECK(inferred.feature_count() == 20);
  CHECK(inferred.sample_shape() == Shape{4, 5});
  const Dataset column(retrograd::full<float>({6}, 2.0f), std::vector<Label>(6, 1));
  CHECK(column.feature_count() == 1);
  CHECK(column.features().shape() == Shape{6, 1});
  const Dataset none;
  CHECK(none.empty());
  CHECK(none.batch_count(8) == 0);
}

// Issue 11: samples without features used to reach memcpy with a null source (UBSan).
TEST_CASE("Dataset rejects samples without features or targets", "[data][dataset]") {
  REQUIRE_THROWS_AS(Dataset(Tensor::from_shape({3, 0})), std::invalid_argument);
  REQUIRE_THROWS_WITH(
      Dataset(Tensor::from_shape({3, 0}), std::vector<Label>{0, 1, 0}),
      Catch::Contains("features of shape [3, 0]") && Catch::Contains("3 samples no feature"));
  REQUIRE_THROWS_WITH(Dataset(Tensor::from_shape({2, 4, 0})), Catch::Contains("[2, 4, 0]"));
  REQUIRE_THROWS_WITH(
      Dataset(Tensor::from_shape({2, 1}), Tensor::from_shape({2, 0})),
      Catch::Contains("targets of shape [2, 0]") && Catch::Contains("2 samples no target"));
  // No samples at all stays a valid (empty) set.
  const Dataset empty(Tensor::from_shape({0, 0}));
  CHECK(empty.empty());
  CHECK(empty.batch_count(4) == 0);
}

TEST_CASE("An epoch of batches covers every sample exactly once", "[data][dataset][batch]") {
  Dataset d = counting_set(103);
  CHECK(d.batch_count(10) == 11);
  CHECK(d.batch_count(10, true) == 10);
  CHECK(d.batch_count(103) == 1);
  CHECK(d.batch_count(500) == 1);
  REQUIRE_THROWS_WITH(d.batch_count(0), Catch::Contains("batch size must be positive"));

  for (std::uint64_t seed : {0u, 1u, 2u}) {
    d.shuffle(seed);
    std::vector<std::size_t> ids = epoch_ids(d, 10);
    REQUIRE(ids.size() == 103);
    if (seed == 0) CHECK_FALSE(std::is_sorted(ids.begin(), ids.end()));
    std::sort(ids.begin(), ids.end());
    std::vector<std::size_t> expected(103);
    std::iota(expected.begin(), expected.end(), std::size_t(0));
    CHECK(ids == expected);
  }

  SECTION("the last batch is partial and an index past it throws") {
    Tensor x;
    std::vector<Label> labels;
    CHECK(d.batch(10, 10, x, labels) == 3);
    CHECK(x.shape() == Shape{3, 2});
    CHECK(labels.size() == 3);
    REQUIRE_THROWS_AS(d.batch(11, 10, x, labels), std::out_of_range);
    REQUIRE_THROWS_WITH(d.batch(11, 10, x), Catch::Contains("batch index 11 is past the 11"));
  }
  SECTION("full batches reuse the caller's buffers") {
    Tensor x, y;
    d.batch(0, 16, x, y);
    const float* px = x.data();
    const float* py = y.data();
    for (std::size_t b = 1; b + 1 < d.batch_count(16); ++b) {
      d.batch(b, 16, x, y);
      CHECK(x.data() == px);
      CHECK(y.data() == py);
    }
  }
  SECTION("range-for over batches") {
    std::size_t rows = 0, count = 0;
    for (const Batch& b : d.batches(25)) {
      CHECK(b.index == count);
      CHECK(b.x.shape()[0] == b.size);
      CHECK(b.labels.size() == b.size);
      CHECK(b.y.shape() == Shape{b.size, 3});
      rows += b.size;
      ++count;
    }
    CHECK(count == 5);
    CHECK(rows == 103);
    CHECK(d.batches(25, true).size() == 4);
  }
}

TEST_CASE("Seeded shuffles are reproducible and differ between seeds", "[data][dataset][shuffle]") {
  Dataset a = counting_set(50), b = counting_set(50);
  a.shuffle(42);
  b.shuffle(7);
  b.shuffle(42);  // depends only on the seed, not on history
  CHECK(a.order() == b.order());
  Dataset c = counting_set(50);
  c.shuffle(43);
  CHECK(a.order() != c.order());

  // The unseeded shuffle() continues a reproducible sequence: epoch 2, 3, ... orders.
  const std::vector<std::size_t> first = a.order();
  a.shuffle();
  b.shuffle();
  CHECK(a.order() == b.order());
  CHECK(a.order() != first);
  std::vector<std::size_t> sorted = a.order();
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == counting_set(50).order());
  a.reset_order();
  CHECK(std::is_sorted(a.order().begin(), a.order().end()));
}

TEST_CASE("Byte datasets scale to [0, 1] per batch", "[data][dataset][bytes]") {
  std::vector<std::uint8_t> bytes = {0, 255, 51, 102, 10, 20, 30, 40};
  Dataset d = Dataset::from_bytes(bytes, {2, 2}, {1, 0});
  CHECK(d.stores_bytes());
  CHECK(d.feature_count() == 4);
  CHECK(d.num_classes() == 2);
  Tensor x, y;
  REQUIRE(d.batch(0, 2, x, y) == 2);
  CHECK(x(0, 0) == 0.0f);
  CHECK(x(0, 1) == Approx(1.0f));
  CHECK(x(0, 2) == Approx(0.2f));
  CHECK(y(0, 1) == 1.0f);
  CHECK(y(0, 0) == 0.0f);
  CHECK(y(1, 0) == 1.0f);
  const Tensor all = d.features();
  CHECK(all.shape() == Shape{2, 4});
  CHECK(all(1, 3) == Approx(40.0f / 255));
}

TEST_CASE("Regression datasets batch their targets", "[data][dataset]") {
  Tensor x = Tensor::from_shape({5, 1});
  Tensor t = Tensor::from_shape({5});
  for (std::size_t i = 0; i < 5; ++i) {
    x(i, 0) = static_cast<float>(i);
    t(i) = 10.0f * static_cast<float>(i);
  }
  Dataset d(std::move(x), std::move(t));
  CHECK(d.has_targets());
  CHECK(d.target_count() == 1);
  d.shuffle(3);
  Tensor bx, by;
  d.batch(0, 4, bx, by);
  REQUIRE(by.shape() == Shape{4, 1});
  for (std::size_t r = 0; r < 4; ++r) CHECK(by(r, 0) == 10.0f * bx(r, 0));
  std::vector<Label> labels;
  REQUIRE_THROWS_AS(d.batch(0, 4, bx, labels), std::logic_error);
  Dataset unlabelled(Tensor::from_shape({3, 2}));
  REQUIRE_THROWS_WITH(unlabelled.batch(0, 2, bx, by), Catch::Contains("without labels"));
  CHECK(unlabelled.batch(1, 2, bx) == 1);
}

TEST_CASE("one_hot encodes labels and rejects bad ones", "[data][labels]") {
  const Tensor h = one_hot({2, 0, 1}, 3);
  REQUIRE(h.shape() == Shape{3, 3});
  CHECK(h(0, 2) == 1.0f);
  CHECK(h(0, 0) == 0.0f);
  CHECK(h(1, 0) == 1.0f);
  CHECK(h(2, 1) == 1.0f);
  REQUIRE_THROWS_AS(one_hot({0, 3}, 3), std::out_of_range);
  REQUIRE_THROWS_WITH(one_hot({0, 1, 10}, 10),
                      Catch::Contains("label 10 at index 2") && Catch::Contains("[0, 10)"));
  REQUIRE_THROWS_WITH(one_hot({-1}, 10), Catch::Contains("label -1 at index 0"));
  REQUIRE_THROWS_WITH(one_hot({0}, 0), Catch::Contains("number of classes"));
  CHECK(count_classes({3, 1}) == 4);
}

TEST_CASE("Subsets copy the chosen samples", "[data][dataset]") {
  const Dataset d = counting_set(10);
  const Dataset s = d.subset({7, 2, 2});
  CHECK(s.size() == 3);
  CHECK(s.num_classes() == 3);
  CHECK(s.labels() == std::vector<Label>{1, 2, 2});
  CHECK(s.features()(0, 0) == 7.0f);
  REQUIRE_THROWS_WITH(d.subset({1, 10}), Catch::Contains("index 10 at position 1"));
}

TEST_CASE("Splits have the requested sizes and are disjoint", "[data][split]") {
  const Dataset d = counting_set(1000);
  const auto ids = [](const Dataset& part) {
    std::vector<std::size_t> v;
    const Tensor x = part.features();
    for (std::size_t i = 0; i < part.size(); ++i) v.push_back(static_cast<std::size_t>(x(i, 0)));
    return v;
  };
  SECTION("default 70 / 20 / 10") {
    const Split s = split(d, {}, 5);
    CHECK(s.train.size() == 700);
    CHECK(s.validation.size() == 200);
    CHECK(s.test.size() == 100);
    std::set<std::size_t> all;
    for (const Dataset* p : {&s.train, &s.validation, &s.test}) {
      for (std::size_t id : ids(*p)) CHECK(all.insert(id).second);  // never seen before
    }
    CHECK(all.size() == 1000);
    CHECK(s.train.num_classes() == 3);
    const Split again = split(d, {}, 5);
    CHECK(ids(again.test) == ids(s.test));
    const Split other = split(d, {}, 6);
    CHECK(ids(other.test) != ids(s.test));
  }
  SECTION("any fractions") {
    const Split s = split(counting_set(7), {0.5, 0.5, 0.0}, 1);
    CHECK(s.train.size() + s.validation.size() == 7);
    CHECK(s.test.empty());
    const Split t = split(d, {0.123, 0.456, 0.421});
    CHECK(t.train.size() == 123);
    CHECK(t.validation.size() == 456);
    CHECK(t.test.size() == 421);
  }
  SECTION("bad fractions") {
    REQUIRE_THROWS_WITH(split(d, {0.7, 0.2, 0.2}), Catch::Contains("sum to"));
    REQUIRE_THROWS_WITH(split(d, {1.1, -0.1, 0.0}), Catch::Contains("not in [0, 1]"));
  }
}

TEST_CASE("Scaling is fitted on the training part and applied to the others", "[data][scaling]") {
  Split s = split(counting_set(200), {0.7, 0.2, 0.1}, 9);
  SECTION("min-max") {
    scale(s, Scaling::min_max);
    const Tensor x = s.train.features();
    for (std::size_t j = 0; j < 2; ++j) {
      float lo = 1e9f, hi = -1e9f;
      for (std::size_t i = 0; i < s.train.size(); ++i) {
        lo = std::min(lo, x(i, j));
        hi = std::max(hi, x(i, j));
      }
      CHECK(lo == Approx(0.0f).margin(1e-6));
      CHECK(hi == Approx(1.0f));
    }
    CHECK(s.validation.scaler().offset == s.train.scaler().offset);
    CHECK(s.test.scaler().scale == s.train.scaler().scale);
  }
  SECTION("standard") {
    scale(s, Scaling::standard);
    const Tensor x = s.train.features();
    double mean = 0, sq = 0;
    for (std::size_t i = 0; i < s.train.size(); ++i) mean += x(i, 0);
    mean /= static_cast<double>(s.train.size());
    for (std::size_t i = 0; i < s.train.size(); ++i) sq += (x(i, 0) - mean) * (x(i, 0) - mean);
    CHECK(mean == Approx(0.0).margin(1e-5));
    CHECK(std::sqrt(sq / static_cast<double>(s.train.size())) == Approx(1.0).epsilon(1e-4));
    // Validation uses the training statistics: raw value v maps to (v - mean) * scale.
    Tensor vx;
    s.validation.batch(0, 1, vx);
    const FeatureScaler& f = s.train.scaler();
    Dataset unscaled = s.validation;
    unscaled.set_scaler(FeatureScaler::identity(2));
    Tensor ux;
    unscaled.batch(0, 1, ux);
    CHECK(vx(0, 0) == Approx((ux(0, 0) - f.offset[0]) * f.scale[0]));
  }
  SECTION("constant features and bad scalers") {
    Dataset c(retrograd::full<float>({4, 1}, 3.0f), std::vector<Label>{0, 1, 0, 1});
    c.set_scaler(c.fit_scaler(Scaling::min_max));
    CHECK(c.features()(2, 0) == 0.0f);
    REQUIRE_THROWS_WITH(c.set_scaler(FeatureScaler::identity(3)),
                        Catch::Contains("dataset has 1 features"));
  }
}
