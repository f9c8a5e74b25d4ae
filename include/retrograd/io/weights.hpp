#pragma once
/// @file weights.hpp
/// A module's weights alone (its state dict) as a NumPy `.npz` archive: one `<name>.npy` array
/// per parameter and buffer, named as named_parameters() and named_buffers() name them
/// ("dense_0.W", "batch_norm_1.running_mean"), so `numpy.load` and PyTorch read them directly.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "retrograd/nn/module.hpp"
#include "retrograd/tensor.hpp"

namespace retrograd::io {

/// The largest `.npy` header load_weights() reads, in bytes (numpy's own default limit). Every
/// other size it reads is checked against the module's tensors before anything is allocated.
inline constexpr std::size_t npy_header_budget = 10000;

/// Thrown for a weights file that cannot be read or written, or whose content is not a valid
/// `.npz` of float arrays. `what()` is "<file>: <entry>: <problem>" ("<file>: <problem>" when no
/// single entry is at fault).
class WeightsFileError : public std::runtime_error {
 public:
  /// An error about `entry` (empty: about the whole file) of the archive `path`.
  WeightsFileError(std::string path, std::string entry, const std::string& problem);
  /// The file.
  const std::string& path() const { return path_; }
  /// The archive entry at fault ("dense_0.W.npy"), or empty.
  const std::string& entry() const { return entry_; }

 private:
  std::string path_;
  std::string entry_;
};

/// A tensor whose shape in the file differs from the module's.
struct ShapeMismatch {
  /// The tensor's name ("dense_0.W").
  std::string name;
  /// Its shape in the file.
  Shape in_file;
  /// Its shape in the module.
  Shape in_module;
};

/// How a file's arrays matched a module's tensors.
struct WeightsReport {
  /// The module's tensors that the file lacks (left unchanged).
  std::vector<std::string> missing;
  /// The file's arrays that the module has no tensor for (ignored), in the archive's order; an
  /// entry that is not a `.npy` is listed under its full name.
  std::vector<std::string> unexpected;
  /// Names in both with different shapes (left unchanged).
  std::vector<ShapeMismatch> mismatched;
  /// True when every tensor of the module was loaded and the file held nothing else.
  bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  /// "missing: a, b; unexpected: c; wrong shape: d is [3, 4] in the file, [2, 4] in the
  /// module", listing only the non-empty groups.
  std::string describe() const;
};

/// Thrown by a strict load_weights() when the file and the module do not match: the report
/// lists every problem at once.
class WeightsMismatchError : public WeightsFileError {
 public:
  /// The mismatches found in `path`.
  WeightsMismatchError(std::string path, WeightsReport report);
  /// Every missing, unexpected and wrongly shaped name.
  const WeightsReport& report() const { return report_; }

 private:
  WeightsReport report_;
};

/// Writes every parameter and buffer of `module` to `path` as an uncompressed `.npz` (what
/// `numpy.savez` writes): entry `<name>.npy` per tensor, float32 little-endian ('<f4'), C order,
/// `.npy` format 1.0, in named_parameters() then named_buffers() order. The save is atomic and
/// durable (write_file_atomically()); two saves of the same weights give identical bytes.
/// Throws FileWriteError when the file cannot be written and std::invalid_argument when two of
/// the module's tensors share a name.
void save_weights(nn::Module& module, const std::string& path);

/// Reads arrays saved by save_weights() or by numpy (`numpy.savez`, `savez_compressed`) into
/// the module's tensors of the same name. Arrays may be '<f4' or '<f8' (converted to float;
/// a value beyond float's range is an error), C order, `.npy` format 1.0, 2.0 or 3.0.
///
/// Strict (the default): the file must hold exactly the module's tensors with their shapes,
/// or WeightsMismatchError lists every missing, unexpected and wrongly shaped name at once.
/// Not strict: the arrays that match are loaded and the report lists the rest.
///
/// Every claimed size (entry size, header length, shape times element size) is checked against
/// the others and against the module's tensors before anything is allocated: whatever a file
/// claims, the loader allocates at most one copy of the module's tensors, npy_header_budget
/// and a 64 KiB buffer, besides libzip's copy of the archive's directory (checked against the
/// file's size). The module is changed only when the load succeeds. Throws WeightsFileError
/// naming the file and the entry for a missing, non-zip, truncated or corrupt file (CRC
/// mismatch, bad `.npy` header, unsupported dtype or Fortran order, duplicate entry names).
WeightsReport load_weights(nn::Module& module, const std::string& path, bool strict = true);

}  // namespace retrograd::io
