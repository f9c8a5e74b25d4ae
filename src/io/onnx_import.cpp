// ONNX import in two passes: the bytes become plain structs (every length and size checked
// against the bytes present before anything is allocated), then the graph is checked (opset,
// producers, order) and walked from its input to its output, each node becoming a layer.

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "onnx_proto.hpp"
#include "protobuf.hpp"
#include "retrograd/io/onnx.hpp"
#include "retrograd/nn/layers.hpp"

namespace retrograd::io {

namespace {

namespace pb = detail::onnx;
using detail::ProtoField;
using detail::WireType;

struct TensorValue {
  std::string name;
  std::vector<std::int64_t> dims;
  std::int64_t data_type = 0;
  Tensor floats;                   // data_type float
  std::vector<std::int64_t> ints;  // data_type int64
  std::size_t offset = 0;
};

struct AttributeValue {
  std::string name;
  std::int64_t type = 0;
  float f = 0;
  std::int64_t i = 0;
  std::string s;
  std::vector<std::int64_t> ints;
  std::optional<TensorValue> t;
};

struct NodeValue {
  std::string name, op_type, domain;
  std::vector<std::string> inputs, outputs;
  std::vector<AttributeValue> attributes;
  std::size_t offset = 0;
};

struct ValueInfo {
  std::string name;
  std::vector<std::int64_t> dims;  // -1: named or unknown
  bool has_shape = false;
};

struct GraphValue {
  std::vector<NodeValue> nodes;
  std::vector<TensorValue> initializers;
  std::vector<ValueInfo> inputs, outputs;
};

struct ModelValue {
  std::int64_t opset = 0;
  bool has_default_opset = false;
  std::optional<GraphValue> graph;
};

// The most dimensions a tensor may declare, and the largest one: far beyond any model, small
// enough that products and strides cannot overflow.
constexpr std::size_t max_rank = 8;
constexpr std::int64_t max_dim = std::int64_t(1) << 31;

/// Reads the messages of one file into the structs above.
class Parser {
 public:
  Parser(const std::vector<std::uint8_t>& bytes, const std::string& source)
      : data_(bytes.data()), size_(bytes.size()), source_(source) {}

  ModelValue model() {
    ModelValue m;
    auto r = reader(0, size_);
    ProtoField f;
    while (r.next(f)) {
      if (f.number == pb::model::graph && expect(f, WireType::bytes, "ModelProto.graph")) {
        m.graph = graph(f);
      } else if (f.number == pb::model::opset_import &&
                 expect(f, WireType::bytes, "ModelProto.opset_import")) {
        std::string domain;
        std::int64_t version = 0;
        auto o = reader(f.begin, f.end);
        ProtoField g;
        while (o.next(g)) {
          if (g.number == pb::opset::domain) domain = string(g, "OperatorSetIdProto.domain");
          if (g.number == pb::opset::version) version = integer(g, "OperatorSetIdProto.version");
        }
        if (domain.empty() || domain == "ai.onnx") {
          m.opset = version;
          m.has_default_opset = true;
        }
      }
    }
    return m;
  }

