// libFuzzer target: the IDX readers on any bytes, raw or gzip. Every input must load or throw
// IdxError; anything else (a crash, another exception, a gigabyte allocation) is a finding.

#include <retrograd/data/idx.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace retrograd::data;
  const std::string& path = retrograd::fuzz::write_input(data, size);
  try {
    const IdxImages images = read_idx_images(path);
    if (images.pixels.size() != images.count * images.rows * images.cols) std::abort();
  } catch (const IdxError&) {
  }
  try {
    read_idx_labels(path);
  } catch (const IdxError&) {
  }
  return 0;
}
