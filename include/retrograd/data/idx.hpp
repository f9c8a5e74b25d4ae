#pragma once
/// @file idx.hpp
/// Reading and writing IDX files, the format of MNIST and Fashion-MNIST: images as idx3
/// unsigned bytes (magic 0x00000803) and labels as idx1 unsigned bytes (magic 0x00000801).
/// Files may be gzip-compressed or raw; the reader detects which.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace retrograd::data {

/// Thrown for a missing, unreadable, truncated, corrupt or inconsistent IDX file. The message
/// names the file, what is wrong and, where it applies, the byte offset (in the uncompressed
/// stream) at which the problem was found.
class IdxError : public std::runtime_error {
 public:
  /// An error about `path`; `what()` is "<path>: <message>".
  IdxError(const std::string& path, const std::string& message);
};

/// Magic number of an idx3 unsigned-byte file (images).
inline constexpr std::uint32_t idx_images_magic = 0x00000803;
/// Magic number of an idx1 unsigned-byte file (labels).
inline constexpr std::uint32_t idx_labels_magic = 0x00000801;

/// A set of grayscale images kept as bytes: `count` images of `rows` x `cols` pixels, row-major,
/// one image after the other (60,000 MNIST images take 47 MB).
struct IdxImages {
  /// Number of images.
  std::size_t count = 0;
  /// Pixel rows per image.
  std::size_t rows = 0;
  /// Pixel columns per image.
  std::size_t cols = 0;
  /// `count * rows * cols` pixel values, 0 (background) to 255.
  std::vector<std::uint8_t> pixels;

  /// Pixels per image: `rows * cols`.
  std::size_t pixels_per_image() const { return rows * cols; }
};

/// Reads an idx3 unsigned-byte image file, gzip or raw. Throws IdxError if the file is
/// missing, is not an idx3 ubyte file (wrong magic), has zero images or a zero dimension, is
/// truncated, or holds bytes after the last image.
IdxImages read_idx_images(const std::string& path);

/// Reads an idx1 unsigned-byte label file, gzip or raw. Throws IdxError on the same problems as
/// read_idx_images.
std::vector<std::uint8_t> read_idx_labels(const std::string& path);

/// The IDX magic number that `path` starts with (after gzip decompression for a gzip file):
/// bytes 00 00, a data type from 0x08 (unsigned byte) to 0x0E (double), and 1 to 4 dimensions.
/// std::nullopt for any other start, a shorter file, or a file that cannot be read. Lets a
/// reader that expects another format say what it was given instead.
std::optional<std::uint32_t> idx_magic(const std::string& path);

/// "magic 0x00000803: 3 dimensions of unsigned bytes": a magic number in words.
std::string describe_idx_magic(std::uint32_t magic);

/// Writes `images` as an idx3 unsigned-byte file; gzip-compressed when `path` ends in ".gz".
/// Throws IdxError if the file cannot be written and std::invalid_argument if
/// `images.pixels.size()` is not `count * rows * cols`.
void write_idx_images(const std::string& path, const IdxImages& images);

/// Writes `labels` as an idx1 unsigned-byte file; gzip-compressed when `path` ends in ".gz".
/// Throws IdxError if the file cannot be written.
void write_idx_labels(const std::string& path, const std::vector<std::uint8_t>& labels);

}  // namespace retrograd::data
