#pragma once
// Shared by the fuzz targets: the readers take paths, so each input is written to one file per
// process (removed at exit), and a small cursor decodes structured inputs from bytes.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace retrograd::fuzz {

/// Writes the input to this process's scratch file and returns its path.
inline const std::string& write_input(const std::uint8_t* data, std::size_t size,
                                      const char* suffix = "") {
  static const std::string path = [suffix] {
    std::string p = "/tmp/retrograd_fuzz_" + std::to_string(::getpid()) + suffix;
    static std::string removed;
    removed = p;
    std::atexit([] { std::remove(removed.c_str()); });
    return p;
  }();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

/// Reads the input front to back; past its end every read gives 0.
class Cursor {
 public:
  Cursor(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() | (byte() << 8)); }
  bool empty() const { return pos_ >= size_; }
  /// The bytes not read yet.
  std::string rest() {
    std::string s(reinterpret_cast<const char*>(data_ + pos_), size_ - pos_);
    pos_ = size_;
    return s;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace retrograd::fuzz
