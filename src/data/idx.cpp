#include "retrograd/data/idx.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>

namespace retrograd::data {

IdxError::IdxError(const std::string& path, const std::string& message)
    : std::runtime_error(path + ": " + message) {}

namespace {

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct GzCloser {
  void operator()(gzFile_s* f) const {
    if (f) gzclose(f);
  }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

/// The most a deflate stream expands: 258 bytes from about 2 bits (zlib's technical notes).
constexpr std::uint64_t max_deflate_ratio = 1032;

/// Sequential reader over a gzip or raw file that knows its offset in the uncompressed stream.
class IdxReader {
 public:
  explicit IdxReader(const std::string& path) : path_(path) {
    errno = 0;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IdxError(path, std::string("cannot open file: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      file_size_ = static_cast<std::uint64_t>(st.st_size);
    }
    file_.reset(gzdopen(fd, "rb"));
    if (!file_) {
      ::close(fd);
      throw IdxError(path, "cannot open file: out of memory");
    }
    gzbuffer(file_.get(), 1 << 17);
    direct_ = gzdirect(file_.get()) != 0;
  }

  std::size_t offset() const { return offset_; }

  /// Reads up to `n` bytes; returns how many were read (fewer only at the end of the data).
  std::size_t read_some(std::uint8_t* out, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 24));
      const int r = gzread(file_.get(), out + got, chunk);
      if (r < 0) fail_corrupt(offset_ + got);
      got += static_cast<std::size_t>(r);
      if (static_cast<unsigned>(r) < chunk) {
        int err = Z_OK;
        gzerror(file_.get(), &err);
        if (err != Z_OK && err != Z_BUF_ERROR) fail_corrupt(offset_ + got);
        break;
      }
    }
    offset_ += got;
    return got;
  }

  /// Reads exactly `n` bytes of `what`, or throws naming the offset where the file ends.
  void read_exact(std::uint8_t* out, std::size_t n, const std::string& what) {
    const std::size_t start = offset_;
    const std::size_t got = read_some(out, n);
    if (got < n) truncated(what, start, n, got);
  }

  std::uint32_t read_u32(const std::string& what) {
    std::uint8_t b[4];
    read_exact(b, 4, what);
    return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) |
           std::uint32_t(b[3]);
  }

  /// Reads a payload of `n` bytes that must end the file. Sizes are checked against the bytes
  /// the file holds before anything is allocated: exactly for a raw file (its size tells both
  /// a short payload and trailing bytes without reading them), as a bound for a gzip file
  /// (deflate expands at most 1032:1), whose buffer then fills only as data arrives.
  std::vector<std::uint8_t> read_payload(std::size_t n, const std::string& what) {
    const std::size_t start = offset_;
    if (direct_ && file_size_) {
      const std::uint64_t left = *file_size_ > start ? *file_size_ - start : 0;
      if (left < n) truncated(what, start, n, static_cast<std::size_t>(left));
      if (left > n) trailing(what, start + n, std::to_string(left - n));
      std::vector<std::uint8_t> data(n);
      const std::size_t got = read_some(data.data(), n);
      if (got < n) truncated(what, start, n, got);  // the file shrank while we read it
      return data;
    }
    if (!direct_ && file_size_ && n / max_deflate_ratio > *file_size_) {
      throw IdxError(path_, "the header claims " + std::to_string(n) + " byte(s) of " + what +
                                " from offset " + std::to_string(start) +
                                ", more than a gzip file of " + std::to_string(*file_size_) +
                                " byte(s) can hold (deflate expands at most " +
                                std::to_string(max_deflate_ratio) + ":1)");
    }
    // Reserved, not filled: the pages are touched only as data arrives (a false claim costs
    // address space, not memory), and the buffer never moves, so a real payload is held once.
    std::vector<std::uint8_t> data;
    data.reserve(n);
    constexpr std::size_t chunk = std::size_t(1) << 20;
    std::size_t got = 0;
    while (got < n) {
      const std::size_t want = std::min(chunk, n - got);
      data.resize(got + want);
      const std::size_t r = read_some(data.data() + got, want);
      got += r;
      if (r < want) truncated(what, start, n, got);
    }
    expect_end(what);
    return data;
  }

