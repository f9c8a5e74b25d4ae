// Version 1 of the model file (read only, frozen: nothing writes it since format version 2):
// a fixed layout per layer type, then every tensor by its full name, then the compile
// settings. Its layers and optimizer are turned into the records version 2 stores and built by
// the registries like version 2's.

#include <iterator>

#include "byte_reader.hpp"
#include "model_file.hpp"

namespace retrograd::io::detail {

namespace {

/// The version 1 fields on top of the shared reader.
class Reader : public ByteReader {
 public:
  Reader(const std::vector<std::uint8_t>& bytes, std::size_t begin, std::size_t end,
         const std::string& source)
      : ByteReader(bytes.data(), begin, end, source) {}

  /// A size_t field that must be positive and at most `max`.
  std::size_t size(const char* what, std::uint64_t max) {
    const std::size_t at = offset();
    const std::uint64_t v = u64();
    if (v == 0 || v > max) fail(at, std::string(what) + " is " + std::to_string(v));
    return static_cast<std::size_t>(v);
  }
  /// Reads a named tensor of the v1 layout: str name, u32 rank, u64 dims, f32 values.
  std::pair<std::string, Tensor> tensor() {
    std::string name = str();
    const std::size_t at = offset();
    const std::uint32_t rank = u32();
    if (rank > 8)
      fail(at, "tensor '" + name + "' of rank " + std::to_string(rank) + " (at most 8)");
    Tensor t = tensor_body(name, rank, at);
    return {std::move(name), std::move(t)};
  }
};

/// Layer widths are bounded so that a corrupt size fails here, not in a huge allocation.
constexpr std::uint64_t max_width = std::uint64_t(1) << 28;

/// v1 stored activations and losses as indices into these lists.
const char* const v1_activations[] = {"linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"};
const char* const v1_losses[] = {"mse", "quadratic", "categorical_cross_entropy",
                                 "sparse_categorical_cross_entropy", "binary_cross_entropy"};

void read_v1_activation(Reader& r, nn::Record& config) {
  const std::uint8_t kind = r.u8();
  const double slope = r.f64();
  if (kind >= std::size(v1_activations)) r.fail("unknown activation kind " + std::to_string(kind));
  config.set("activation", std::string(v1_activations[kind]));
  config.set("activation_parameter", kind == 4 ? slope : 0.0);
}

nn::LayerRecord read_v1_layer(Reader& r) {
  nn::LayerRecord layer;
  layer.type = r.str();
  layer.name = r.str();
  nn::Record& c = layer.config;
  if (layer.type == "Dense") {
    // Version 2 takes the widths from W; here they must agree with it (checked later) and fit
    // in the bytes that follow.
    const std::size_t in = r.size("Dense input width", max_width);
    const std::size_t out = r.size("Dense output width", max_width);
    if (in * out > r.remaining() / 4) {
      r.fail("Dense layer '" + layer.name + "' of " + std::to_string(in) + " x " +
             std::to_string(out) + " weights is larger than the file");
    }
    layer.config.set("v1_widths", std::vector<std::uint64_t>{in, out});
    read_v1_activation(r, c);
    c.set("l1", r.f64());
    c.set("l2", r.f64());
  } else if (layer.type == "Activation") {
    read_v1_activation(r, c);
  } else if (layer.type == "Dropout") {
    c.set("rate", r.f64());
  } else if (layer.type == "BatchNorm") {
    r.size("BatchNorm width", max_width);  // version 2 takes it from gamma
    c.set("momentum", r.f64());
    c.set("eps", r.f64());
  } else {
    r.fail("unknown layer type '" + layer.type + "'");
  }
  return layer;
}

/// Puts each "<layer>.<tensor>" of `tensors` into its layer's record under "<tensor>".
void distribute_v1_tensors(Reader& r, std::vector<nn::LayerRecord>& layers, std::uint32_t count) {
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t at = r.offset();
    auto [name, tensor] = r.tensor();
    bool placed = false;
    for (nn::LayerRecord& layer : layers) {
      const std::string prefix = layer.name + ".";
      if (name.compare(0, prefix.size(), prefix) == 0) {
        layer.tensors.set(name.substr(prefix.size()), std::move(tensor));
        placed = true;
        break;
      }
    }
    if (!placed) {
      throw ModelFileError(r.source(), "corrupt: tensor '" + name +
                                           "' belongs to no layer (at byte offset " +
                                           std::to_string(at) + ")");
    }
  }
}

nn::Record read_v1_training(Reader& r) {
  const std::uint8_t kind = r.u8();
  const bool from_logits = r.u8() != 0;
  if (kind >= std::size(v1_losses)) r.fail("unknown loss kind " + std::to_string(kind));
  nn::Record training("training");
  training.set("loss", std::string(v1_losses[kind]));
  training.set("from_logits", std::int64_t{from_logits});
  // v1 added the accuracy metric to every classification loss.
  training.set("accuracy", std::int64_t{kind >= 2});
  nn::Record opt("optimizer");
  opt.set("name", r.str());
  opt.set("learning_rate", r.f64());
  opt.set("clip_norm", r.f64());
  opt.set("iterations", static_cast<std::int64_t>(r.u64() & 0x7fffffffffffffffu));
  nn::Record config("optimizer config");
  const std::uint32_t count = r.u32();
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string key = r.str();
    const double value = r.f64();
    // v1 stored every hyperparameter as an f64; version 2 stores SGD's nesterov as a flag.
    if (key == "nesterov") {
      config.set(key, std::int64_t{value != 0});
    } else {
      config.set(key, value);
    }
  }
  opt.set("config", nn::nested(std::move(config)));
  nn::Record state("optimizer state");
  const std::uint32_t tensors = r.u32();
  for (std::uint32_t i = 0; i < tensors; ++i) {
    auto [name, t] = r.tensor();
    state.set(name, std::move(t));
  }
  opt.set("state", nn::nested(std::move(state)));
  training.set("optimizer", nn::nested(std::move(opt)));
  return training;
}

}  // namespace

nn::Record read_v1_payload(const std::vector<std::uint8_t>& bytes, std::size_t begin,
                           std::size_t end, const std::string& source) {
  Reader r(bytes, begin, end, source);
  nn::LayerRecord root;
  root.type = "Sequential";
  root.name = r.str();
  const std::uint32_t count = r.u32();
  if (count > r.remaining() / 8) r.fail(std::to_string(count) + " layers in a file this small");
  for (std::uint32_t i = 0; i < count; ++i) root.children.push_back(read_v1_layer(r));
  distribute_v1_tensors(r, root.children, r.u32());
  distribute_v1_tensors(r, root.children, r.u32());
  for (nn::LayerRecord& layer : root.children) {
    if (!layer.config.has("v1_widths")) continue;
    const auto& widths = layer.config.integers("v1_widths");
    if (!layer.tensors.has("W") ||
        layer.tensors.tensor("W").shape() != Shape{widths[0], widths[1]}) {
      throw ModelFileError(source, "corrupt: Dense layer '" + layer.name + "' declares " +
                                       std::to_string(widths[0]) + " x " +
                                       std::to_string(widths[1]) +
                                       " weights, its W tensor does not have that shape");
    }
  }
  nn::Record file("model file");
  file.set("model", nn::nested(layer_to_record(root)));
  if (r.u8() != 0) file.set("training", nn::nested(read_v1_training(r)));
  if (!r.at_end()) r.fail("unexpected bytes after the model");
  return file;
}

}  // namespace retrograd::io::detail
