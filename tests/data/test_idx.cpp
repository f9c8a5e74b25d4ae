#include <catch2/catch.hpp>
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