  /// Throws if any byte follows the payload of a gzip file (reading to the end also lets zlib
  /// check the gzip CRC). Counts at most 1 MiB of them: the count only has to show the mismatch.
  void expect_end(const std::string& what) {
    std::uint8_t extra[4096];
    const std::size_t end = offset_;
    constexpr std::size_t most = std::size_t(1) << 20;
    std::size_t count = 0;
    std::size_t r;
    while (count < most && (r = read_some(extra, sizeof extra)) > 0) count += r;
    if (count) trailing(what, end, count < most ? std::to_string(count) : "1 MiB or more");
  }

  [[noreturn]] void trailing(const std::string& what, std::size_t end,
                             const std::string& count) const {
    throw IdxError(path_, count + " unexpected byte(s) after the " + what + " at offset " +
                              std::to_string(end) +
                              " (the header's dimensions do not match the payload size)");
  }

  [[noreturn]] void truncated(const std::string& what, std::size_t start, std::size_t n,
                              std::size_t got) const {
    throw IdxError(path_, "truncated at offset " + std::to_string(start + got) + ": expected " +
                              std::to_string(n) + " byte(s) of " + what + " from offset " +
                              std::to_string(start) + ", found " + std::to_string(got));
  }

  [[noreturn]] void fail_corrupt(std::size_t at) const {
    int err = Z_OK;
    std::string msg = gzerror(file_.get(), &err);
    if (msg.compare(0, path_.size() + 2, path_ + ": ") == 0) msg.erase(0, path_.size() + 2);
    if (msg.empty()) msg = "read error";
    if (gzdirect(file_.get())) {
      throw IdxError(path_, "read error at offset " + std::to_string(at) + ": " + msg);
    }
    // zlib decompresses ahead of what we have consumed, so the damage may lie past `at`.
    throw IdxError(path_, "corrupt gzip data (zlib: " + msg +
                              ") found while reading at uncompressed offset " + std::to_string(at));
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  GzHandle file_;
  std::size_t offset_ = 0;
  /// Size of a regular file on disk (compressed for gzip); unknown for pipes and devices.
  std::optional<std::uint64_t> file_size_;
  /// True for a raw file, false for gzip.
  bool direct_ = true;
};

/// Reads and checks the magic number; returns the dimensions that follow it.
std::vector<std::size_t> read_header(IdxReader& in, std::uint32_t expected_magic, const char* kind,
                                     const char* items) {
  const std::uint32_t magic = in.read_u32("magic number");
  if (magic != expected_magic) {
    std::string hint;
    if ((magic >> 16) != 0) {
      hint = " (not an IDX file)";
    } else if (((magic >> 8) & 0xFF) != 0x08) {
      hint = " (IDX data type " + hex32((magic >> 8) & 0xFF) +
             " is not unsigned byte 0x08, the only type supported)";
    } else {
      hint = " (an idx" + std::to_string(magic & 0xFF) + " file)";
    }
    throw IdxError(in.path(), "wrong magic number " + hex32(magic) + " at offset 0" + hint +
                                  ": expected " + hex32(expected_magic) + " (" + kind + ")");
  }
  const std::size_t rank = expected_magic & 0xFF;
  std::vector<std::size_t> dims(rank);
  const std::string names[] = {std::string(items) + " count", "row count", "column count"};
  for (std::size_t i = 0; i < rank; ++i) {
    const std::size_t at = in.offset();
    dims[i] = in.read_u32(names[i]);
    if (dims[i] == 0) {
      throw IdxError(in.path(),
                     (i == 0 ? "holds zero " + std::string(items) : std::string("zero dimension")) +
                         ": " + names[i] + " at offset " + std::to_string(at) + " is 0");
    }
  }
  return dims;
}

void write_file(const std::string& path, std::uint32_t magic,
                const std::vector<std::uint32_t>& dims, const std::uint8_t* data,
                std::size_t size) {
  const bool gzip = ends_with(path, ".gz");
  errno = 0;
  GzHandle f(gzopen(path.c_str(), gzip ? "wb6" : "wbT"));
  if (!f) {
    throw IdxError(path, std::string("cannot open for writing: ") +
                             (errno ? std::strerror(errno) : "out of memory"));
  }
  std::vector<std::uint8_t> header;
  auto put = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) header.push_back(static_cast<std::uint8_t>(v >> s));
  };
  put(magic);
  for (std::uint32_t d : dims) put(d);
  auto write = [&](const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n, 1u << 24));
      if (gzwrite(f.get(), p, chunk) != static_cast<int>(chunk)) {
        int err = Z_OK;
        throw IdxError(path, std::string("write failed: ") + gzerror(f.get(), &err));
      }
      p += chunk;
      n -= chunk;
    }
  };
  write(header.data(), header.size());
  write(data, size);
  if (gzclose(f.release()) != Z_OK) throw IdxError(path, "write failed when closing the file");
}

