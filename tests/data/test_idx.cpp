#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "retrograd/data/idx.hpp"

namespace fs = std::filesystem;
using namespace retrograd::data;

namespace {

/// A fresh, empty directory for one test's files.
fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("retrograd_test_idx_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

IdxImages sample_images(std::size_t count, std::size_t rows, std::size_t cols) {
  IdxImages im;
  im.count = count;
  im.rows = rows;
  im.cols = cols;
  im.pixels.resize(count * rows * cols);
  for (std::size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = static_cast<uint8_t>(i * 7);
  return im;
}

std::vector<std::uint8_t> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

/// A number from a "Name: value" line of a /proc file (VmHWM in kB, rchar in bytes); -1 if
/// the file or the line is missing.
long long proc_value(const char* file, const std::string& name) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, name.size() + 1, name + ":") == 0) {
      return std::stoll(line.substr(name.size() + 1));
    }
  }
  return -1;
}

/// Resets the process's peak resident set (VmHWM) to its current size (Linux 4.0+).
bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

/// `bytes` gzip-compressed, as a .gz file holds them.
std::vector<std::uint8_t> gzip_bytes(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
  return file_bytes(p);
}

}  // namespace

TEST_CASE("IDX images and labels round-trip raw and gzip", "[data][idx]") {
  const fs::path dir = scratch_dir("roundtrip");
  const IdxImages images = sample_images(5, 3, 4);
  const std::vector<std::uint8_t> labels = {0, 9, 3, 3, 255};
  for (const std::string ext : {"", ".gz"}) {
    const std::string im_path = (dir / ("images" + ext)).string();
    const std::string lb_path = (dir / ("labels" + ext)).string();
    write_idx_images(im_path, images);
    write_idx_labels(lb_path, labels);
    const IdxImages back = read_idx_images(im_path);
    CHECK(back.count == 5);
    CHECK(back.rows == 3);
    CHECK(back.cols == 4);
    CHECK(back.pixels_per_image() == 12);
    CHECK(back.pixels == images.pixels);
    CHECK(read_idx_labels(lb_path) == labels);
    const std::vector<std::uint8_t> raw = file_bytes(im_path);
    if (ext.empty()) {
      REQUIRE(raw.size() == 16 + 60);
      CHECK(raw[2] == 0x08);
      CHECK(raw[3] == 0x03);
      CHECK(raw[7] == 5);
    } else {
      REQUIRE(raw.size() > 2);
      CHECK(raw[0] == 0x1f);  // gzip magic
      CHECK(raw[1] == 0x8b);
    }
  }
}

TEST_CASE("IDX reader rejects a directory", "[data][idx]") {
  const std::string dir = scratch_dir("isdir").string();
  REQUIRE_THROWS_WITH(read_idx_labels(dir), Catch::Contains(dir) && Catch::Contains("directory"));
}

TEST_CASE("IDX reader rejects a missing file", "[data][idx]") {
  const std::string path = (scratch_dir("missing") / "nope-idx3-ubyte.gz").string();
  REQUIRE_THROWS_AS(read_idx_images(path), IdxError);
  REQUIRE_THROWS_WITH(read_idx_images(path),
                      Catch::Contains("nope-idx3-ubyte.gz") && Catch::Contains("No such file"));
  REQUIRE_THROWS_AS(read_idx_labels(path), std::runtime_error);
}

TEST_CASE("IDX reader reports the offset where a truncated file ends", "[data][idx]") {
  const fs::path dir = scratch_dir("truncated");
  const IdxImages images = sample_images(4, 2, 2);
  const fs::path raw = dir / "images";
  write_idx_images(raw.string(), images);
  std::vector<std::uint8_t> bytes = file_bytes(raw);

  SECTION("inside the pixel data, raw") {
    bytes.resize(16 + 10);
    write_bytes(raw, bytes);
    REQUIRE_THROWS_WITH(read_idx_images(raw.string()),
                        Catch::Contains("truncated at offset 26") &&
                            Catch::Contains("expected 16 byte(s) of pixel data") &&
                            Catch::Contains(raw.string()));
  }
  SECTION("inside the header") {
    bytes.resize(10);
    write_bytes(raw, bytes);
    REQUIRE_THROWS_WITH(read_idx_images(raw.string()),
                        Catch::Contains("truncated at offset 10") && Catch::Contains("row count"));
  }
  SECTION("empty file") {
    bytes.clear();
    write_bytes(raw, bytes);
    REQUIRE_THROWS_WITH(read_idx_images(raw.string()),
                        Catch::Contains("truncated at offset 0") && Catch::Contains("magic"));
  }
  SECTION("gzip stream cut short") {
    const fs::path gz = dir / "images.gz";
    write_idx_images(gz.string(), sample_images(50, 28, 28));
    std::vector<std::uint8_t> z = file_bytes(gz);
    z.resize(z.size() / 2);
    write_bytes(gz, z);
    REQUIRE_THROWS_AS(read_idx_images(gz.string()), IdxError);
    REQUIRE_THROWS_WITH(read_idx_images(gz.string()),
                        Catch::Contains("offset") && Catch::Contains("images.gz"));
  }
}

