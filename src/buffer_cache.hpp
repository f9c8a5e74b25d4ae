#pragma once
// Internal: whether this build keeps per-thread caches of memory (tensor buffers in
// src/tensor.cpp, node slots in src/node.cpp). Sanitizer builds bypass them so that
// AddressSanitizer still sees every use after free.

namespace retrograd::detail {

// GCC defines __SANITIZE_ADDRESS__ under -fsanitize=address; clang does not and answers
// __has_feature(address_sanitizer) instead.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RETROGRAD_ADDRESS_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(RETROGRAD_ADDRESS_SANITIZER)
inline constexpr bool buffer_cache_enabled = false;
#else
inline constexpr bool buffer_cache_enabled = true;
#endif

}  // namespace retrograd::detail