 private:
  struct Fail {
    const std::string* source;
    [[noreturn]] void operator()(std::size_t offset, const std::string& what) const {
      throw OnnxFileError(*source, "not a valid ONNX file: " + what + " (at byte offset " +
                                       std::to_string(offset) + ")");
    }
  };
  using Reader = detail::ProtoReader<Fail>;
  Reader reader(std::size_t begin, std::size_t end) const {
    return Reader(data_, begin, end, Fail{&source_});
  }
  [[noreturn]] void fail(std::size_t offset, const std::string& what) const {
    Fail{&source_}(offset, what);
  }
  bool expect(const ProtoField& f, WireType type, const char* what) const {
    if (f.type != type) fail(f.offset, std::string(what) + " has the wrong wire type");
    return true;
  }
  std::string string(const ProtoField& f, const char* what) const {
    expect(f, WireType::bytes, what);
    return std::string(reinterpret_cast<const char*>(data_ + f.begin), f.size());
  }
  std::int64_t integer(const ProtoField& f, const char* what) const {
    expect(f, WireType::varint, what);
    return static_cast<std::int64_t>(f.value);
  }
  // A repeated int64: one varint, or a packed run of them.
  void integers(const ProtoField& f, std::vector<std::int64_t>& out, const char* what) const {
    if (f.type == WireType::varint) {
      out.push_back(static_cast<std::int64_t>(f.value));
      return;
    }
    expect(f, WireType::bytes, what);
    for (std::size_t pos = f.begin; pos < f.end;) {
      out.push_back(
          static_cast<std::int64_t>(Reader::varint_at(data_, pos, f.end, Fail{&source_})));
    }
  }
  float bits_to_float(std::uint32_t bits) const {
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
  std::uint32_t le32(std::size_t at) const {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v |= static_cast<std::uint32_t>(data_[at + k]) << (8 * k);
    return v;
  }

  TensorValue tensor(const ProtoField& outer) {
    TensorValue t;
    t.offset = outer.offset;
    std::optional<ProtoField> raw;
    std::vector<ProtoField> packed_floats;
    std::vector<float> loose_floats;
    auto r = reader(outer.begin, outer.end);
    ProtoField f;
    while (r.next(f)) {
      switch (f.number) {
        case pb::tensor::dims:
          integers(f, t.dims, "TensorProto.dims");
          if (t.dims.size() > max_rank) fail(f.offset, "tensor has more than 8 dimensions");
          break;
        case pb::tensor::data_type:
          t.data_type = integer(f, "TensorProto.data_type");
          break;
        case pb::tensor::name:
          t.name = string(f, "TensorProto.name");
          break;
        case pb::tensor::raw_data:
          expect(f, WireType::bytes, "TensorProto.raw_data");
          raw = f;
          break;
        case pb::tensor::float_data:
          if (f.type == WireType::fixed32) {
            loose_floats.push_back(bits_to_float(static_cast<std::uint32_t>(f.value)));
          } else {
            expect(f, WireType::bytes, "TensorProto.float_data");
            if (f.size() % 4)
              fail(f.offset, "packed float_data of " + std::to_string(f.size()) + " bytes");
            packed_floats.push_back(f);
          }
          break;
        case pb::tensor::int64_data:
          integers(f, t.ints, "TensorProto.int64_data");
          break;
        case pb::tensor::data_location:
          if (integer(f, "TensorProto.data_location") == 0) break;  // DEFAULT: in this file
          [[fallthrough]];
        case pb::tensor::external_data:
          fail(f.offset, "tensor '" + t.name +
                             "' keeps its data in an external file, which import does not read");
        default:
          break;
      }
    }
    const std::string what = "tensor '" + t.name + "'";
    std::uint64_t count = 1;
    for (std::int64_t d : t.dims) {
      if (d < 0 || d > max_dim) fail(t.offset, what + " has dimension " + std::to_string(d));
      // Checked before multiplying: the product of corrupt dimensions may overflow.
      if (d != 0 && count > (std::uint64_t(1) << 62) / static_cast<std::uint64_t>(d)) {
        fail(t.offset, what + " declares too many values");
      }
      count *= static_cast<std::uint64_t>(d);
    }
    if (t.data_type == pb::tensor::type_float) {
      std::uint64_t held = loose_floats.size();
      for (const ProtoField& p : packed_floats) held += p.size() / 4;
      if (raw) held += raw->size() / 4;
      if (raw && (raw->size() % 4 || !loose_floats.empty() || !packed_floats.empty())) {
        fail(t.offset, what + ": raw_data of " + std::to_string(raw->size()) +
                           " bytes does not hold float32 values");
      }
      if (held != count) {
        fail(t.offset, what + " declares " + std::to_string(count) + " values (shape " +
                           dims_string(t.dims) + ") but holds " + std::to_string(held));
      }
      // Now the size is backed by bytes of the file.
      Shape shape(t.dims.begin(), t.dims.end());
      t.floats = Tensor::from_shape(shape);
      float* out = t.floats.data();
      if (raw) {
        for (std::size_t i = 0; i < count; ++i) out[i] = bits_to_float(le32(raw->begin + 4 * i));
      } else {
        out = std::copy(loose_floats.begin(), loose_floats.end(), out);
        for (const ProtoField& p : packed_floats) {
          for (std::size_t at = p.begin; at < p.end; at += 4) *out++ = bits_to_float(le32(at));
        }
      }
    } else if (t.data_type == pb::tensor::type_int64) {
      if (raw) {
        if (raw->size() % 8 || !t.ints.empty())
          fail(t.offset, what + ": raw_data does not hold int64 values");
        for (std::size_t at = raw->begin; at < raw->end; at += 8) {
          t.ints.push_back(
              static_cast<std::int64_t>(le32(at) | (std::uint64_t(le32(at + 4)) << 32)));
        }
      }
      if (t.ints.size() != count) {
        fail(t.offset, what + " declares " + std::to_string(count) + " values (shape " +
                           dims_string(t.dims) + ") but holds " + std::to_string(t.ints.size()));
      }
    } else {
      fail(t.offset, what + " has data type " + std::to_string(t.data_type) +
                         "; import reads float32 (1) and int64 (7) tensors");
    }
    return t;
  }

  AttributeValue attribute(const ProtoField& outer) {
    AttributeValue a;
    auto r = reader(outer.begin, outer.end);
    ProtoField f;
    while (r.next(f)) {
      switch (f.number) {
        case pb::attribute::name:
          a.name = string(f, "AttributeProto.name");
          break;
        case pb::attribute::type:
          a.type = integer(f, "AttributeProto.type");
          break;
        case pb::attribute::f:
          expect(f, WireType::fixed32, "AttributeProto.f");
          a.f = bits_to_float(static_cast<std::uint32_t>(f.value));
          break;
        case pb::attribute::i:
          a.i = integer(f, "AttributeProto.i");
          break;
        case pb::attribute::s:
          a.s = string(f, "AttributeProto.s");
          break;
        case pb::attribute::ints:
          integers(f, a.ints, "AttributeProto.ints");
          break;
        case pb::attribute::t:
          expect(f, WireType::bytes, "AttributeProto.t");
          a.t = tensor(f);
          break;
        default:
          break;
      }
    }
    return a;
  }

  NodeValue node(const ProtoField& outer) {
    NodeValue n;
    n.offset = outer.offset;
    auto r = reader(outer.begin, outer.end);
    ProtoField f;
    while (r.next(f)) {
      switch (f.number) {
        case pb::node::input:
          n.inputs.push_back(string(f, "NodeProto.input"));
          break;
        case pb::node::output:
          n.outputs.push_back(string(f, "NodeProto.output"));
          break;
        case pb::node::name:
          n.name = string(f, "NodeProto.name");
          break;
        case pb::node::op_type:
          n.op_type = string(f, "NodeProto.op_type");
          break;
        case pb::node::domain:
          n.domain = string(f, "NodeProto.domain");
          break;
        case pb::node::attribute:
          expect(f, WireType::bytes, "NodeProto.attribute");
          n.attributes.push_back(attribute(f));
          break;
        default:
          break;
      }
    }
    return n;
  }

  ValueInfo value_info(const ProtoField& outer) {
    ValueInfo v;
    auto r = reader(outer.begin, outer.end);
    ProtoField f;
    while (r.next(f)) {
      if (f.number == pb::value_info::name) v.name = string(f, "ValueInfoProto.name");
      if (f.number != pb::value_info::type) continue;
      expect(f, WireType::bytes, "ValueInfoProto.type");
      auto type = reader(f.begin, f.end);
      ProtoField tt;
      while (type.next(tt)) {
        if (tt.number != pb::type::tensor_type) continue;
        expect(tt, WireType::bytes, "TypeProto.tensor_type");
        auto tensor_type = reader(tt.begin, tt.end);
        ProtoField s;
        while (tensor_type.next(s)) {
          if (s.number != pb::type::shape) continue;
          expect(s, WireType::bytes, "TypeProto.Tensor.shape");
          v.has_shape = true;
          auto shape = reader(s.begin, s.end);
          ProtoField d;
          while (shape.next(d)) {
            if (d.number != pb::shape::dim) continue;
            expect(d, WireType::bytes, "TensorShapeProto.dim");
            if (v.dims.size() == max_rank)
              fail(d.offset, "value '" + v.name + "' has more than 8 dimensions");
            std::int64_t value = -1;
            auto dim = reader(d.begin, d.end);
            ProtoField x;
            while (dim.next(x)) {
              if (x.number == pb::shape::dim_value) value = integer(x, "Dimension.dim_value");
            }
            v.dims.push_back(value);
          }
        }
      }
    }
    return v;
  }

  GraphValue graph(const ProtoField& outer) {
    GraphValue g;
    auto r = reader(outer.begin, outer.end);
    ProtoField f;
    while (r.next(f)) {
      switch (f.number) {
        case pb::graph::node:
          expect(f, WireType::bytes, "GraphProto.node");
          g.nodes.push_back(node(f));
          break;
        case pb::graph::initializer:
          expect(f, WireType::bytes, "GraphProto.initializer");
          g.initializers.push_back(tensor(f));
          break;
        case pb::graph::input:
          expect(f, WireType::bytes, "GraphProto.input");
          g.inputs.push_back(value_info(f));
          break;
        case pb::graph::output:
          expect(f, WireType::bytes, "GraphProto.output");
          g.outputs.push_back(value_info(f));
          break;
        default:
          break;
      }
    }
    return g;
  }

 public:
  static std::string dims_string(const std::vector<std::int64_t>& dims) {
    std::string s = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) {
      s += (i ? ", " : "") + (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
    }
    return s + "]";
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  const std::string& source_;
};

/// Turns a parsed graph into a model: checks the graph, translates each node in order into a
/// layer call or a merge (tracking the shape of one sample of every value), then assembles a
/// Sequential for a chain and a functional nn::Model for a graph that branches and merges.
class Builder {
 public:
  Builder(const GraphValue& g, const std::string& source) : g_(g), source_(source) {}

  nn::Sequential build() {
    index_values();
    order_nodes();
    if (const auto why = branching()) {
      fail(*why +
           "; a Sequential is a chain (io::import_onnx_module reads a branching graph as a "
           "functional nn::Model)");
    }
    translate();
    return sequential();
  }

  /// A Sequential for a chain, a functional Model for a graph that branches and merges.
  std::unique_ptr<nn::Module> build_module() {
    index_values();
    order_nodes();
    const bool chain = !branching();
    translate();
    if (chain) return std::make_unique<nn::Sequential>(sequential());
    return model();
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw OnnxFileError(source_, what); }
  std::string describe(std::size_t n) const {
    const NodeValue& node = g_.nodes[n];
    return "node " + (node.name.empty() ? "#" + std::to_string(n) : "'" + node.name + "'") + " (" +
           node.op_type + ")";
  }

  // Initializers, Constant nodes' tensors and the one real input with its sample shape.
  void index_values() {
    for (const TensorValue& t : g_.initializers) {
      if (!constants_.emplace(t.name, &t).second) fail("two initializers named '" + t.name + "'");
    }
    for (std::size_t n = 0; n < g_.nodes.size(); ++n) {
      const NodeValue& node = g_.nodes[n];
      if (node.op_type != "Constant") continue;
      const AttributeValue* value = attribute(n, "value");
      if (!value || !value->t || node.outputs.size() != 1) {
        fail(describe(n) + ": only a Constant with one tensor 'value' is read");
      }
      constants_.emplace(node.outputs[0], &*value->t);
    }
    for (const ValueInfo& v : g_.inputs) {
      if (constants_.count(v.name)) continue;  // older exporters list initializers as inputs
      if (input_) {
        fail("the graph has two inputs, '" + input_->name + "' and '" + v.name +
             "'; import reads models of one input");
      }
      input_ = &v;
    }
    if (!input_) fail("the graph has no input");
    if (g_.outputs.size() != 1) {
      fail("the graph has " + std::to_string(g_.outputs.size()) +
           " outputs; import reads models of one output");
    }
    const auto& dims = input_->dims;
    if (input_->has_shape && dims.size() != 2 && dims.size() != 4) {
      fail("input '" + input_->name + "' has shape " + Parser::dims_string(dims) +
           "; import reads [batch, features] and [batch, channels, height, width] inputs");
    }
    for (std::size_t i = 1; i < dims.size(); ++i) {
      if (dims[i] <= 0) {
        fail("input '" + input_->name + "' has shape " + Parser::dims_string(dims) +
             ": import needs every dimension but the batch's");
      }
      sample_.push_back(static_cast<std::size_t>(dims[i]));
    }
    check_size(sample_, "input '" + input_->name + "'");
  }

  // The values of a sample are bounded: the shapes come from a few bytes of the file, and a
  // model built on them allocates per sample.
  void check_size(const Shape& sample, const std::string& what) const {
    constexpr std::size_t most = std::size_t(1) << 24;
    std::size_t count = 1;
    for (std::size_t d : sample) {
      if (d > most || count * d > most) {
        fail(what + " has samples of shape " + shape_string(sample) + "; import reads samples of " +
             "at most " + std::to_string(most) + " values");
      }
      count *= d;
    }
  }

  // Every value read has one producer; nodes sorted so that each comes after its producers
  // (Kahn's algorithm: what is left over lies on a cycle).
  void order_nodes() {
    std::map<std::string, std::size_t> producer;
    for (std::size_t n = 0; n < g_.nodes.size(); ++n) {
      for (const std::string& out : g_.nodes[n].outputs) {
        if (out.empty()) continue;
        if (out == input_->name || (constants_.count(out) && g_.nodes[n].op_type != "Constant") ||
            !producer.emplace(out, n).second) {
          fail(describe(n) + " writes '" + out + "', which something else already defines");
        }
      }
    }
    std::vector<std::vector<std::size_t>> readers(g_.nodes.size());
    std::vector<std::size_t> waiting(g_.nodes.size(), 0);
    for (std::size_t n = 0; n < g_.nodes.size(); ++n) {
      for (const std::string& in : g_.nodes[n].inputs) {
        if (in.empty() || in == input_->name) continue;
        const auto p = producer.find(in);
        if (p != producer.end()) {
          readers[p->second].push_back(n);
          ++waiting[n];
        } else if (!constants_.count(in)) {
          fail(describe(n) + " reads '" + in +
               "', which no node, input or initializer produces (a dangling input)");
        }
      }
    }
    std::vector<std::size_t> ready;
    for (std::size_t n = 0; n < g_.nodes.size(); ++n) {
      if (waiting[n] == 0) ready.push_back(n);
    }
    // Smallest index first, so that independent nodes keep the file's order.
    std::sort(ready.rbegin(), ready.rend());
    while (!ready.empty()) {
      const std::size_t n = ready.back();
      ready.pop_back();
      order_.push_back(n);
      for (std::size_t r : readers[n]) {
        if (--waiting[r] == 0) ready.push_back(r);
      }
    }
    if (order_.size() != g_.nodes.size()) {
      std::string cycle;
      for (std::size_t n = 0; n < g_.nodes.size(); ++n) {
        if (waiting[n] != 0) cycle += (cycle.empty() ? "" : ", ") + describe(n);
      }
      fail("the graph has a cycle through " + cycle);
    }
  }

  const AttributeValue* attribute(std::size_t n, const std::string& name) const {
    for (const AttributeValue& a : g_.nodes[n].attributes) {
      if (a.name == name) return &a;
    }
    return nullptr;
  }
  std::int64_t int_attribute(std::size_t n, const std::string& name, std::int64_t fallback) const {
    const AttributeValue* a = attribute(n, name);
    return a ? a->i : fallback;
  }
  double float_attribute(std::size_t n, const std::string& name, double fallback) const {
    const AttributeValue* a = attribute(n, name);
    return a ? a->f : fallback;
  }
  std::string string_attribute(std::size_t n, const std::string& name,
                               const std::string& fallback) const {
    const AttributeValue* a = attribute(n, name);
    return a ? a->s : fallback;
  }
  // A pair of (height, width) settings given as `name` (ints of two entries), or `fallback`.
  Size2 pair_attribute(std::size_t n, const std::string& name, std::size_t fallback) const {
    const AttributeValue* a = attribute(n, name);
    if (!a) return fallback;
    if (a->ints.size() != 2 || a->ints[0] < 1 || a->ints[1] < 1 || a->ints[0] > max_dim ||
        a->ints[1] > max_dim) {
      fail(describe(n) + ": its " + name + " is " + Parser::dims_string(a->ints) +
           "; import reads two positive numbers (height, width)");
    }
    return Size2(static_cast<std::size_t>(a->ints[0]), static_cast<std::size_t>(a->ints[1]));
  }
  // ONNX's pads [top, left, bottom, right] as retrograd's padding, the same at both ends.
  Size2 pads_attribute(std::size_t n) const {
    if (const AttributeValue* a = attribute(n, "auto_pad"); a && a->s != "NOTSET") {
      fail(describe(n) + ": auto_pad " + a->s + " is not read; import reads explicit pads");
    }
    const AttributeValue* a = attribute(n, "pads");
    if (!a) return 0;
    const auto& p = a->ints;
    if (p.size() != 4 || p[0] != p[2] || p[1] != p[3] || p[0] < 0 || p[1] < 0 || p[0] > max_dim ||
        p[1] > max_dim) {
      fail(describe(n) + ": pads " + Parser::dims_string(p) +
           "; import reads the same padding at both ends of each axis");
    }
    return Size2(static_cast<std::size_t>(p[0]), static_cast<std::size_t>(p[1]));
  }

  // The constant tensor input `i` of node `n` (an initializer or Constant) of element type
  // `type`.
  const TensorValue& constant(std::size_t n, std::size_t i, const char* role,
                              std::int64_t type = pb::tensor::type_float) const {
    const NodeValue& node = g_.nodes[n];
    if (i >= node.inputs.size() || node.inputs[i].empty()) {
      fail(describe(n) + " lacks its input " + role);
    }
    const auto c = constants_.find(node.inputs[i]);
    if (c == constants_.end()) {
      fail(describe(n) + ": its " + role + " '" + node.inputs[i] +
           "' is computed; import reads it only as an initializer");
    }
    if (c->second->data_type != type) {
      fail(describe(n) + ": its " + role + " '" + node.inputs[i] + "' is not " +
           (type == pb::tensor::type_float ? "float32" : "int64"));
    }
    return *c->second;
  }
  // A vector of `width` values from a tensor of shape [width], [1, width], [1] or [] (the
  // last two broadcast).
  std::vector<float> per_feature(std::size_t n, const TensorValue& t, std::size_t width,
                                 const char* role) const {
    const auto& d = t.dims;
    const bool scalar = t.floats.size() == 1 && (d.size() <= 1 || (d.size() == 2 && d[0] == 1));
    const bool vector = (d.size() == 1 && d[0] == std::int64_t(width)) ||
                        (d.size() == 2 && d[0] == 1 && d[1] == std::int64_t(width));
    if (!scalar && !vector) {
      fail(describe(n) + ": initializer '" + t.name + "' (" + role + ") has shape " +
           Parser::dims_string(d) + "; it needs [" + std::to_string(width) + "]");
    }
    if (scalar) return std::vector<float>(width, t.floats.data()[0]);
    return std::vector<float>(t.floats.begin(), t.floats.end());
  }
  static Tensor to_tensor(const std::vector<float>& v) {
    Tensor t = Tensor::from_shape({v.size()});
    std::copy(v.begin(), v.end(), t.begin());
    return t;
  }

  // W [in, out] and the bias of a Gemm on an input of width `in`.
  std::pair<Tensor, std::optional<Tensor>> gemm_weights(std::size_t n, std::size_t in) const {
    if (int_attribute(n, "transA", 0) != 0) fail(describe(n) + ": transA = 1 is not read");
    const double alpha = float_attribute(n, "alpha", 1), beta = float_attribute(n, "beta", 1);
    const TensorValue& B = constant(n, 1, "B");
    const bool transposed = int_attribute(n, "transB", 0) != 0;
    if (B.dims.size() != 2 || B.dims[transposed ? 1 : 0] != std::int64_t(in)) {
      fail(describe(n) + ": initializer '" + B.name + "' (B) has shape " +
           Parser::dims_string(B.dims) + "; with transB = " + (transposed ? "1" : "0") +
           " and an input of width " + std::to_string(in) + " it needs " +
           (transposed ? "[outputs, " + std::to_string(in) + "]"
                       : "[" + std::to_string(in) + ", outputs]"));
    }
    const std::size_t out = static_cast<std::size_t>(B.dims[transposed ? 0 : 1]);
    if (out == 0) fail(describe(n) + ": initializer '" + B.name + "' has no outputs");
    Tensor W = Tensor::from_shape({in, out});
    for (std::size_t i = 0; i < in; ++i) {
      for (std::size_t j = 0; j < out; ++j) {
        W(i, j) = static_cast<float>(alpha * (transposed ? B.floats(j, i) : B.floats(i, j)));
      }
    }
    std::optional<Tensor> bias;
    if (g_.nodes[n].inputs.size() > 2 && !g_.nodes[n].inputs[2].empty()) {
      const std::vector<float> c = per_feature(n, constant(n, 2, "C"), out, "C");
      bias = to_tensor(c);
      *bias *= static_cast<float>(beta);
    }
    return {std::move(W), std::move(bias)};
  }

  const Tensor& matmul_weights(std::size_t n, std::size_t in) const {
    const TensorValue& B = constant(n, 1, "B");
    if (B.dims.size() != 2 || B.dims[0] != std::int64_t(in) || B.dims[1] == 0) {
      fail(describe(n) + ": initializer '" + B.name + "' (B) has shape " +
           Parser::dims_string(B.dims) + "; for an input of width " + std::to_string(in) +
           " it needs [" + std::to_string(in) + ", outputs]");
    }
    return B.floats;
  }

  // The constant operand of a binary node whose other operand is the computed `current`.
  const TensorValue& other_operand(std::size_t n, const std::string& current, bool commutative) {
    const NodeValue& node = g_.nodes[n];
    if (node.inputs.size() != 2) fail(describe(n) + " needs two inputs");
    if (node.inputs[0] == current) return constant(n, 1, "second input");
    if (commutative && node.inputs[1] == current) return constant(n, 0, "first input");
    fail(describe(n) + ": import reads it with the computed value first and a constant second");
  }

  std::unique_ptr<nn::BatchNorm> make_batch_norm(std::size_t n, std::size_t width) const {
    if (int_attribute(n, "training_mode", 0) != 0)
      fail(describe(n) + ": training_mode = 1 is not read");
    const double eps = float_attribute(n, "epsilon", 1e-5);
    const double momentum = 1 - float_attribute(n, "momentum", 0.9);
    const char* roles[] = {"scale", "B", "input_mean", "input_var"};
    std::vector<std::vector<float>> v;
    for (std::size_t i = 0; i < 4; ++i) {
      const TensorValue& t = constant(n, i + 1, roles[i]);
      if (t.dims.size() != 1 || t.dims[0] != std::int64_t(width)) {
        fail(describe(n) + ": initializer '" + t.name + "' (" + roles[i] + ") has shape " +
             Parser::dims_string(t.dims) + "; it needs [" + std::to_string(width) + "]");
      }
      v.push_back(std::vector<float>(t.floats.begin(), t.floats.end()));
    }
    std::unique_ptr<nn::BatchNorm> bn;
    try {
      bn = std::make_unique<nn::BatchNorm>(width, momentum, eps);
    } catch (const std::invalid_argument& e) {
      fail(describe(n) + ": " + e.what());
    }
    Var gamma = bn->gamma(), beta = bn->beta();
    gamma.value() = to_tensor(v[0]);
    beta.value() = to_tensor(v[1]);
    for (const auto& b : bn->named_buffers())
      *b.tensor = to_tensor(v[b.name == "running_mean" ? 2 : 3]);
    return bn;
  }

  double dropout_rate(std::size_t n) const {
    double rate = 0.5;
    const NodeValue& node = g_.nodes[n];
    if (node.inputs.size() > 1 && !node.inputs[1].empty()) {
      const TensorValue& ratio = constant(n, 1, "ratio");
      if (ratio.floats.size() != 1) fail(describe(n) + ": its ratio is not a single number");
      rate = ratio.floats.data()[0];
    }
    if (!(rate >= 0 && rate < 1))
      fail(describe(n) + ": ratio " + std::to_string(rate) + " is not in [0, 1)");
    return rate;
  }

  // Conv on a [channels, height, width] sample: a Conv2D with its W and b (and its groups).
  std::unique_ptr<nn::Module> conv(std::size_t n, const Shape& in) {
    if (in.size() != 3) {
      fail(describe(n) + ": its input has sample shape " + shape_string(in) +
           "; Conv reads [channels, height, width]");
    }
    const std::int64_t group = int_attribute(n, "group", 1);
    if (group < 1 || in[0] % static_cast<std::uint64_t>(group) != 0) {
      fail(describe(n) + ": group " + std::to_string(group) + " does not divide its input's " +
           std::to_string(in[0]) + " channels");
    }
    const auto groups = static_cast<std::size_t>(group);
    const std::int64_t per_group = static_cast<std::int64_t>(in[0] / groups);
    const TensorValue& W = constant(n, 1, "W");
    if (W.dims.size() != 4 || W.dims[1] != per_group || W.dims[0] == 0 || W.dims[0] % group != 0 ||
        W.dims[2] == 0 || W.dims[3] == 0) {
      fail(describe(n) + ": initializer '" + W.name + "' (W) has shape " +
           Parser::dims_string(W.dims) + "; for " + std::to_string(in[0]) + " input channels" +
           (groups > 1 ? " in " + std::to_string(groups) + " groups" : std::string()) +
           " it needs [outputs" + (groups > 1 ? " (a multiple of the groups)" : "") + ", " +
           std::to_string(per_group) + ", kh, kw]");
    }
    const std::size_t out = static_cast<std::size_t>(W.dims[0]);
    const Size2 kernel(static_cast<std::size_t>(W.dims[2]), static_cast<std::size_t>(W.dims[3]));
    const Size2 declared = pair_attribute(n, "kernel_shape", 0);
    if (attribute(n, "kernel_shape") && (declared.h != kernel.h || declared.w != kernel.w)) {
      fail(describe(n) + ": kernel_shape " + size2_string(declared) + " differs from W's " +
           size2_string(kernel));
    }
    const bool has_bias = g_.nodes[n].inputs.size() > 2 && !g_.nodes[n].inputs[2].empty();
    const nn::Conv2DOptions options{pair_attribute(n, "strides", 1), pads_attribute(n),
                                    pair_attribute(n, "dilations", 1), has_bias, groups};
    fits(n, "conv2d", in, kernel, options.stride, options.padding, options.dilation);
    auto layer = std::make_unique<nn::Conv2D>(in[0], out, kernel, options);
    Var w = layer->weight();
    w.value() = W.floats;
    if (has_bias) {
      Var b = layer->bias();
      b.value() = to_tensor(per_feature(n, constant(n, 2, "B"), out, "B"));
    }
    return layer;
  }

  // MaxPool or AveragePool on a [channels, height, width] sample; `padding` from a Pad
  // before an AveragePool.
  std::unique_ptr<nn::Module> pool(std::size_t n, const Shape& in, std::optional<Size2> padding) {
    const std::string& op = g_.nodes[n].op_type;
    if (in.size() != 3) {
      fail(describe(n) + ": its input has sample shape " + shape_string(in) + "; " + op +
           " reads [channels, height, width]");
    }
    if (!attribute(n, "kernel_shape")) fail(describe(n) + " has no kernel_shape");
    const Size2 kernel = pair_attribute(n, "kernel_shape", 1);
    const Size2 stride = pair_attribute(n, "strides", 1);
    const Size2 dilation = pair_attribute(n, "dilations", 1);
    if (dilation.h != 1 || dilation.w != 1) fail(describe(n) + ": dilations are not read");
    if (int_attribute(n, "ceil_mode", 0) != 0) fail(describe(n) + ": ceil_mode = 1 is not read");
    if (int_attribute(n, "storage_order", 0) != 0) {
      fail(describe(n) + ": storage_order = 1 is not read");
    }
    const Size2 pads = pads_attribute(n);
    const bool padded = pads.h != 0 || pads.w != 0;
    fits(n, op.c_str(), in, kernel, stride, padding ? *padding : pads, 1);
    try {
      if (op == "MaxPool") return std::make_unique<nn::MaxPool2D>(kernel, stride, pads);
      if (padded && padding) fail(describe(n) + " has pads after a Pad");
      // AvgPool2D counts padded zeros in each mean: ONNX's count_include_pad = 1.
      if (padded && int_attribute(n, "count_include_pad", 0) != 1) {
        fail(describe(n) +
             ": padding with count_include_pad = 0 (a mean over the unpadded part of each "
             "window) is not read; AvgPool2D counts the padded zeros (count_include_pad = 1)");
      }
      return std::make_unique<nn::AvgPool2D>(kernel, stride, padding ? *padding : pads);
    } catch (const std::invalid_argument& e) {
      fail(describe(n) + ": " + e.what());
    }
  }

  // Fails unless a window of `kernel` fits the padded [channels, height, width] sample `in`.
  void fits(std::size_t n, const char* op, const Shape& in, Size2 kernel, Size2 stride,
            Size2 padding, Size2 dilation) const {
    try {
      window_output_extent(op, "height", in[1], kernel.h, stride.h, padding.h, dilation.h);
      window_output_extent(op, "width", in[2], kernel.w, stride.w, padding.w, dilation.w);
    } catch (const std::invalid_argument& e) {
      fail(describe(n) + " on a sample of shape " + shape_string(in) + ": " + e.what());
    }
  }

  // The spatial padding of a Pad of zeros ([n, c, h, w]: nothing on n and c, the same at both
  // ends of h and of w), which import reads only before an AveragePool.
  Size2 pad_amounts(std::size_t n) const {
    if (const std::string mode = string_attribute(n, "mode", "constant"); mode != "constant") {
      fail(describe(n) + ": mode " + mode + " is not read; import reads a Pad of zeros");
    }
    const NodeValue& node = g_.nodes[n];
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
      const TensorValue& value = constant(n, 2, "constant_value");
      if (value.floats.size() != 1 || value.floats.data()[0] != 0) {
        fail(describe(n) + ": import reads a Pad of zeros");
      }
    }
    if (node.inputs.size() > 3 && !node.inputs[3].empty()) {
      fail(describe(n) + ": its axes input is not read");
    }
    const auto& p = constant(n, 1, "pads", pb::tensor::type_int64).ints;
    if (p.size() != 8 || p[0] || p[1] || p[4] || p[5] || p[2] != p[6] || p[3] != p[7] || p[2] < 0 ||
        p[3] < 0 || p[2] > max_dim || p[3] > max_dim) {
      fail(describe(n) + ": pads " + Parser::dims_string(p) +
           "; import reads padding of height and width, the same at both ends");
    }
    return Size2(static_cast<std::size_t>(p[2]), static_cast<std::size_t>(p[3]));
  }

  // The activation an activation node applies, or nothing for another operator.
  std::optional<nn::Activation> activation_of(std::size_t n) const {
    static const std::map<std::string, std::string> activations = {{"Relu", "relu"},
                                                                   {"Sigmoid", "sigmoid"},
                                                                   {"Tanh", "tanh"},
                                                                   {"LeakyRelu", "leaky_relu"},
                                                                   {"Softmax", "softmax"}};
    const std::string& op = g_.nodes[n].op_type;
    const auto a = activations.find(op);
    if (a == activations.end()) return std::nullopt;
    std::optional<double> parameter;
    if (op == "LeakyRelu") parameter = float_attribute(n, "alpha", 0.01);
    if (op == "Softmax") {
      const std::int64_t axis = int_attribute(n, "axis", -1);
      if (axis != -1 && axis != 1) {
        fail(describe(n) + ": softmax along axis " + std::to_string(axis) +
             " is not read; import reads the last axis");
      }
    }
    try {
      return nn::Activation::from_name(a->second, parameter);
    } catch (const std::invalid_argument& e) {
      fail(describe(n) + ": " + e.what());
    }
  }

  // The computed values node `n` reads (not weights).
  std::vector<std::string> computed_inputs(std::size_t n) const {
    std::vector<std::string> out;
    for (const std::string& in : g_.nodes[n].inputs) {
      if (!in.empty() && !constants_.count(in)) out.push_back(in);
    }
    return out;
  }

  std::map<std::string, std::vector<std::size_t>> value_readers() const {
    std::map<std::string, std::vector<std::size_t>> readers;
    for (std::size_t n : order_) {
      for (const std::string& in : computed_inputs(n)) readers[in].push_back(n);
    }
    return readers;
  }

  // Why the graph is not a chain (a value feeds two nodes, or a node merges two values), or
  // nothing for a chain.
  std::optional<std::string> branching() const {
    for (const auto& [value, nodes] : value_readers()) {
      const std::set<std::size_t> distinct(nodes.begin(), nodes.end());
      if (distinct.size() < 2) continue;
      std::string names;
      for (std::size_t n : distinct) names += (names.empty() ? "" : ", ") + describe(n);
      return "value '" + value + "' feeds " + names;
    }
    for (std::size_t n : order_) {
      if (computed_inputs(n).size() > 1) return describe(n) + " merges computed values";
    }
    return std::nullopt;
  }

  /// One translated node: a layer call or a merge of computed values.
  struct Step {
    std::string kind;  // "layer", "add", "multiply", "concat"
    std::unique_ptr<nn::Module> layer;
    std::vector<std::string> inputs;
    std::string output;
  };

  // Each node in order becomes a step. A Gemm or MatMul whose only reader is an activation
  // (or, for MatMul, an Add of a bias) takes it in; so does a Sub the Mul or Div by a
  // constant after it, and an AveragePool the Pad before it.
  void translate() {
    const auto readers = value_readers();
    const std::string& graph_output = g_.outputs[0].name;
    auto only_reader = [&](const std::string& value) -> std::optional<std::size_t> {
      const auto r = readers.find(value);
      if (r == readers.end() || r->second.size() != 1 || value == graph_output) {
        return std::nullopt;
      }
      return r->second[0];
    };
    std::set<std::size_t> absorbed;
    shapes_[input_->name] = sample_;
    for (std::size_t n : order_) {
      const NodeValue& node = g_.nodes[n];
      const std::string& op = node.op_type;
      if (op == "Constant" || absorbed.count(n)) continue;
      if (!node.domain.empty() && node.domain != "ai.onnx") {
        fail(describe(n) + " is from the operator domain '" + node.domain +
             "'; import reads the default domain: " + onnx_importable_ops());
      }
      std::vector<std::string> in;
      for (const std::string& v : computed_inputs(n)) {
        const std::string value = resolve(v);
        if (!shapes_.count(value)) {
          fail(describe(n) + " reads '" + v + "', which does not follow from input '" +
               input_->name + "'");
        }
        in.push_back(value);
      }
      if (in.empty()) fail(describe(n) + " reads no computed value");
      if (node.outputs.empty() || node.outputs[0].empty()) fail(describe(n) + " has no output");
      for (std::size_t k = 1; k < node.outputs.size(); ++k) {
        if (readers.count(node.outputs[k]) || node.outputs[k] == graph_output) {
          fail(describe(n) + ": its output '" + node.outputs[k] +
               "' is used; import reads only the first");
        }
      }
      const Shape& x = shapes_.at(in[0]);
      std::string output = node.outputs[0];
      auto width_of = [&](const Shape& s) {
        if (s.size() != 1) {
          fail(describe(n) + ": its input has sample shape " + shape_string(s) + "; " + op +
               " reads [batch, features] (Flatten images first)");
        }
        return s[0];
      };
      auto absorb = [&](std::size_t next) {
        const NodeValue& taken = g_.nodes[next];
        if (taken.outputs.empty() || taken.outputs[0].empty())
          fail(describe(next) + " has no output");
        absorbed.insert(next);
        output = taken.outputs[0];
      };
      std::unique_ptr<nn::Module> layer;
      if (const auto activation = activation_of(n)) {
        if (op == "Softmax" && x.size() != 1) {
          fail(describe(n) + ": softmax of a sample of shape " + shape_string(x) +
               " is not read; import reads it on [batch, features]");
        }
        layer = std::make_unique<nn::ActivationLayer>(*activation);
      } else if (op == "Gemm" || op == "MatMul") {
        const std::size_t width = width_of(x);
        Tensor W;
        std::optional<Tensor> bias;
        if (op == "Gemm") {
          std::tie(W, bias) = gemm_weights(n, width);
        } else {
          W = matmul_weights(n, width);
        }
        const std::size_t out = W.shape()[1];
        if (const auto next = only_reader(output); !bias && next &&
                                                   g_.nodes[*next].op_type == "Add" &&
                                                   computed_inputs(*next).size() == 1) {
          const NodeValue& add = g_.nodes[*next];
          const std::size_t c = add.inputs[0] == output ? 1 : 0;
          bias = to_tensor(per_feature(*next, constant(*next, c, "bias"), out, "bias"));
          absorb(*next);
        }
        nn::Activation activation = nn::Activation::linear();
        if (const auto next = only_reader(output)) {
          if (const auto a = activation_of(*next)) {
            activation = *a;
            absorb(*next);
          }
        }
        Tensor b = bias ? *bias : Tensor(Tensor::from_shape({out}));
        if (!bias) b.fill(0);
        layer = std::make_unique<nn::Dense>(Var(W, true, "W"), Var(b, true, "b"), activation);
      } else if ((op == "Add" || op == "Mul") && in.size() == 2) {
        if (x != shapes_.at(in[1])) {
          fail(describe(n) + ": its inputs have shapes " + shape_string(x) + " and " +
               shape_string(shapes_.at(in[1])));
        }
        merge(op == "Add" ? "add" : "multiply", in, output, x);
        continue;
      } else if (op == "Concat") {
        // Along axis 1: the features of [batch, features] rows, the channels of feature maps.
        const auto rank = static_cast<std::int64_t>(x.size()) + 1;
        const std::int64_t axis = int_attribute(n, "axis", 1);
        if ((axis != 1 && axis != 1 - rank) || in.size() < 2 || in.size() != node.inputs.size()) {
          fail(describe(n) +
               ": import reads a Concat of computed values along axis 1 (features "
               "or channels)");
        }
        std::vector<Shape> parts;
        for (const std::string& v : in) parts.push_back(shapes_.at(v));
        Shape joined;
        try {
          joined = nn::concat_shape(parts);
        } catch (const std::invalid_argument& e) {
          fail(describe(n) + ": " + e.what());
        }
        check_size(joined, describe(n));
        merge("concat", in, output, std::move(joined));
        continue;
      } else if (op == "Sub" || op == "Mul" || op == "Div") {
        const std::size_t width = width_of(x);
        const std::string current = computed_inputs(n)[0];
        std::vector<float> v = per_feature(n, other_operand(n, current, op == "Mul"), width,
                                           op == "Sub" ? "offset" : "scale");
        std::vector<float> offset(width, 0.0f), scale(width, 1.0f);
        std::size_t scaled_by = n;
        if (op == "Sub") {
          offset = std::move(v);
          if (const auto next = only_reader(output);
              next && (g_.nodes[*next].op_type == "Mul" || g_.nodes[*next].op_type == "Div") &&
              computed_inputs(*next).size() == 1) {
            scaled_by = *next;
            v = per_feature(*next, other_operand(*next, output, g_.nodes[*next].op_type == "Mul"),
                            width, "scale");
            absorb(*next);
          }
        }
        if (g_.nodes[scaled_by].op_type == "Mul") scale = std::move(v);
        if (g_.nodes[scaled_by].op_type == "Div") {
          for (std::size_t j = 0; j < width; ++j) scale[j] = 1.0f / v[j];
        }
        try {
          layer = std::make_unique<nn::FeatureScaling>(offset, scale);
        } catch (const std::invalid_argument& e) {
          fail(describe(n) + ": " + e.what());
        }
      } else if (op == "BatchNormalization") {
        if (x.size() != 1 && x.size() != 3) {
          fail(describe(n) + ": its input has sample shape " + shape_string(x) +
               "; import reads [features] and [channels, height, width]");
        }
        layer = make_batch_norm(n, x[0]);
      } else if (op == "Dropout") {
        layer = std::make_unique<nn::Dropout>(dropout_rate(n));
      } else if (op == "Conv") {
        layer = conv(n, x);
      } else if (op == "MaxPool" || op == "AveragePool") {
        layer = pool(n, x, std::nullopt);
      } else if (op == "Pad") {
        const auto next = only_reader(output);
        if (!next || g_.nodes[*next].op_type != "AveragePool") {
          fail(describe(n) + ": import reads a Pad only right before an AveragePool");
        }
        const Size2 padding = pad_amounts(n);
        layer = pool(*next, x, padding);
        absorb(*next);
      } else if (op == "GlobalAveragePool") {
        if (x.size() != 3) {
          fail(describe(n) + ": its input has sample shape " + shape_string(x) +
               "; GlobalAveragePool reads [channels, height, width]");
        }
        // GlobalAvgPool2D gives [n, c] where ONNX gives [n, c, 1, 1]: a Flatten after it
        // has nothing left to do.
        layer = std::make_unique<nn::GlobalAvgPool2D>();
      } else if (op == "Flatten") {
        if (int_attribute(n, "axis", 1) != 1) {
          fail(describe(n) + ": Flatten along an axis other than 1 is not read");
        }
        if (x.size() == 1) {
          aliases_[output] = in[0];
          continue;
        }
        layer = std::make_unique<nn::Flatten>();
      } else if (op == "Identity") {
        aliases_[output] = in[0];
        continue;
      } else {
        fail(describe(n) + " is not supported; import reads: " + onnx_importable_ops());
      }
      const Shape batch = layer->output_shape(with_batch(x));
      shapes_[output] = Shape(batch.begin() + 1, batch.end());
      check_size(shapes_[output], describe(n));
      steps_.push_back(Step{"layer", std::move(layer), {in[0]}, output});
    }
    output_ = resolve(graph_output);
    if (!shapes_.count(output_)) {
      fail("the graph's output '" + graph_output + "' is not computed from its input '" +
           input_->name + "'");
    }
  }

  void merge(const char* kind, const std::vector<std::string>& in, const std::string& output,
             Shape shape) {
    shapes_[output] = std::move(shape);
    steps_.push_back(Step{kind, nullptr, in, output});
  }
  std::string resolve(const std::string& value) const {
    const auto a = aliases_.find(value);
    return a == aliases_.end() ? value : a->second;
  }
  Shape with_batch(const Shape& sample) const {
    Shape s = {1};
    s.insert(s.end(), sample.begin(), sample.end());
    return s;
  }

  // The steps of a chain, in order, as a Sequential (the shape of its input images set).
  nn::Sequential sequential() {
    nn::Sequential model;
    if (sample_.size() > 1) model.set_input_shape(sample_);
    std::string current = input_->name;
    for (Step& s : steps_) {
      if (s.inputs != std::vector<std::string>{current}) {
        fail("value '" + s.inputs[0] + "' is not on the path from input '" + input_->name +
             "' to output '" + g_.outputs[0].name + "'");
      }
      model.add(std::move(s.layer));
      current = s.output;
    }
    if (current != output_) {
      fail("value '" + current + "' leads nowhere: the graph's output '" + g_.outputs[0].name +
           "' does not follow from it");
    }
    if (model.size() == 0) fail("the graph computes nothing: its output is its input");
    return model;
  }

  // The steps as a functional model.
  std::unique_ptr<nn::Module> model() {
    std::map<std::string, nn::Symbol> values;
    const nn::Symbol input = nn::Input(sample_);
    values.emplace(input_->name, input);
    try {
      for (Step& s : steps_) {
        std::vector<nn::Symbol> in;
        for (const std::string& v : s.inputs) in.push_back(values.at(v));
        std::optional<nn::Symbol> y;
        if (s.kind == "layer") {
          y = nn::Layer(std::shared_ptr<nn::Module>(std::move(s.layer)))(in[0]);
        } else if (s.kind == "add") {
          y = nn::add(in[0], in[1]);
        } else if (s.kind == "multiply") {
          y = nn::multiply(in[0], in[1]);
        } else {
          y = nn::concat(in);
        }
        values.insert_or_assign(s.output, *y);
      }
      return std::make_unique<nn::Model>(std::vector<nn::Symbol>{input},
                                         std::vector<nn::Symbol>{values.at(output_)});
    } catch (const std::invalid_argument& e) {
      fail(e.what());
    }
  }

  const GraphValue& g_;
  const std::string& source_;
  std::map<std::string, const TensorValue*> constants_;
  const ValueInfo* input_ = nullptr;
  Shape sample_;
  std::vector<std::size_t> order_;
  std::vector<Step> steps_;
  std::map<std::string, Shape> shapes_;
  std::map<std::string, std::string> aliases_;
  std::string output_;
};

}  // namespace

std::string onnx_importable_ops() {
  return "Add, AveragePool, BatchNormalization, Concat, Constant, Conv, Div, Dropout, Flatten, "
         "Gemm, GlobalAveragePool, Identity, LeakyRelu, MatMul, MaxPool, Mul, Pad (before an "
         "AveragePool), Relu, Sigmoid, Softmax, Sub, Tanh";
}

namespace {

ModelValue checked_model(const std::vector<std::uint8_t>& bytes, const std::string& source) {
  ModelValue m = Parser(bytes, source).model();
  if (!m.graph) throw OnnxFileError(source, "not an ONNX model: no graph");
  if (!m.has_default_opset) {
    throw OnnxFileError(source, "the model imports no opset of the default domain");
  }
  if (m.opset < onnx_min_opset || m.opset > onnx_max_opset) {
    throw OnnxFileError(
        source,
        "opset " + std::to_string(m.opset) + " is not supported; import reads opsets " +
            std::to_string(onnx_min_opset) + " to " + std::to_string(onnx_max_opset) +
            " (export again with a newer opset, e.g. torch.onnx.export(..., opset_version=13))");
  }
  return m;
}

std::vector<std::uint8_t> read_onnx_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw OnnxFileError(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) throw OnnxFileError(path, std::string("cannot read: ") + std::strerror(errno));
  return bytes;
}

}  // namespace

nn::Sequential deserialize_onnx(const std::vector<std::uint8_t>& bytes, const std::string& source) {
  ModelValue m = checked_model(bytes, source);
  return Builder(*m.graph, source).build();
}

std::unique_ptr<nn::Module> deserialize_onnx_module(const std::vector<std::uint8_t>& bytes,
                                                    const std::string& source) {
  ModelValue m = checked_model(bytes, source);
  return Builder(*m.graph, source).build_module();
}

nn::Sequential import_onnx(const std::string& path) {
  return deserialize_onnx(read_onnx_file(path), path);
}

std::unique_ptr<nn::Module> import_onnx_module(const std::string& path) {
  return deserialize_onnx_module(read_onnx_file(path), path);
}

}  // namespace retrograd::io