std::uint32_t checked_dim(std::size_t d, const char* what) {
  if (d > std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument(std::string("write_idx: ") + what + " " + std::to_string(d) +
                                " does not fit the 32-bit IDX header");
  }
  return static_cast<std::uint32_t>(d);
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  IdxReader in(path);
  const std::vector<std::size_t> dims =
      read_header(in, idx_images_magic, "idx3 unsigned-byte images", "images");
  IdxImages images;
  images.count = dims[0];
  images.rows = dims[1];
  images.cols = dims[2];
  const std::size_t total = images.count * images.rows * images.cols;  // < 2^96: check below
  if (images.rows * images.cols > (std::size_t(1) << 32) ||
      total / images.count != images.rows * images.cols) {
    throw IdxError(path, "implausible dimensions " + std::to_string(images.count) + " x " +
                             std::to_string(images.rows) + " x " + std::to_string(images.cols));
  }
  images.pixels = in.read_payload(total, "pixel data (" + std::to_string(images.count) + " x " +
                                             std::to_string(images.rows) + " x " +
                                             std::to_string(images.cols) + ")");
  return images;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path) {
  IdxReader in(path);
  const std::vector<std::size_t> dims =
      read_header(in, idx_labels_magic, "idx1 unsigned-byte labels", "labels");
  std::vector<std::uint8_t> labels =
      in.read_payload(dims[0], "label data (" + std::to_string(dims[0]) + " labels)");
  return labels;
}

std::optional<std::uint32_t> idx_magic(const std::string& path) {
  GzHandle file(gzopen(path.c_str(), "rb"));
  std::uint8_t b[4];
  if (!file || gzread(file.get(), b, 4) != 4) return std::nullopt;
  const bool type_known = b[2] == 0x08 || b[2] == 0x09 || (b[2] >= 0x0B && b[2] <= 0x0E);
  if (b[0] != 0 || b[1] != 0 || !type_known || b[3] < 1 || b[3] > 4) return std::nullopt;
  return (std::uint32_t(b[2]) << 8) | b[3];
}

std::string describe_idx_magic(std::uint32_t magic) {
  static const char* const types[] = {"unsigned bytes", "signed bytes", "?",      "shorts",
                                      "ints",           "floats",       "doubles"};
  const std::uint32_t type = (magic >> 8) & 0xFF;
  const std::string kind = type >= 0x08 && type <= 0x0E ? types[type - 0x08] : "unknown type";
  const std::uint32_t dims = magic & 0xFF;
  return "magic " + hex32(magic) + ": " + std::to_string(dims) + " dimension" +
         (dims == 1 ? "" : "s") + " of " + kind;
}

void write_idx_images(const std::string& path, const IdxImages& images) {
  if (images.pixels.size() != images.count * images.rows * images.cols) {
    throw std::invalid_argument("write_idx_images: " + std::to_string(images.pixels.size()) +
                                " pixels for " + std::to_string(images.count) + " images of " +
                                std::to_string(images.rows) + " x " + std::to_string(images.cols));
  }
  write_file(path, idx_images_magic,
             {checked_dim(images.count, "image count"), checked_dim(images.rows, "row count"),
              checked_dim(images.cols, "column count")},
             images.pixels.data(), images.pixels.size());
}

void write_idx_labels(const std::string& path, const std::vector<std::uint8_t>& labels) {
  write_file(path, idx_labels_magic, {checked_dim(labels.size(), "label count")}, labels.data(),
             labels.size());
}

}  // namespace retrograd::data
