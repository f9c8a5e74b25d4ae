#pragma once
/// @file model_io.hpp
/// Saving and loading a whole model (architecture, parameters, buffers, class names, loss and
/// optimizer state) in the `.rg` format that docs/io.md describes, and a History as CSV. Every
/// layer is saved and rebuilt through the layer registry (nn/layer_registry.hpp), so a user's
/// registered layer saves and loads like a built-in.

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "retrograd/nn/sequential.hpp"

namespace retrograd::io {

/// Magic bytes that open every model file: "RGMODEL" and a NUL.
inline constexpr char model_magic[8] = {'R', 'G', 'M', 'O', 'D', 'E', 'L', '\0'};
/// Version of the format this library writes; it reads every version up to this one.
inline constexpr std::uint32_t model_format_version = 2;

/// Thrown for a model file that cannot be read or written, or that is truncated, corrupt
/// (checksum mismatch), foreign (bad magic), of a newer format version, or inconsistent.
/// `what()` is "<file>: <problem>", naming the byte offset where that applies.
class ModelFileError : public std::runtime_error {
 public:
  /// An error about `path`.
  ModelFileError(const std::string& path, const std::string& message);
  /// The file.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Options of save_model().
struct SaveOptions {
  /// Called after the uniquely named temporary file next to `path` is complete and flushed,
  /// before it is renamed over `path`; its argument is the temporary file's name. If it throws,
  /// the temporary file is removed, `path` is left as it was and the exception propagates
  /// (tests use it to stop a save between write and rename).
  std::function<void(const std::string& tmp_path)> before_rename;
};

/// The model as bytes of the `.rg` format (version 2): every layer's record (type, name,
/// version, settings, tensors), the class names of a Sequential, and when it is compiled the
/// loss, the metric and the optimizer with its hyperparameters, step count and state. Throws
/// std::invalid_argument naming the layer when a layer's class is not registered.
std::vector<std::uint8_t> serialize_model(nn::Module& model);

/// Rebuilds a Sequential from bytes of the `.rg` format (version 1 or 2), compiled when it was
/// saved compiled. `source` names the bytes in errors. Throws ModelFileError for bytes that are
/// not a valid model file, naming the byte offset where that applies.
nn::Sequential deserialize_model(const std::vector<std::uint8_t>& bytes,
                                 const std::string& source = "<memory>");
/// Rebuilds any registered model (a Sequential is compiled as in deserialize_model).
std::unique_ptr<nn::Module> deserialize_module(const std::vector<std::uint8_t>& bytes,
                                               const std::string& source = "<memory>");

/// Writes serialize_model(model) to `path` with write_file_atomically() (atomic_file.hpp): a
/// crash, a full disk or a concurrent save never leaves a partial file, and a failed save
/// leaves any previous `path` intact. Throws ModelFileError naming `path` and the reason when
/// it cannot be written.
void save_model(nn::Module& model, const std::string& path, const SaveOptions& options = {});

/// Reads a Sequential saved by save_model(). Predictions of the loaded model are bit-identical
/// to the saved one's. The loader reads the header first and checks the magic and every claimed
/// size against the bytes present before allocating: a file allocates at most a small multiple
/// of its own size. Throws ModelFileError naming the file for a missing, truncated, corrupt,
/// foreign or newer-version file.
nn::Sequential load_model(const std::string& path);
/// Reads any registered model saved by save_model().
std::unique_ptr<nn::Module> load_module(const std::string& path);

/// Writes `history` as CSV: a header `epoch,loss[,accuracy][,val_loss][,val_accuracy]` (only
/// the measured columns) and one row per epoch, epochs numbered from 1, with
/// write_file_atomically(). Throws FileWriteError naming the file when it cannot be written.
void save_history_csv(const nn::History& history, const std::string& path);

}  // namespace retrograd::io
