// The OpenBLAS runtime helpers: the kernel name and the thread count.

#include <catch2/catch.hpp>

#include "retrograd/blas.hpp"

using namespace retrograd;

TEST_CASE("OpenBLAS reports its kernel and takes a thread count", "[blas]") {
  CHECK_FALSE(blas_core_name().empty());
  CHECK_NOTHROW(set_blas_threads(1));
}

TEST_CASE("set_blas_threads rejects a count below one", "[blas][errors]") {
  CHECK_THROWS_WITH(set_blas_threads(0), Catch::Contains("at least 1") && Catch::Contains("0"));
  CHECK_THROWS_AS(set_blas_threads(-3), std::invalid_argument);
}
