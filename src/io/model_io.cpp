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

#include "retrograd/io/atomic_file.hpp"
#include "retrograd/nn/activation.hpp"
#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/regularization.hpp"

namespace retrograd::io {

namespace {

// Layout (docs/io.md): magic[8], u32 version, u64 payload size, payload, u32 CRC-32 of all the
// bytes before it.
constexpr std::size_t header_size = 8 + 4 + 8;
constexpr std::size_t trailer_size = 4;

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

/// Appends little-endian values whatever the host's byte order.
class Writer {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void f32(float v) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    u32(bits);
  }
  void f64(double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  void str(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void tensor(const std::string& name, const Tensor& t) {
    str(name);
    u32(static_cast<std::uint32_t>(t.dimension()));
    for (std::size_t d : t.shape()) u64(d);
    bytes_.reserve(bytes_.size() + 4 * t.size());
    const float* p = t.data();
    for (std::size_t i = 0; i < t.size(); ++i) f32(p[i]);
  }
  std::vector<std::uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

/// Reads little-endian values, throwing ModelFileError with the offset on any overrun.
class Reader {
 public:
  Reader(const std::vector<std::uint8_t>& bytes, std::size_t begin, std::size_t end,
         const std::string& source)
      : bytes_(bytes), pos_(begin), end_(end), source_(source) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw ModelFileError(source_,
                         "corrupt: " + what + " (at byte offset " + std::to_string(pos_) + ")");
  }
  bool at_end() const { return pos_ == end_; }
  std::size_t remaining() const { return end_ - pos_; }

  std::uint8_t u8() { return take(1)[0]; }
  std::uint32_t u32() {
    const std::uint8_t* p = take(4);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
    return v;
  }
  std::uint64_t u64() {
    const std::uint8_t* p = take(8);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    return v;
  }
  float f32() {
    const std::uint32_t bits = u32();
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
  double f64() {
    const std::uint64_t bits = u64();
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  std::string str() {
    const std::uint32_t n = u32();
    const std::uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  /// A size_t field that must be positive and at most `max`.
  std::size_t size(const char* what, std::uint64_t max) {
    const std::size_t at = pos_;
    const std::uint64_t v = u64();
    if (v == 0 || v > max) {
      pos_ = at;
      fail(std::string(what) + " is " + std::to_string(v));
    }
    return static_cast<std::size_t>(v);
  }
  /// Reads a tensor record; its name and shape must be `name` and `shape`.
  void tensor_into(const std::string& name, Tensor& t) {
    const std::size_t at = pos_;
    const std::string got = str();
    if (got != name) {
      pos_ = at;
      fail("expected tensor '" + name + "', found '" + got + "'");
    }
    const std::uint32_t rank = u32();
    Shape shape(rank);
    for (auto& d : shape) d = static_cast<std::size_t>(u64());
    if (shape != t.shape()) {
      pos_ = at;
      fail("tensor '" + name + "' has shape " + shape_string(shape) + ", the model needs " +
           shape_string(t.shape()));
    }
    const std::uint8_t* p = take(4 * t.size());
    float* out = t.data();
    for (std::size_t i = 0; i < t.size(); ++i) {
      std::uint32_t bits = 0;
      for (int k = 0; k < 4; ++k) bits |= static_cast<std::uint32_t>(p[4 * i + k]) << (8 * k);
      std::memcpy(out + i, &bits, 4);
    }
  }

 private:
  static std::string shape_string(const Shape& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
  }
  const std::uint8_t* take(std::uint64_t n) {
    if (n > end_ - pos_) {
      fail("a field of " + std::to_string(n) + " bytes runs past the end of the payload at " +
           std::to_string(end_));
    }
    const std::uint8_t* p = bytes_.data() + pos_;
    pos_ += static_cast<std::size_t>(n);
    return p;
  }

  const std::vector<std::uint8_t>& bytes_;
  std::size_t pos_;
  std::size_t end_;
  const std::string& source_;
};

void write_activation(Writer& w, const nn::Activation& a) {
  w.u8(static_cast<std::uint8_t>(a.kind()));
  w.f64(a.negative_slope());
}

nn::Activation read_activation(Reader& r) {
  using Kind = nn::Activation::Kind;
  const std::uint8_t kind = r.u8();
  const double slope = r.f64();
  switch (static_cast<Kind>(kind)) {
    case Kind::linear:
      return nn::Activation::linear();
    case Kind::sigmoid:
      return nn::Activation::sigmoid();
    case Kind::tanh:
      return nn::Activation::tanh();
    case Kind::relu:
      return nn::Activation::relu();
    case Kind::leaky_relu:
      return nn::Activation::leaky_relu(slope);
    case Kind::softmax:
      return nn::Activation::softmax();
  }
  r.fail("unknown activation kind " + std::to_string(kind));
}

void write_layer(Writer& w, nn::Module& layer) {
  w.str(layer.type());
  w.str(layer.name());
  if (auto* d = dynamic_cast<nn::Dense*>(&layer)) {
    w.u64(d->in_features());
    w.u64(d->out_features());
    write_activation(w, d->activation());
    w.f64(d->regularizer().l1);
    w.f64(d->regularizer().l2);
  } else if (auto* a = dynamic_cast<nn::ActivationLayer*>(&layer)) {
    write_activation(w, a->activation());
  } else if (auto* dr = dynamic_cast<nn::Dropout*>(&layer)) {
    w.f64(dr->rate());
  } else if (auto* bn = dynamic_cast<nn::BatchNorm*>(&layer)) {
    w.u64(bn->features());
    w.f64(bn->momentum());
    w.f64(bn->eps());
  } else {
    throw std::invalid_argument("save_model: layer '" + layer.name() + "' of type " + layer.type() +
                                " cannot be saved (the format knows Dense, "
                                "Activation, Dropout and BatchNorm)");
  }
}

// Layer widths are bounded so that a corrupt size fails here, not in a huge allocation.
constexpr std::uint64_t max_width = std::uint64_t(1) << 28;

/// The layer of a record whose type and name were read; reads its configuration.
std::unique_ptr<nn::Module> make_layer(Reader& r, const std::string& type,
                                       const std::string& name) {
  if (type == "Dense") {
    const std::size_t in = r.size("Dense input width", max_width);
    const std::size_t out = r.size("Dense output width", max_width);
    const nn::Activation act = read_activation(r);
    nn::Regularizer reg;
    reg.l1 = r.f64();
    reg.l2 = r.f64();
    // The weights follow in this file: sizes they cannot fit are corrupt, not an allocation.
    if (in * out > r.remaining() / 4) {
      r.fail("Dense layer '" + name + "' of " + std::to_string(in) + " x " + std::to_string(out) +
             " weights is larger than the file");
    }
    // Zeros from a private engine: loading draws nothing from default_engine().
    auto dense = std::make_unique<nn::Dense>(in, out, act, nn::Initializer::zeros(), 0);
    if (reg.active()) dense->set_regularizer(reg);
    return dense;
  }
  if (type == "Activation") return std::make_unique<nn::ActivationLayer>(read_activation(r));
  if (type == "Dropout") return std::make_unique<nn::Dropout>(r.f64());
  if (type == "BatchNorm") {
    const std::size_t features = r.size("BatchNorm width", max_width);
    const double momentum = r.f64();
    const double eps = r.f64();
    return std::make_unique<nn::BatchNorm>(features, momentum, eps);
  }
  r.fail("unknown layer type '" + type + "'");
}

/// Reads one layer record and appends the layer to `model` under its saved name.
void read_layer(Reader& r, nn::Sequential& model) {
  const std::string type = r.str();
  const std::string name = r.str();
  std::unique_ptr<nn::Module> layer;
  try {
    layer = make_layer(r, type, name);
  } catch (const std::invalid_argument& e) {
    // The constructors check ranges (a rate in [0, 1), eps > 0...): out of range is corrupt.
    r.fail(std::string("invalid settings of layer '") + name + "': " + e.what());
  }
  model.add(std::move(layer));
  // After add(): a saved name equal to the default must not be renamed "<name>_<position>".
  model.layer(model.size() - 1).set_name(name);
}

/// Hyperparameters of the optimizers the format knows, as (name, value) pairs.
std::vector<std::pair<std::string, double>> hyperparameters(nn::Optimizer& opt) {
  if (auto* s = dynamic_cast<nn::SGD*>(&opt)) {
    return {{"momentum", s->momentum()},
            {"nesterov", s->nesterov() ? 1.0 : 0.0},
            {"weight_decay", s->weight_decay()}};
  }
  if (auto* a = dynamic_cast<nn::Adam*>(&opt)) {
    return {{"beta1", a->beta1()},
            {"beta2", a->beta2()},
            {"eps", a->eps()},
            {"weight_decay", a->weight_decay()}};
  }
  if (auto* g = dynamic_cast<nn::Adagrad*>(&opt)) {
    return {{"eps", g->eps()},
            {"initial_accumulator", g->initial_accumulator()},
            {"weight_decay", g->weight_decay()}};
  }
  if (auto* p = dynamic_cast<nn::RMSProp*>(&opt)) {
    return {{"rho", p->rho()},
            {"eps", p->eps()},
            {"momentum", p->momentum()},
            {"weight_decay", p->weight_decay()}};
  }
  throw std::invalid_argument("save_model: optimizer " + opt.name() +
                              " cannot be saved (the format knows SGD, Adam, AdamW, Adagrad "
                              "and RMSProp)");
}

std::unique_ptr<nn::Optimizer> make_optimizer(Reader& r, const std::string& name, double lr,
                                              const std::map<std::string, double>& h) {
  auto get = [&](const char* key) {
    const auto it = h.find(key);
    if (it == h.end()) r.fail("optimizer " + name + " lacks hyperparameter '" + key + "'");
    return it->second;
  };
  try {
    if (name == "SGD") {
      return std::make_unique<nn::SGD>(lr, get("momentum"), get("nesterov") != 0,
                                       get("weight_decay"));
    }
    if (name == "Adam") {
      return std::make_unique<nn::Adam>(lr, get("beta1"), get("beta2"), get("eps"),
                                        get("weight_decay"));
    }
    if (name == "AdamW") {
      return std::make_unique<nn::AdamW>(lr, get("beta1"), get("beta2"), get("eps"),
                                         get("weight_decay"));
    }
    if (name == "Adagrad") {
      return std::make_unique<nn::Adagrad>(lr, get("eps"), get("initial_accumulator"),
                                           get("weight_decay"));
    }
    if (name == "RMSProp") {
      return std::make_unique<nn::RMSProp>(lr, get("rho"), get("eps"), get("momentum"),
                                           get("weight_decay"));
    }
  } catch (const std::invalid_argument& e) {
    r.fail(std::string("invalid optimizer settings: ") + e.what());
  }
  r.fail("unknown optimizer '" + name + "'");
}

bool classification(const nn::Loss& loss) {
  return loss.kind() != nn::Loss::Kind::mse && loss.kind() != nn::Loss::Kind::quadratic;
}

}  // namespace

ModelFileError::ModelFileError(const std::string& path, const std::string& message)
    : std::runtime_error(path + ": " + message), path_(path) {}

std::vector<std::uint8_t> serialize_model(nn::Sequential& model) {
  Writer w;
  w.bytes().insert(w.bytes().end(), std::begin(model_magic), std::end(model_magic));
  w.u32(model_format_version);
  w.u64(0);  // payload size, patched below

  w.str(model.name());
  w.u32(static_cast<std::uint32_t>(model.size()));
  for (std::size_t i = 0; i < model.size(); ++i) write_layer(w, model.layer(i));
  const auto params = model.named_parameters();
  w.u32(static_cast<std::uint32_t>(params.size()));
  for (const auto& p : params) w.tensor(p.name, p.var.value());
  const auto buffers = model.named_buffers();
  w.u32(static_cast<std::uint32_t>(buffers.size()));
  for (const auto& b : buffers) w.tensor(b.name, *b.tensor);

  w.u8(model.compiled() ? 1 : 0);
  if (model.compiled()) {
    w.u8(static_cast<std::uint8_t>(model.loss().kind()));
    w.u8(model.loss().from_logits() ? 1 : 0);
    nn::Optimizer& opt = model.optimizer();
    w.str(opt.name());
    w.f64(opt.learning_rate());
    w.f64(opt.clip_norm());
    w.u64(opt.iterations());
    const auto hyper = hyperparameters(opt);
    w.u32(static_cast<std::uint32_t>(hyper.size()));
    for (const auto& [key, value] : hyper) {
      w.str(key);
      w.f64(value);
    }
    const auto state = opt.state();
    w.u32(static_cast<std::uint32_t>(state.size()));
    for (const auto& s : state) w.tensor(s.name, *s.tensor);
  }

  std::vector<std::uint8_t>& bytes = w.bytes();
  const std::uint64_t payload = bytes.size() - header_size;
  for (int i = 0; i < 8; ++i) bytes[12 + i] = static_cast<std::uint8_t>(payload >> (8 * i));
  w.u32(crc32_of(bytes.data(), bytes.size()));
  return std::move(bytes);
}

nn::Sequential deserialize_model(const std::vector<std::uint8_t>& bytes,
                                 const std::string& source) {
  const std::size_t n = bytes.size();
  if (n == 0) throw ModelFileError(source, "truncated: the file is empty");
  const std::size_t magic_seen = std::min<std::size_t>(n, 8);
  if (std::memcmp(bytes.data(), model_magic, magic_seen) != 0) {
    std::ostringstream got;
    for (std::size_t i = 0; i < magic_seen; ++i) {
      got << std::hex << std::setw(2) << std::setfill('0') << int(bytes[i]);
    }
    throw ModelFileError(source, "not a retrograd model file (bad magic: starts with bytes " +
                                     got.str() + ", expected \"RGMODEL\\0\")");
  }
  if (n < header_size + trailer_size) {
    throw ModelFileError(source, "truncated: " + std::to_string(n) +
                                     " bytes, shorter than the 24-byte header and checksum");
  }
  Reader header(bytes, 8, header_size, source);
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
  Reader trailer(bytes, end, n, source);
  const std::uint32_t stored = trailer.u32();
  const std::uint32_t computed = crc32_of(bytes.data(), end);
  if (stored != computed) {
    throw ModelFileError(source, "corrupt: checksum mismatch (stored " + hex32(stored) +
                                     ", computed " + hex32(computed) + ")");
  }

  Reader r(bytes, header_size, end, source);
  nn::Sequential model;
  model.set_name(r.str());
  const std::uint32_t layers = r.u32();
  for (std::uint32_t i = 0; i < layers; ++i) read_layer(r, model);

  auto params = model.named_parameters();
  if (r.u32() != params.size()) r.fail("parameter count does not match the layers");
  for (auto& p : params) r.tensor_into(p.name, p.var.value());
  auto buffers = model.named_buffers();
  if (r.u32() != buffers.size()) r.fail("buffer count does not match the layers");
  for (auto& b : buffers) r.tensor_into(b.name, *b.tensor);

  if (r.u8() != 0) {
    const std::uint8_t kind = r.u8();
    const bool from_logits = r.u8() != 0;
    using Kind = nn::Loss::Kind;
    nn::Loss loss = nn::Loss::mse();
    switch (static_cast<Kind>(kind)) {
      case Kind::mse:
        loss = nn::Loss::mse();
        break;
      case Kind::quadratic:
        loss = nn::Loss::quadratic();
        break;
      case Kind::categorical_cross_entropy:
        loss = nn::Loss::categorical_cross_entropy(from_logits);
        break;
      case Kind::sparse_categorical_cross_entropy:
        loss = nn::Loss::sparse_categorical_cross_entropy(from_logits);
        break;
      case Kind::binary_cross_entropy:
        loss = nn::Loss::binary_cross_entropy(from_logits);
        break;
      default:
        r.fail("unknown loss kind " + std::to_string(kind));
    }
    const std::string name = r.str();
    const double lr = r.f64();
    const double clip = r.f64();
    const std::uint64_t iterations = r.u64();
    std::map<std::string, double> hyper;
    const std::uint32_t count = r.u32();
    for (std::uint32_t i = 0; i < count; ++i) {
      std::string key = r.str();
      hyper[key] = r.f64();
    }
    std::unique_ptr<nn::Optimizer> opt = make_optimizer(r, name, lr, hyper);
    try {
      opt->set_clip_norm(clip);
    } catch (const std::invalid_argument& e) {
      r.fail(e.what());
    }
    const bool accuracy = classification(loss);
    model.compile(loss, std::move(opt),
                  accuracy ? std::vector<std::string>{"accuracy"} : std::vector<std::string>{});
    nn::Optimizer& attached = model.optimizer();
    attached.set_iterations(static_cast<std::size_t>(iterations));
    auto state = attached.state();
    if (r.u32() != state.size()) r.fail("optimizer state count does not match the parameters");
    for (auto& s : state) r.tensor_into(s.name, *s.tensor);
  }
  if (!r.at_end()) r.fail("unexpected bytes after the model");
  return model;
}

void save_model(nn::Sequential& model, const std::string& path, const SaveOptions& options) {
  const std::vector<std::uint8_t> bytes = serialize_model(model);
  try {
    write_file_atomically(path, bytes, {options.before_rename});
  } catch (const FileWriteError& e) {
    throw ModelFileError(e.path(), e.reason());
  }
}

nn::Sequential load_model(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ModelFileError(path, "is a directory, not a model file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelFileError(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) throw ModelFileError(path, "read failed");
  return deserialize_model(bytes, path);
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
