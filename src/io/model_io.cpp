#include "retrograd/io/model_io.hpp"

#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <map>
#include <sstream>

#include "byte_reader.hpp"
#include "model_file.hpp"
#include "record_codec.hpp"
#include "retrograd/io/atomic_file.hpp"
#include "retrograd/nn/layers.hpp"

namespace retrograd::io {

namespace {

using detail::decode_record;
using detail::encode_record;

// Layout (docs/io.md): magic[8], u32 version, u64 payload size, payload, u32 CRC-32 of all the
// bytes before it.
constexpr std::size_t header_size = 8 + 4 + 8;
constexpr std::size_t trailer_size = 4;
// A file whose size the system does not tell (a pipe) may announce at most this much.
constexpr std::uint64_t max_unsized_payload = std::uint64_t(1) << 30;

std::string hex32(std::uint32_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << std::setw(8) << std::setfill('0') << v;
  return s.str();
}

std::uint32_t crc32_of(const std::uint8_t* data, std::size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large buffers in pieces.
  while (size > 0) {
    const uInt piece = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
    crc = crc32(crc, data, piece);
    data += piece;
    size -= piece;
  }
  return static_cast<std::uint32_t>(crc);
}

}  // namespace

ModelFileError::ModelFileError(const std::string& path, const std::string& message)
    : std::runtime_error(path + ": " + message), path_(path) {}

namespace detail {

nn::Record layer_to_record(const nn::LayerRecord& layer) {
  nn::Record r("layer '" + layer.name + "'");
  r.set("type", layer.type);
  r.set("name", layer.name);
  r.set("version", layer.version);
  r.set("config", nn::nested(layer.config));
  r.set("tensors", nn::nested(layer.tensors));
  std::vector<nn::Record> children;
  for (const nn::LayerRecord& child : layer.children) children.push_back(layer_to_record(child));
  r.set("children", std::move(children));
  return r;
}

nn::LayerRecord record_to_layer(const nn::Record& r) {
  nn::LayerRecord layer;
  layer.type = r.text("type");
  layer.name = r.text("name");
  layer.version = r.integer("version");
  // Contexts keep the offset the decoder gave each record: errors point into the file.
  layer.config = r.record("config");
  layer.config.set_context("layer '" + layer.name + "' (" + layer.type + ") config, " +
                           layer.config.context());
  layer.tensors = r.record("tensors");
  layer.tensors.set_context("layer '" + layer.name + "' (" + layer.type + ") tensors, " +
                            layer.tensors.context());
  for (const nn::Record& child : r.records("children")) {
    layer.children.push_back(record_to_layer(child));
  }
  return layer;
}

nn::Record model_record(nn::Module& model) {
  nn::Record file("model file");
  file.set("model", nn::nested(layer_to_record(nn::layer_record(model))));
  if (auto* seq = dynamic_cast<nn::Sequential*>(&model)) {
    std::vector<nn::Record> names;
    for (const std::string& name : seq->class_names()) names.emplace_back().set("name", name);
    file.set("class_names", std::move(names));
    if (seq->compiled()) {
      nn::Record training("training");
      training.set("loss", seq->loss().base_name());
      training.set("from_logits", std::int64_t{seq->loss().from_logits()});
      training.set("accuracy", std::int64_t{seq->measures_accuracy()});
      training.set("optimizer", nn::nested(nn::optimizer_record(seq->optimizer())));
      file.set("training", nn::nested(std::move(training)));
    }
  }
  return file;
}

std::vector<std::uint8_t> file_bytes(const nn::Record& root) {
  std::vector<std::uint8_t> bytes(std::begin(model_magic), std::end(model_magic));
  for (int i = 0; i < 4; ++i)
    bytes.push_back(static_cast<std::uint8_t>(model_format_version >> (8 * i)));
  bytes.resize(header_size);  // the payload size, patched below
  encode_record(root, bytes);
  const std::uint64_t payload = bytes.size() - header_size;
  for (int i = 0; i < 8; ++i) bytes[12 + i] = static_cast<std::uint8_t>(payload >> (8 * i));
  const std::uint32_t crc = crc32_of(bytes.data(), bytes.size());
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
  return bytes;
}

nn::Record file_record(const std::vector<std::uint8_t>& bytes, const std::string& source) {
  const std::size_t n = bytes.size();
  if (n == 0) throw ModelFileError(source, "truncated: the file is empty");
  check_magic(bytes.data(), std::min<std::size_t>(n, 8), source);
  if (n < header_size + trailer_size) {
    throw ModelFileError(source, "truncated: " + std::to_string(n) +
                                     " bytes, shorter than the 20-byte header and the checksum");
  }
  detail::ByteReader header(bytes.data(), 8, header_size, source);
  const std::uint32_t version = header.u32();
  if (version > model_format_version) {
    throw ModelFileError(source, "format version " + std::to_string(version) +
                                     " is newer than this library reads (up to " +
                                     std::to_string(model_format_version) +
                                     "); upgrade retrograd to load it");
  }
  if (version == 0) throw ModelFileError(source, "corrupt: format version 0 at byte offset 8");
  const std::uint64_t payload = header.u64();
  const std::uint64_t expected = header_size + payload + trailer_size;
  if (payload > n || expected > n) {
    throw ModelFileError(source, "truncated: the header announces " + std::to_string(expected) +
                                     " bytes, the file has " + std::to_string(n));
  }
  if (expected < n) {
    throw ModelFileError(source, "corrupt: " + std::to_string(n - expected) +
                                     " unexpected bytes after the checksum at byte offset " +
                                     std::to_string(expected - trailer_size));
  }
  const std::size_t end = static_cast<std::size_t>(header_size + payload);
  detail::ByteReader trailer(bytes.data(), end, n, source);
  const std::uint32_t stored = trailer.u32();
  const std::uint32_t computed = crc32_of(bytes.data(), end);
  if (stored != computed) {
    throw ModelFileError(source, "corrupt: checksum mismatch (stored " + hex32(stored) +
                                     ", computed " + hex32(computed) + ")");
  }
  if (version == 1) return read_v1_payload(bytes, header_size, end, source);
  std::size_t pos = header_size;
  nn::Record root = decode_record(bytes.data(), pos, end, source);
  if (pos != end) {
    throw ModelFileError(
        source, "corrupt: unexpected bytes after the model at byte offset " + std::to_string(pos));
  }
  return root;
}

void check_magic(const std::uint8_t* bytes, std::size_t n, const std::string& source) {
  if (std::memcmp(bytes, model_magic, n) == 0 && n == 8) return;
  std::ostringstream got;
  for (std::size_t i = 0; i < n; ++i) {
    got << std::hex << std::setw(2) << std::setfill('0') << int(bytes[i]);
  }
  if (n < 8 && std::memcmp(bytes, model_magic, n) == 0) {
    throw ModelFileError(source, "truncated: " + std::to_string(n) + " bytes, inside the magic");
  }
  throw ModelFileError(source, "not a retrograd model file (bad magic: starts with bytes " +
                                   got.str() + ", expected \"RGMODEL\\0\")");
}

std::unique_ptr<nn::Module> build_model(const nn::Record& root, const std::string& source) {
  try {
    return nn::build_layer(record_to_layer(root.record("model")));
  } catch (const ModelFileError&) {
    throw;
  } catch (const nn::RecordError& e) {
    throw ModelFileError(source, std::string("corrupt: ") + e.what());
  } catch (const std::invalid_argument& e) {
    // A layer type this program has not registered: the file is fine, the loader lacks it.
    throw ModelFileError(source, std::string(e.what()) +
                                     "; the program that loads it must register that layer "
                                     "(RETROGRAD_REGISTER_LAYER beside its class)");
  }
}

void compile_from(nn::Sequential& model, const nn::Record& root, const std::string& source) {
  try {
    if (root.has("class_names")) {
      std::vector<std::string> names;
      for (const nn::Record& r : root.records("class_names")) names.push_back(r.text("name"));
      model.set_class_names(std::move(names));
    }
    if (!root.has("training")) return;
    const nn::Record& training = root.record("training");
    const nn::Loss loss = nn::Loss::from_name(training.text("loss"), training.flag("from_logits"));
    const nn::Record& opt = training.record("optimizer");
    const std::string& optimizer = opt.text("name");
    if (!nn::optimizer_registry().contains(optimizer)) {
      // As for a layer: the file is fine, the loader lacks the class.
      throw ModelFileError(source, "unknown optimizer '" + optimizer +
                                       "' (registered: " + nn::optimizer_registry().joined_names() +
                                       "); the program that loads it must register that "
                                       "optimizer (RETROGRAD_REGISTER_OPTIMIZER beside its class)");
    }
    model.compile(loss, nn::build_optimizer(opt),
                  training.flag("accuracy") ? std::vector<std::string>{"accuracy"}
                                            : std::vector<std::string>{});
    nn::restore_optimizer_state(model.optimizer(), opt);
  } catch (const std::invalid_argument& e) {
    throw ModelFileError(source, std::string("corrupt: ") + e.what());
  }
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ModelFileError(path, "is a directory, not a model file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelFileError(path, std::string("cannot open: ") + std::strerror(errno));
  // The header first: a foreign file (even /dev/zero) is refused after 20 bytes, and the size
  // it announces is checked against the file before the rest is read.
  std::vector<std::uint8_t> bytes(header_size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(header_size));
  const std::size_t got = static_cast<std::size_t>(in.gcount());
  if (got == 0) throw ModelFileError(path, "truncated: the file is empty");
  check_magic(bytes.data(), std::min<std::size_t>(got, 8), path);
  if (got < header_size) {
    throw ModelFileError(path, "truncated: " + std::to_string(got) +
                                   " bytes, shorter than the 20-byte header and the checksum");
  }
  std::uint64_t payload = 0;
  for (int i = 0; i < 8; ++i) payload |= static_cast<std::uint64_t>(bytes[12 + i]) << (8 * i);
  const auto file_size = std::filesystem::file_size(path, ec);
  const std::uint64_t available = ec ? 0 : static_cast<std::uint64_t>(file_size);
  if (!ec && (payload > available || header_size + payload + trailer_size > available)) {
    throw ModelFileError(path, "truncated: the header announces " +
                                   std::to_string(header_size + payload + trailer_size) +
                                   " bytes, the file has " + std::to_string(available));
  }
  if (ec && payload > max_unsized_payload) {
    throw ModelFileError(path, "the header announces a payload of " + std::to_string(payload) +
                                   " bytes, more than the " + std::to_string(max_unsized_payload) +
                                   " read from a file of unknown size");
  }
  // Read what the header announces, plus one byte to notice a longer file.
  const std::size_t rest = static_cast<std::size_t>(payload + trailer_size + 1);
  bytes.resize(header_size + rest);
  in.read(reinterpret_cast<char*>(bytes.data() + header_size), static_cast<std::streamsize>(rest));
  bytes.resize(header_size + static_cast<std::size_t>(in.gcount()));
  if (in.bad()) throw ModelFileError(path, "read failed");
  if (bytes.size() == header_size + rest && !ec) {
    // Longer than announced: report the real size.
    bytes.resize(header_size + rest - 1);
    throw ModelFileError(path, "corrupt: " + std::to_string(available - (header_size + rest - 1)) +
                                   " unexpected bytes after the checksum at byte offset " +
                                   std::to_string(header_size + payload));
  }
  return bytes;
}

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes,
                const SaveOptions& options) {
  try {
    write_file_atomically(path, bytes, {options.before_rename});
  } catch (const FileWriteError& e) {
    throw ModelFileError(e.path(), e.reason());
  }
}

}  // namespace detail

std::vector<std::uint8_t> serialize_model(nn::Module& model) {
  return detail::file_bytes(detail::model_record(model));
}

nn::Sequential deserialize_model(const std::vector<std::uint8_t>& bytes,
                                 const std::string& source) {
  const nn::Record root = detail::file_record(bytes, source);
  std::unique_ptr<nn::Module> module = detail::build_model(root, source);
  auto* seq = dynamic_cast<nn::Sequential*>(module.get());
  if (!seq) {
    throw ModelFileError(source, "holds a model of type " + module->type() +
                                     ", not a Sequential (load it with load_module)");
  }
  nn::Sequential model = std::move(*seq);
  detail::compile_from(model, root, source);
  return model;
}

std::unique_ptr<nn::Module> deserialize_module(const std::vector<std::uint8_t>& bytes,
                                               const std::string& source) {
  const nn::Record root = detail::file_record(bytes, source);
  std::unique_ptr<nn::Module> module = detail::build_model(root, source);
  if (auto* seq = dynamic_cast<nn::Sequential*>(module.get())) {
    detail::compile_from(*seq, root, source);
  }
  return module;
}

void save_model(nn::Module& model, const std::string& path, const SaveOptions& options) {
  detail::write_file(path, serialize_model(model), options);
}

nn::Sequential load_model(const std::string& path) {
  return deserialize_model(detail::read_file(path), path);
}

std::unique_ptr<nn::Module> load_module(const std::string& path) {
  return deserialize_module(detail::read_file(path), path);
}

void save_history_csv(const nn::History& history, const std::string& path) {
  const std::vector<std::pair<const char*, const std::vector<double>*>> columns = {
      {"loss", &history.loss},
      {"accuracy", &history.accuracy},
      {"val_loss", &history.val_loss},
      {"val_accuracy", &history.val_accuracy}};
  std::ostringstream out;
  out << "epoch";
  for (const auto& [name, values] : columns) {
    if (!values->empty()) out << ',' << name;
  }
  out << '\n' << std::setprecision(9);
  for (std::size_t e = 0; e < history.epochs(); ++e) {
    out << e + 1;
    for (const auto& [name, values] : columns) {
      if (values->empty()) continue;
      out << ',';
      if (e < values->size()) out << (*values)[e];
    }
    out << '\n';
  }
  const std::string text = out.str();
  write_file_atomically(path, text.data(), text.size());
}

}  // namespace retrograd::io
