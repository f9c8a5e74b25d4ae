#pragma once
// Internal: the (height, width) settings that Conv2D and the poolings save in their configs.

#include <cstdint>
#include <string>

#include "retrograd/nn/record.hpp"
#include "retrograd/ops.hpp"

namespace retrograd::nn::detail {

/// The largest kernel, stride, padding or dilation a model file may hold: larger ones are
/// corrupt (and would ask for huge outputs).
constexpr std::uint64_t max_image_setting = 1 << 16;

/// The (height, width) pair saved under `key`; Record's error when it is not two integers in
/// [0, max_image_setting].
inline Size2 read_size2(const Record& config, const char* key) {
  const std::vector<std::uint64_t>& v = config.integers(key);
  if (v.size() != 2 || v[0] > max_image_setting || v[1] > max_image_setting) {
    config.fail(std::string(key) + " must be two integers in [0, " +
                std::to_string(max_image_setting) + "]");
  }
  return {v[0], v[1]};
}

}  // namespace retrograd::nn::detail
