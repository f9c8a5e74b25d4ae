#include "test_helpers.hpp"

using namespace retrograd;
using retrograd::testing::Equals;
using retrograd::testing::shaped;

TEST_CASE("broadcast_shape follows numpy rules", "[broadcast]") {
  CHECK(broadcast_shape("t", {4, 3}, {3}) == Shape{4, 3});
  CHECK(broadcast_shape("t", {4, 1}, {1, 5}) == Shape{4, 5});
  CHECK(broadcast_shape("t", {}, {2, 2}) == Shape{2, 2});
  CHECK(broadcast_shape("t", {2, 1, 3}, {4, 1}) == Shape{2, 4, 3});
  CHECK_THROWS_WITH(broadcast_shape("add", {4, 3}, {2}),
                    Catch::Contains("add") && Catch::Contains("[4, 3]") && Catch::Contains("[2]"));
}

TEST_CASE("sum_to reduces leading and stretched axes", "[broadcast]") {
  const TensorD g = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  CHECK_THAT(sum_to(g, {3}), Equals(TensorD{5.0, 7.0, 9.0}));
  CHECK_THAT(sum_to(g, {2, 1}), Equals(shaped({6.0, 15.0}, {2, 1})));
  CHECK_THAT(sum_to(g, {1, 3}), Equals(TensorD{{5.0, 7.0, 9.0}}));
  CHECK(sum_to(g, {}).dimension() == 0);
  CHECK(sum_to(g, {})() == 21.0);
  CHECK_THAT(sum_to(g, {2, 3}), Equals(g));
  CHECK_THROWS_WITH(sum_to(g, {2}), Catch::Contains("[2, 3]") && Catch::Contains("[2]"));
}
