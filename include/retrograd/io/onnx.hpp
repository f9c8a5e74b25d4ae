#pragma once
/// @file onnx.hpp
/// Models in and out of ONNX (docs/io.md, "ONNX"): export_onnx() writes a model as an ONNX
/// graph that onnx.checker accepts and OpenCV's dnn runs; import_onnx() reads the same subset
/// of operators, as PyTorch's torch.onnx.export writes them, back into a model that predicts
/// and trains further.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "retrograd/nn/sequential.hpp"

namespace retrograd::io {

/// The oldest and newest operator set versions export_onnx() writes and import_onnx() reads.
inline constexpr std::int64_t onnx_min_opset = 13;
/// See onnx_min_opset.
inline constexpr std::int64_t onnx_max_opset = 17;

/// Thrown for an ONNX file that cannot be read, is not valid protocol buffers, or holds a graph
/// import_onnx() cannot turn into a model. `what()` is "<file>: <problem>", naming the byte
/// offset, the node or the tensor where that applies.
class OnnxFileError : public std::runtime_error {
 public:
  /// An error about `path`.
  OnnxFileError(const std::string& path, const std::string& message);
  /// The file.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Options of export_onnx().
struct OnnxExportOptions {
  /// The operator set version written, onnx_min_opset to onnx_max_opset.
  std::int64_t opset = onnx_max_opset;
};

/// The layer types export_onnx() writes, sorted: "Activation, BatchNorm, Dense, ...".
std::string onnx_exportable_layers();
/// The ONNX operators import_onnx() reads, sorted: "BatchNormalization, Dropout, Gemm, ...".
std::string onnx_importable_ops();

/// The model as the bytes of an ONNX file: one graph input "input" ([N, features], N named
/// "N"), one output "output", the parameters and buffers as initializers under their own names
/// ("dense_0.W"), the model in evaluation mode (Dropout is Identity, BatchNorm uses its running
/// statistics). Throws std::invalid_argument naming a layer that has no ONNX form and listing
/// the layer types that have one, or for an opset outside [onnx_min_opset, onnx_max_opset].
std::vector<std::uint8_t> serialize_onnx(nn::Module& model, const OnnxExportOptions& options = {});

/// Writes serialize_onnx(model) to `path` atomically and durably (write_file_atomically()).
/// Throws as serialize_onnx() and FileWriteError when the file cannot be written.
void export_onnx(nn::Module& model, const std::string& path, const OnnxExportOptions& options = {});

/// Rebuilds a model from the bytes of an ONNX file; `source` names them in errors. The graph
/// must be a chain from one input to one output made of the operators onnx_importable_ops()
/// lists, with its weights as initializers (or Constant nodes): Gemm, or MatMul and Add, become
/// a Dense that takes the activation that follows it; Sub and Mul by constants become a
/// FeatureScaling; BatchNormalization a BatchNorm; Dropout a Dropout; Identity disappears. On
/// [N, channels, height, width] inputs (the Sequential's input_shape() set): Conv becomes a
/// Conv2D (its group attribute the layer's groups), MaxPool a MaxPool2D, AveragePool (padded zeros
/// counted, or after a Pad of zeros) an AvgPool2D, GlobalAveragePool a GlobalAvgPool2D, Flatten a
/// Flatten. Every length and size in the file is checked against the bytes present before anything
/// is allocated. Throws OnnxFileError for malformed bytes (naming the offset), an operator set
/// outside [onnx_min_opset, onnx_max_opset], an operator outside the subset (naming it and
/// listing the subset), a node that reads a value nothing produces, a cycle, a weight whose
/// shape does not fit its node, or a window that does not fit its padded image.
nn::Sequential deserialize_onnx(const std::vector<std::uint8_t>& bytes,
                                const std::string& source = "<memory>");

/// deserialize_onnx() of the file `path`. Throws OnnxFileError also when it cannot be read.
nn::Sequential import_onnx(const std::string& path);

/// As deserialize_onnx(), but a graph that branches and merges (residual connections: Add,
/// Mul and Concat of computed values; a value read by several nodes) becomes a functional
/// nn::Model (nn/model.hpp) instead of being refused; a chain is still a Sequential.
std::unique_ptr<nn::Module> deserialize_onnx_module(const std::vector<std::uint8_t>& bytes,
                                                    const std::string& source = "<memory>");
/// deserialize_onnx_module() of the file `path`.
std::unique_ptr<nn::Module> import_onnx_module(const std::string& path);

}  // namespace retrograd::io
