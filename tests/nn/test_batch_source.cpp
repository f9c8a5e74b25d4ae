// TensorBatchSource and gather_rows.

#include <catch2/catch.hpp>

#include "retrograd/nn/batch_source.hpp"

using namespace retrograd;
using namespace retrograd::nn;

TEST_CASE("TensorBatchSource gathers rows into reused tensors", "[nn][batch_source]") {
  const Tensor x = {{0.f, 1.f}, {2.f, 3.f}, {4.f, 5.f}};
  const Tensor y = {7.f, 8.f, 9.f};
  TensorBatchSource source(x, y);
  CHECK(source.size() == 3);
  Tensor bx, by;
  const std::size_t idx[] = {2, 0};
  source.fill_batch(idx, 2, bx, by);
  CHECK((bx == Tensor{{4.f, 5.f}, {0.f, 1.f}}));
  CHECK((by == Tensor{9.f, 7.f}));
  const float* buffer = bx.data();
  const std::size_t other[] = {1, 1};
  source.fill_batch(other, 2, bx, by);
  CHECK(bx.data() == buffer);
  CHECK(bx(0, 0) == 2.f);

  const std::size_t bad[] = {3};
  REQUIRE_THROWS_WITH(source.fill_batch(bad, 1, bx, by), Catch::Contains("index 3"));
  const Tensor short_y = {1.f, 2.f};
  REQUIRE_THROWS_WITH(TensorBatchSource(x, short_y),
                      Catch::Contains("[3, 2]") && Catch::Contains("[2]"));
}
