#include "record_codec.hpp"

#include <cstring>

#include "byte_reader.hpp"
#include "retrograd/io/model_io.hpp"

namespace retrograd::io::detail {

namespace {

enum Tag : std::uint8_t {
  integer = 1,
  number = 2,
  text = 3,
  tensor = 4,
  integers = 5,
  numbers = 6,
  records = 7
};

/// Nested records deeper than this are corrupt (the models' own trees are a few levels).
constexpr int max_depth = 64;
constexpr std::size_t max_rank = 8;

class Encoder {
 public:
  explicit Encoder(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void f64(double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  void str(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void record(const nn::Record& r) {
    u32(static_cast<std::uint32_t>(r.size()));
    for (const auto& [key, value] : r.fields()) {
      str(key);
      std::visit([this](const auto& v) { field(v); }, value);
    }
  }

 private:
  void field(std::int64_t v) {
    u8(integer);
    u64(static_cast<std::uint64_t>(v));
  }
  void field(double v) {
    u8(number);
    f64(v);
  }
  void field(const std::string& v) {
    u8(text);
    str(v);
  }
  void field(const Tensor& t) {
    u8(tensor);
    u8(static_cast<std::uint8_t>(t.dimension()));
    for (std::size_t d : t.shape()) u64(d);
    out_.reserve(out_.size() + 4 * t.size());
    const float* p = t.data();
    for (std::size_t i = 0; i < t.size(); ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, p + i, 4);
      u32(bits);
    }
  }
  void field(const std::vector<std::uint64_t>& v) {
    u8(integers);
    u64(v.size());
    for (std::uint64_t x : v) u64(x);
  }
  void field(const std::vector<double>& v) {
    u8(numbers);
    u64(v.size());
    for (double x : v) f64(x);
  }
  void field(const std::vector<nn::Record>& v) {
    u8(records);
    u32(static_cast<std::uint32_t>(v.size()));
    for (const nn::Record& r : v) record(r);
  }

  std::vector<std::uint8_t>& out_;
};

class Decoder : public ByteReader {
 public:
  Decoder(const std::uint8_t* bytes, std::size_t pos, std::size_t end, const std::string& source)
      : ByteReader(bytes, pos, end, source) {}

  nn::Record record(int depth) {
    const std::size_t at = offset();
    if (depth > max_depth) fail(at, "records nested deeper than " + std::to_string(max_depth));
    const std::uint32_t count = u32();
    // Each field takes at least 6 bytes (key length, tag, one byte of value at the least).
    if (count > remaining() / 6) {
      fail(at, "a record of " + std::to_string(count) + " fields in " +
                   std::to_string(remaining()) + " bytes");
    }
    nn::Record r("record at byte offset " + std::to_string(at));
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::size_t key_at = offset();
      std::string key = str();
      if (r.has(key)) fail(key_at, "field '" + key + "' appears twice");
      r.set(key, value(key, depth));
    }
    return r;
  }

 private:
  nn::Record::Value value(const std::string& key, int depth) {
    const std::size_t at = offset();
    const std::uint8_t tag = u8();
    switch (tag) {
      case integer:
        return static_cast<std::int64_t>(u64());
      case number:
        return f64();
      case text:
        return str();
      case tensor:
        return tensor_value(key);
      case integers: {
        const std::uint64_t n = count(8, key);
        std::vector<std::uint64_t> v(static_cast<std::size_t>(n));
        for (auto& x : v) x = u64();
        return v;
      }
      case numbers: {
        const std::uint64_t n = count(8, key);
        std::vector<double> v(static_cast<std::size_t>(n));
        for (auto& x : v) x = f64();
        return v;
      }
      case records: {
        const std::size_t list_at = offset();
        const std::uint32_t n = u32();
        if (n > remaining() / 4) {
          fail(list_at, "field '" + key + "' claims " + std::to_string(n) + " records in " +
                            std::to_string(remaining()) + " bytes");
        }
        std::vector<nn::Record> v;
        v.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) v.push_back(record(depth + 1));
        return v;
      }
      default:
        fail(at, "field '" + key + "' has unknown type tag " + std::to_string(tag));
    }
  }

  Tensor tensor_value(const std::string& key) {
    const std::size_t at = offset();
    const std::size_t rank = u8();
    if (rank > max_rank) {
      fail(at, "tensor '" + key + "' of rank " + std::to_string(rank) + " (at most " +
                   std::to_string(max_rank) + ")");
    }
    return tensor_body(key, rank, at);
  }

  std::uint64_t count(std::size_t element, const std::string& key) {
    const std::size_t at = offset();
    const std::uint64_t n = u64();
    if (n > remaining() / element) {
      fail(at, "field '" + key + "' claims " + std::to_string(n) + " values in " +
                   std::to_string(remaining()) + " bytes");
    }
    return n;
  }
};

}  // namespace

void encode_record(const nn::Record& record, std::vector<std::uint8_t>& out) {
  Encoder(out).record(record);
}

nn::Record decode_record(const std::uint8_t* bytes, std::size_t& begin, std::size_t end,
                         const std::string& source) {
  Decoder d(bytes, begin, end, source);
  nn::Record r = d.record(0);
  begin = d.offset();
  return r;
}

}  // namespace retrograd::io::detail