TEST_CASE("IDX reader rejects a corrupt gzip stream", "[data][idx]") {
  const fs::path gz = scratch_dir("corrupt") / "labels.gz";
  std::vector<std::uint8_t> labels(5000);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(i % 10);
  write_idx_labels(gz.string(), labels);
  std::vector<std::uint8_t> z = file_bytes(gz);
  for (std::size_t i = z.size() / 3; i < z.size() / 2; ++i) z[i] ^= 0x5A;
  write_bytes(gz, z);
  REQUIRE_THROWS_AS(read_idx_labels(gz.string()), IdxError);
  REQUIRE_THROWS_WITH(read_idx_labels(gz.string()), Catch::Contains("labels.gz") &&
                                                        Catch::Contains("corrupt gzip data") &&
                                                        Catch::Contains("offset"));
  SECTION("a damaged CRC is caught too") {
    std::vector<std::uint8_t> good = file_bytes(gz);
    write_idx_labels(gz.string(), labels);
    good = file_bytes(gz);
    good[good.size() - 6] ^= 1;  // inside the CRC-32 of the gzip trailer
    write_bytes(gz, good);
    REQUIRE_THROWS_WITH(read_idx_labels(gz.string()), Catch::Contains("incorrect data check"));
  }
}

TEST_CASE("IDX reader rejects a wrong magic number", "[data][idx]") {
  const fs::path dir = scratch_dir("magic");
  const std::string labels = (dir / "labels").string();
  write_idx_labels(labels, {1, 2, 3});
  REQUIRE_THROWS_WITH(read_idx_images(labels),
                      Catch::Contains("wrong magic number 0x00000801 at offset 0") &&
                          Catch::Contains("expected 0x00000803"));
  const std::string images = (dir / "images.gz").string();
  write_idx_images(images, sample_images(2, 2, 2));
  REQUIRE_THROWS_WITH(read_idx_labels(images), Catch::Contains("wrong magic number 0x00000803") &&
                                                   Catch::Contains("images.gz"));
  const fs::path text = dir / "text";
  write_bytes(text, {'h', 'e', 'l', 'l', 'o', '\n'});
  REQUIRE_THROWS_WITH(read_idx_labels(text.string()), Catch::Contains("not an IDX file"));
  const fs::path floats = dir / "floats";
  write_bytes(floats, {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0});
  REQUIRE_THROWS_WITH(read_idx_labels(floats.string()), Catch::Contains("data type"));
}

TEST_CASE("IDX reader rejects zero images and a size mismatch", "[data][idx]") {
  const fs::path dir = scratch_dir("counts");
  const fs::path path = dir / "images";
  SECTION("zero images") {
    write_bytes(path, {0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28});
    REQUIRE_THROWS_WITH(read_idx_images(path.string()),
                        Catch::Contains("zero images") && Catch::Contains("offset 4"));
  }
  SECTION("zero rows") {
    write_bytes(path, {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 28});
    REQUIRE_THROWS_WITH(read_idx_images(path.string()),
                        Catch::Contains("zero dimension") && Catch::Contains("offset 8"));
  }
  SECTION("bytes after the payload") {
    write_idx_images(path.string(), sample_images(2, 2, 2));
    std::vector<std::uint8_t> bytes = file_bytes(path);
    bytes.push_back(1);
    bytes.push_back(2);
    write_bytes(path, bytes);
    REQUIRE_THROWS_WITH(read_idx_images(path.string()),
                        Catch::Contains("2 unexpected byte(s)") && Catch::Contains("offset 24"));
  }
  SECTION("a header claiming far more images than the file holds") {
    write_bytes(path, {0, 0, 8, 3, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3});
    REQUIRE_THROWS_WITH(read_idx_images(path.string()), Catch::Contains("truncated at offset 19"));
  }
}

