#pragma once
// Internal: the pieces of model files that model_io.cpp and checkpoint.cpp share. A file is
// magic, version, payload size, payload (one Record: "model", "class_names", "training" and,
// in checkpoints, "checkpoint"), CRC-32 (docs/io.md).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "retrograd/io/model_io.hpp"
#include "retrograd/nn/layer_registry.hpp"
#include "retrograd/nn/record.hpp"

namespace retrograd::io::detail {

/// A layer record (and its children) as a Record, and back.
nn::Record layer_to_record(const nn::LayerRecord& layer);
/// Throws RecordError for a malformed record.
nn::LayerRecord record_to_layer(const nn::Record& record);

/// The root record of a model file: the model, its class names and, when compiled, its loss,
/// metric and optimizer.
nn::Record model_record(nn::Module& model);
/// Header, payload and checksum around `root`.
std::vector<std::uint8_t> file_bytes(const nn::Record& root);
/// The root record of a file's bytes (either version), after every header and checksum check.
nn::Record file_record(const std::vector<std::uint8_t>& bytes, const std::string& source);
/// The root record of a version 1 payload, bytes [begin, end) of a checked file, in the
/// layout version 2 stores (model_file_v1.cpp).
nn::Record read_v1_payload(const std::vector<std::uint8_t>& bytes, std::size_t begin,
                           std::size_t end, const std::string& source);
/// Throws ModelFileError unless the first `n` (<= 8) bytes are the magic and n is 8.
void check_magic(const std::uint8_t* bytes, std::size_t n, const std::string& source);
/// The model of a root record, built through the layer registry.
std::unique_ptr<nn::Module> build_model(const nn::Record& root, const std::string& source);
/// Class names and compile settings of a root record into `model`.
void compile_from(nn::Sequential& model, const nn::Record& root, const std::string& source);

/// A model file's bytes: the header is read and checked first, and the size it announces is
/// checked against the file's before the rest is read.
std::vector<std::uint8_t> read_file(const std::string& path);
/// Writes `bytes` to `path` so that a crash never leaves a partial file there.
void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes,
                const SaveOptions& options = {});

}  // namespace retrograd::io::detail
