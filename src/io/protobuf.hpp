#pragma once
// Internal: the protocol buffers wire format, as far as ONNX files need it (docs/io.md, "ONNX":
// why by hand). A message is a run of fields, each a tag varint (field number << 3 | wire type)
// and then a varint, 8 or 4 little-endian bytes, or a length and that many bytes (strings,
// packed numbers, nested messages). The reader checks every length against the bytes of the
// message it is in before anything is read or allocated, and names the byte offset of what is
// wrong.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace retrograd::io::detail {

enum class WireType : std::uint8_t { varint = 0, fixed64 = 1, bytes = 2, fixed32 = 5 };

/// Appends fields to a message.
class ProtoWriter {
 public:
  void varint(std::uint32_t field, std::uint64_t value) {
    tag(field, WireType::varint);
    raw_varint(value);
  }
  void int64(std::uint32_t field, std::int64_t value) {
    varint(field, static_cast<std::uint64_t>(value));
  }
  void float32(std::uint32_t field, float value) {
    tag(field, WireType::fixed32);
    std::uint32_t bits;
    std::memcpy(&bits, &value, 4);
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
  void bytes(std::uint32_t field, const void* data, std::size_t size) {
    tag(field, WireType::bytes);
    raw_varint(size);
    const auto* p = static_cast<const std::uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + size);
  }
  void string(std::uint32_t field, const std::string& s) { bytes(field, s.data(), s.size()); }
  void message(std::uint32_t field, const ProtoWriter& m) {
    bytes(field, m.bytes_.data(), m.bytes_.size());
  }
  /// Appends the fields of `other` (messages concatenate: the result holds both's fields).
  void append(const ProtoWriter& other) {
    bytes_.insert(bytes_.end(), other.bytes_.begin(), other.bytes_.end());
  }
  const std::vector<std::uint8_t>& data() const { return bytes_; }

 private:
  void tag(std::uint32_t field, WireType type) {
    raw_varint((static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(type));
  }
  void raw_varint(std::uint64_t v) {
    while (v >= 0x80) {
      bytes_.push_back(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    bytes_.push_back(static_cast<std::uint8_t>(v));
  }
  std::vector<std::uint8_t> bytes_;
};

/// One field of a message: its number and wire type, its varint or fixed value, or for the
/// bytes wire type where its payload lies in the buffer.
struct ProtoField {
  std::uint32_t number = 0;
  WireType type = WireType::varint;
  /// The value of a varint, fixed64 or fixed32 field (fixed32 in the low 32 bits).
  std::uint64_t value = 0;
  /// Offset of the tag, for errors.
  std::size_t offset = 0;
  /// Payload [begin, end) of a bytes field.
  std::size_t begin = 0, end = 0;
  std::size_t size() const { return end - begin; }
};

/// Reads the fields of the message in bytes [begin, end) of `data` in turn. `fail(offset, what)`
/// is called (and must throw) for a malformed field.
template <class Fail>
class ProtoReader {
 public:
  ProtoReader(const std::uint8_t* data, std::size_t begin, std::size_t end, Fail fail)
      : data_(data), pos_(begin), end_(end), fail_(fail) {}

  /// Reads the next field into `f`; false at the end of the message.
  bool next(ProtoField& f) {
    if (pos_ == end_) return false;
    f.offset = pos_;
    const std::uint64_t key = raw_varint();
    const std::uint64_t number = key >> 3;
    const std::uint64_t type = key & 7;
    if (number == 0 || number > 0x1fffffff) fail_(f.offset, "invalid field number");
    f.number = static_cast<std::uint32_t>(number);
    switch (type) {
      case 0:
        f.type = WireType::varint;
        f.value = raw_varint();
        break;
      case 1:
        f.type = WireType::fixed64;
        f.value = fixed(8);
        break;
      case 5:
        f.type = WireType::fixed32;
        f.value = fixed(4);
        break;
      case 2: {
        f.type = WireType::bytes;
        const std::uint64_t n = raw_varint();
        if (n > end_ - pos_) {
          fail_(f.offset, "field " + std::to_string(f.number) + " declares " + std::to_string(n) +
                              " bytes but its message has only " + std::to_string(end_ - pos_) +
                              " left");
        }
        f.begin = pos_;
        f.end = pos_ + static_cast<std::size_t>(n);
        pos_ = f.end;
        break;
      }
      default:
        fail_(f.offset, "field " + std::to_string(f.number) + " has wire type " +
                            std::to_string(type) + ", which ONNX does not use");
    }
    return true;
  }

  /// Reads a varint at `pos` within [pos, end): packed repeated numbers.
  static std::uint64_t varint_at(const std::uint8_t* data, std::size_t& pos, std::size_t end,
                                 Fail fail) {
    std::uint64_t v = 0;
    const std::size_t start = pos;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos == end) fail(start, "varint runs past the end of its message");
      const std::uint8_t b = data[pos++];
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(start, "varint longer than 10 bytes");
    return 0;
  }

 private:
  std::uint64_t raw_varint() { return varint_at(data_, pos_, end_, fail_); }
  std::uint64_t fixed(int n) {
    if (end_ - pos_ < static_cast<std::size_t>(n)) {
      fail_(pos_, "fixed-size field runs past the end of its message");
    }
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }

  const std::uint8_t* data_;
  std::size_t pos_;
  std::size_t end_;
  Fail fail_;
};

}  // namespace retrograd::io::detail