// Issue 11: a few header bytes must not cost memory or time in proportion to what they claim.
TEST_CASE("an 8-byte IDX file claiming 4 G items is rejected in under 10 ms and 1 MiB of RSS",
          "[data][idx][budget]") {
  const fs::path dir = scratch_dir("budget_" + std::to_string(::getpid()));
  struct Claim {
    std::string file;
    std::vector<std::uint8_t> bytes;
    bool images;
  };
  const std::vector<std::uint8_t> labels_header = {0, 0, 8, 1, 0xFF, 0xFF, 0xFF, 0xFF};
  const std::vector<std::uint8_t> images_header = {0, 0, 8, 3,  0xFF, 0xFF, 0xFF, 0xFF,
                                                   0, 0, 0, 28, 0,    0,    0,    28};
  const std::vector<Claim> claims = {
      {"labels", labels_header, false},
      {"images", images_header, true},
      {"labels.gz", gzip_bytes(dir / "tmp.gz", labels_header), false},
      {"images.gz", gzip_bytes(dir / "tmp.gz", images_header), true},
  };
  for (const Claim& claim : claims) {
    INFO(claim.file << ": " << claim.bytes.size() << " bytes");
    const fs::path path = dir / claim.file;
    write_bytes(path, claim.bytes);
    const auto read = [&] {
      if (claim.images) {
        read_idx_images(path.string());
      } else {
        read_idx_labels(path.string());
      }
    };
    REQUIRE_THROWS_AS(read(), IdxError);
    REQUIRE_THROWS_WITH(read(), Catch::Contains(path.string()) && Catch::Contains("offset"));

    // Peak RSS: the rejection may not touch a MiB (the old reader zero-filled 64 MiB).
    REQUIRE(reset_peak_rss());
    const long long peak_before = proc_value("/proc/self/status", "VmHWM");
    REQUIRE(peak_before > 0);
    CHECK_THROWS_AS(read(), IdxError);
    const long long peak_growth_kib = proc_value("/proc/self/status", "VmHWM") - peak_before;
    CHECK(peak_growth_kib < 1024);

    // Time: the median of 9 runs, so that one preempted run on a busy machine cannot fail it.
    std::vector<double> ms;
    for (int run = 0; run < 9; ++run) {
      const auto start = std::chrono::steady_clock::now();
      try {
        read();
      } catch (const IdxError&) {
      }
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    std::nth_element(ms.begin(), ms.begin() + 4, ms.end());
    INFO("median " << ms[4] << " ms");
    CHECK(ms[4] < 10.0);
  }
}

TEST_CASE("IDX trailing bytes are counted from the file size, not read", "[data][idx][budget]") {
  const fs::path dir = scratch_dir("sparse_" + std::to_string(::getpid()));
  const fs::path path = dir / "labels";
  write_idx_labels(path.string(), {1, 2, 3});
  // 8 GiB of zeros after the three labels, as a hole: nothing is written to the disk.
  constexpr std::uintmax_t eight_gib = std::uintmax_t(8) << 30;
  fs::resize_file(path, 11 + eight_gib);
  const long long read_before = proc_value("/proc/self/io", "rchar");
  REQUIRE_THROWS_WITH(read_idx_labels(path.string()),
                      Catch::Contains(std::to_string(eight_gib) + " unexpected byte(s)") &&
                          Catch::Contains("offset 11"));
  if (read_before >= 0) {
    // The old reader read all 8 GiB to count them (18 s); now a few KiB are read at most.
    CHECK(proc_value("/proc/self/io", "rchar") - read_before < (1 << 20));
  }
  fs::remove(path);
}

TEST_CASE("IDX gzip payloads are bounded by what the compressed file can hold",
          "[data][idx][budget]") {
  const fs::path dir = scratch_dir("gzbound_" + std::to_string(::getpid()));
  // A plausible claim for its size (100,000 labels in a small gzip of zeros) still reads.
  std::vector<std::uint8_t> labels(100000, 0);
  write_idx_labels((dir / "zeros.gz").string(), labels);
  CHECK(read_idx_labels((dir / "zeros.gz").string()) == labels);
  // A claim beyond 1032 bytes per compressed byte is refused before reading.
  const fs::path big = dir / "big.gz";
  gzip_bytes(big, {0, 0, 8, 1, 0x10, 0, 0, 0, 7});
  REQUIRE_THROWS_WITH(read_idx_labels(big.string()),
                      Catch::Contains("claims 268435456 byte(s) of label data") &&
                          Catch::Contains("from offset 8") && Catch::Contains("1032:1"));
  // Bytes after the payload of a gzip file are found by reading (counted up to 1 MiB).
  std::vector<std::uint8_t> padded = {0, 0, 8, 1, 0, 0, 0, 2, 5, 6};
  padded.resize(padded.size() + (3 << 20));
  gzip_bytes(big, padded);
  REQUIRE_THROWS_WITH(
      read_idx_labels(big.string()),
      Catch::Contains("1 MiB or more unexpected byte(s)") && Catch::Contains("offset 10"));
}
