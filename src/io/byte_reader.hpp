#pragma once
// Internal: the little-endian fields of a model file, read from bytes [begin, end) with every
// length checked against the end. Both format versions read through it (record_codec.cpp for
// version 2, model_file_v1.cpp's version 1 reader); any overrun or implausible size throws
// ModelFileError naming the source and the byte offset, before anything is allocated.

#include <cstdint>
#include <cstring>
#include <string>

#include "retrograd/io/model_io.hpp"
#include "retrograd/tensor.hpp"

namespace retrograd::io::detail {

class ByteReader {
 public:
  ByteReader(const std::uint8_t* bytes, std::size_t begin, std::size_t end,
             const std::string& source)
      : bytes_(bytes), pos_(begin), end_(end), source_(source) {}

  [[noreturn]] void fail(std::size_t at, const std::string& what) const {
    throw ModelFileError(source_,
                         "corrupt: " + what + " (at byte offset " + std::to_string(at) + ")");
  }
  [[noreturn]] void fail(const std::string& what) const { fail(pos_, what); }

  /// The byte offset of the next field.
  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return end_ - pos_; }
  bool at_end() const { return pos_ == end_; }
  const std::string& source() const { return source_; }

  const std::uint8_t* take(std::uint64_t n) {
    if (n > remaining()) {
      fail("a field of " + std::to_string(n) + " bytes runs past the end of the payload at " +
           std::to_string(end_));
    }
    const std::uint8_t* p = bytes_ + pos_;
    pos_ += static_cast<std::size_t>(n);
    return p;
  }
  std::uint8_t u8() { return take(1)[0]; }
  std::uint32_t u32() {
    const std::uint8_t* p = take(4);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
    return v;
  }
  std::uint64_t u64() {
    const std::uint8_t* p = take(8);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    return v;
  }
  float f32() {
    const std::uint32_t bits = u32();
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
  double f64() {
    const std::uint64_t bits = u64();
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  std::string str() {
    const std::uint32_t n = u32();
    const std::uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }

  /// The `rank` u64 dimensions and then the float32 values of the tensor `name`, whose rank
  /// field started at `at`. The dimensions are checked against the bytes left before the tensor
  /// is allocated, the nonzero ones too: a zero dimension makes the size 0, but the strides are
  /// still products of the others and must not overflow.
  Tensor tensor_body(const std::string& name, std::size_t rank, std::size_t at) {
    Shape shape(rank);
    std::uint64_t size = 1;
    std::uint64_t nonzero = 1;
    const std::uint64_t limit = remaining() / 4 + (std::uint64_t(1) << 20);
    for (auto& d : shape) {
      const std::uint64_t v = u64();
      // Compare before multiplying: the product of corrupt dimensions may overflow.
      if (v != 0 && (size > remaining() / 4 / v || nonzero > limit / v)) {
        fail(at, "tensor '" + name + "' claims more values than the bytes left (" +
                     std::to_string(remaining()) + ")");
      }
      size *= v;
      if (v != 0) nonzero *= v;
      d = static_cast<std::size_t>(v);
    }
    const std::uint8_t* p = take(4 * size);
    Tensor t = Tensor::from_shape(shape);
    float* out = t.data();
    for (std::size_t i = 0; i < size; ++i) {
      std::uint32_t bits = 0;
      for (int k = 0; k < 4; ++k) bits |= static_cast<std::uint32_t>(p[4 * i + k]) << (8 * k);
      std::memcpy(out + i, &bits, 4);
    }
    return t;
  }

 private:
  const std::uint8_t* bytes_;
  std::size_t pos_;
  std::size_t end_;
  const std::string& source_;
};

}  // namespace retrograd::io::detail
