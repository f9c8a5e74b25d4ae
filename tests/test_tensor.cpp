// The tensor buffer cache (Note [buffer cache] in src/tensor.cpp), and printing tensors and Vars.

#include <catch2/catch.hpp>
#include <retrograd/ops.hpp>
#include <retrograd/tensor.hpp>
#include <sstream>

// Defined by AddressSanitizer's runtime, whichever compiler instrumented the build (GCC or
// clang); null without it. Asking the runtime, not a compiler macro, keeps this test independent
// of the detection it checks.
extern "C" int __asan_address_is_poisoned(void const volatile* address) __attribute__((weak));

using namespace retrograd;

TEST_CASE("the buffer cache reuses buffers, and steps aside under AddressSanitizer",
          "[core][tensor]") {
  constexpr std::size_t bytes = 4096;
  void* first = detail::acquire_buffer(bytes);
  detail::release_buffer(first, bytes);
  if (__asan_address_is_poisoned == nullptr) {
    // Without a sanitizer the released buffer comes straight back from the free list.
    void* second = detail::acquire_buffer(bytes);
    CHECK(second == first);
    detail::release_buffer(second, bytes);
  } else {
    // Under ASan the buffer went back to the system: it is poisoned (a later read is reported
    // as use-after-free) and quarantined (not handed out again at once).
    CHECK(__asan_address_is_poisoned(first) == 1);
    void* second = detail::acquire_buffer(bytes);
    CHECK(second != first);
    detail::release_buffer(second, bytes);
  }
}

TEST_CASE("tensors and Vars print with operator<<, as tensor_string shows them",
          "[tensor][print]") {
  const TensorD t = {{1.0, 2.0}, {3.0, 4.0}};
  std::ostringstream out;
  out << t;
  CHECK(out.str() == tensor_string(t));
  CHECK(out.str() == "[[1, 2], [3, 4]] (2x2)");
  std::ostringstream vars;
  const VarD x(-2.0, requires_grad, "x");
  vars << x << "; " << (x * 3.0).named("y") << "; " << Var(Tensor{1.f, 2.f}) << "; " << VarD();
  CHECK(vars.str() ==
        "Var(x, leaf, requires_grad, -2); Var(y, mul, requires_grad, -6); Var(leaf, [1, 2] (2)); "
        "Var(empty)");
}
