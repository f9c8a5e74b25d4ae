// libFuzzer target: the model loader (io::deserialize_model) on any bytes. Each input is tried
// as given and, so that mutations get past the checksum into the payload parser, with its
// CRC-32 trailer recomputed. Every input must load or throw ModelFileError.

#include <zlib.h>

#include <retrograd/io/model_io.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace retrograd;
  std::vector<std::uint8_t> bytes(data, data + size);
  try {
    io::deserialize_model(bytes, "fuzz.rg");
  } catch (const io::ModelFileError&) {
  }
  if (size < 24) return 0;
  const std::size_t end = size - 4;
  const auto crc =
      static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), bytes.data(), static_cast<uInt>(end)));
  for (int i = 0; i < 4; ++i) bytes[end + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  try {
    io::deserialize_model(bytes, "fuzz.rg");
  } catch (const io::ModelFileError&) {
  }
  return 0;
}
