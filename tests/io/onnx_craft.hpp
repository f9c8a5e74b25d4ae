#pragma once
// Test helper: ONNX files written field by field (the protocol buffers wire format), so that
// tests can build graphs retrograd's exporter never writes: cycles, dangling inputs, old
// opsets, foreign operators, tensors that claim more than they hold.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace onnx_craft {

using Bytes = std::vector<std::uint8_t>;

/// A message under construction: fields appended in order.
struct Msg {
  Bytes b;
  Msg& raw_varint(std::uint64_t v) {
    while (v >= 0x80) {
      b.push_back(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    b.push_back(static_cast<std::uint8_t>(v));
    return *this;
  }
  Msg& varint(std::uint32_t field, std::uint64_t v) { return raw_varint(field << 3).raw_varint(v); }
  Msg& bytes(std::uint32_t field, const Bytes& data) {
    raw_varint((field << 3) | 2).raw_varint(data.size());
    b.insert(b.end(), data.begin(), data.end());
    return *this;
  }
  Msg& str(std::uint32_t field, const std::string& s) {
    return bytes(field, Bytes(s.begin(), s.end()));
  }
  Msg& msg(std::uint32_t field, const Msg& m) { return bytes(field, m.b); }
  Msg& f32(std::uint32_t field, float v) {
    raw_varint((field << 3) | 5);
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
    return *this;
  }
};

/// A float32 TensorProto with raw_data.
inline Msg tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                  const std::vector<float>& values) {
  Msg t;
  for (std::int64_t d : dims) t.varint(1, static_cast<std::uint64_t>(d));
  t.varint(2, 1).str(8, name);
  Bytes raw(values.size() * 4);
  if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  return t.bytes(9, raw);
}

/// An int64 TensorProto with int64_data.
inline Msg int64_tensor(const std::string& name, const std::vector<std::int64_t>& values) {
  Msg t;
  t.varint(1, values.size()).varint(2, 7).str(8, name);
  for (std::int64_t v : values) t.varint(7, static_cast<std::uint64_t>(v));
  return t;
}

inline Msg ints_attribute(const std::string& name, const std::vector<std::int64_t>& v) {
  Msg a;
  a.str(1, name);
  for (std::int64_t x : v) a.varint(8, static_cast<std::uint64_t>(x));
  return a.varint(20, 7);
}
inline Msg int_attribute(const std::string& name, std::int64_t v) {
  return Msg().str(1, name).varint(3, static_cast<std::uint64_t>(v)).varint(20, 2);
}
inline Msg float_attribute(const std::string& name, float v) {
  return Msg().str(1, name).f32(2, v).varint(20, 1);
}

inline Msg node(const std::string& op, const std::vector<std::string>& inputs,
                const std::vector<std::string>& outputs, const std::string& name,
                const std::vector<Msg>& attributes = {}) {
  Msg n;
  for (const auto& i : inputs) n.str(1, i);
  for (const auto& o : outputs) n.str(2, o);
  n.str(3, name).str(4, op);
  for (const Msg& a : attributes) n.msg(5, a);
  return n;
}

/// A float ValueInfoProto; a dimension of -1 is the batch, named "N".
inline Msg value_info(const std::string& name, const std::vector<std::int64_t>& dims) {
  Msg shape;
  for (std::int64_t d : dims) {
    shape.msg(1, d < 0 ? Msg().str(2, "N") : Msg().varint(1, static_cast<std::uint64_t>(d)));
  }
  const Msg tensor_type = Msg().varint(1, 1).msg(2, shape);
  return Msg().str(1, name).msg(2, Msg().msg(1, tensor_type));
}

inline Msg graph(const std::vector<Msg>& nodes, const std::vector<Msg>& initializers,
                 const std::vector<Msg>& inputs, const std::vector<Msg>& outputs) {
  Msg g;
  for (const Msg& n : nodes) g.msg(1, n);
  g.str(2, "crafted");
  for (const Msg& t : initializers) g.msg(5, t);
  for (const Msg& i : inputs) g.msg(11, i);
  for (const Msg& o : outputs) g.msg(12, o);
  return g;
}

/// A ModelProto holding `g`, importing the default domain at `opset`.
inline Bytes model(const Msg& g, std::int64_t opset = 13) {
  return Msg()
      .varint(1, 7)
      .str(2, "onnx_craft")
      .msg(7, g)
      .msg(8, Msg().str(1, "").varint(2, static_cast<std::uint64_t>(opset)))
      .b;
}

/// x [N, 4] -> Gemm(B [4, 3], C [3]) -> Relu -> y: the smallest graph import reads.
inline Msg dense_graph(const std::vector<std::int64_t>& c_dims = {3}) {
  std::vector<float> b(12), c(static_cast<std::size_t>(c_dims.empty() ? 1 : c_dims[0]));
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = 0.1f * static_cast<float>(i) - 0.5f;
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = 0.25f * static_cast<float>(i);
  return graph({node("Gemm", {"x", "B", "C"}, {"h"}, "gemm"), node("Relu", {"h"}, {"y"}, "relu")},
               {tensor("B", {4, 3}, b), tensor("C", c_dims, c)}, {value_info("x", {-1, 4})},
               {value_info("y", {-1, 3})});
}

}  // namespace onnx_craft
