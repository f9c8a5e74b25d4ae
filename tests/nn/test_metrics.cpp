// accuracy: multi-class against one-hot rows and class ids, binary, and bad shapes.

#include <catch2/catch.hpp>

#include "retrograd/nn/metrics.hpp"

using namespace retrograd;
using namespace retrograd::nn;

namespace {
Tensor column(std::initializer_list<float> values) {
  Tensor t = Tensor(values);
  t.reshape({values.size(), 1});
  return t;
}
}  // namespace

TEST_CASE("accuracy counts argmax hits and thresholded binary hits", "[nn][metrics]") {
  const Tensor pred = {{0.1f, 0.7f, 0.2f}, {0.5f, 0.3f, 0.2f}, {0.2f, 0.2f, 0.6f}};
  CHECK(count_correct(pred, Tensor{{0.f, 1.f, 0.f}, {0.f, 1.f, 0.f}, {0.f, 0.f, 1.f}}) == 2);
  CHECK(count_correct(pred, Tensor{1.f, 0.f, 2.f}) == 3);
  CHECK(accuracy(pred, column({1.f, 1.f, 1.f})) == Approx(1.0 / 3));
  CHECK(accuracy(column({0.8f, 0.3f}), column({1.f, 1.f})) == Approx(0.5));
  CHECK(accuracy(column({-0.2f, 0.3f}), column({0.f, 1.f}), true) == Approx(1.0));
  REQUIRE_THROWS_WITH(accuracy(pred, Tensor{1.f, 0.f}),
                      Catch::Contains("[3, 3]") && Catch::Contains("[2]"));
}
