// ONNX export: a model's layers become nodes of one graph, their parameters and buffers
// initializers under their own names. Each layer type's exporter is one entry of
// layer_exporters(); what it writes is the layer's evaluation-mode computation.

#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "onnx_proto.hpp"
#include "protobuf.hpp"
#include "retrograd/io/atomic_file.hpp"
#include "retrograd/io/onnx.hpp"
#include "retrograd/nn/layers.hpp"

namespace retrograd::io {

namespace {

namespace pb = detail::onnx;
using detail::ProtoWriter;

struct Attribute {
  std::string name;
  std::int64_t type;
  float f = 0;
  std::int64_t i = 0;
  std::vector<std::int64_t> ints;

  static Attribute real(std::string name, double v) {
    return {std::move(name), pb::attribute::type_float, static_cast<float>(v), 0, {}};
  }
  static Attribute integer(std::string name, std::int64_t v) {
    return {std::move(name), pb::attribute::type_int, 0, v, {}};
  }
  static Attribute integers(std::string name, std::vector<std::int64_t> v) {
    return {std::move(name), pb::attribute::type_ints, 0, 0, std::move(v)};
  }
};

struct Node {
  std::string op_type;
  std::string name;
  std::vector<std::string> inputs;
  std::string output;
  std::vector<Attribute> attributes;
};

ProtoWriter int64_tensor_proto(const std::string& name, const std::vector<std::int64_t>& v) {
  ProtoWriter w;
  w.int64(pb::tensor::dims, static_cast<std::int64_t>(v.size()));
  w.varint(pb::tensor::data_type, pb::tensor::type_int64);
  w.string(pb::tensor::name, name);
  for (std::int64_t x : v) w.int64(pb::tensor::int64_data, x);
  return w;
}

ProtoWriter tensor_proto(const std::string& name, const Tensor& t) {
  ProtoWriter w;
  for (std::size_t d : t.shape()) w.int64(pb::tensor::dims, static_cast<std::int64_t>(d));
  w.varint(pb::tensor::data_type, pb::tensor::type_float);
  w.string(pb::tensor::name, name);
  // raw_data is little-endian float32: the bytes of this machine's floats.
  static_assert(sizeof(float) == 4);
  w.bytes(pb::tensor::raw_data, t.data(), t.size() * sizeof(float));
  return w;
}

// dims: a positive size, or 0 for the batch dimension (named "N").
ProtoWriter value_info(const std::string& name, const std::vector<std::size_t>& dims) {
  ProtoWriter shape;
  for (std::size_t d : dims) {
    ProtoWriter dim;
    if (d == 0) {
      dim.string(pb::shape::dim_param, "N");
    } else {
      dim.int64(pb::shape::dim_value, static_cast<std::int64_t>(d));
    }
    shape.message(pb::shape::dim, dim);
  }
  ProtoWriter tensor_type;
  tensor_type.varint(pb::type::elem_type, pb::tensor::type_float);
  tensor_type.message(pb::type::shape, shape);
  ProtoWriter type;
  type.message(pb::type::tensor_type, tensor_type);
  ProtoWriter w;
  w.string(pb::value_info::name, name);
  w.message(pb::value_info::type, type);
  return w;
}

/// The graph being written: nodes in order, initializers, and the value the last node made.
class GraphBuilder {
 public:
  /// Adds `t` as the initializer `name` (once: a layer called twice reads the same one);
  /// returns the name.
  std::string initializer(const std::string& name, const Tensor& t) {
    if (initializer_names_.insert(name).second) {
      initializers_.message(pb::graph::initializer, tensor_proto(name, t));
    }
    return name;
  }
  /// Adds the int64 vector `v` as the initializer `name` (once); returns the name.
  std::string int64_initializer(const std::string& name, const std::vector<std::int64_t>& v) {
    if (initializer_names_.insert(name).second) {
      initializers_.message(pb::graph::initializer, int64_tensor_proto(name, v));
    }
    return name;
  }
  /// Adds a node; its output is named after the node, "<name>_2", "<name>_3", ... when a
  /// layer called again writes the same nodes. Returns the output's name.
  std::string node(std::string op_type, std::string name, std::vector<std::string> inputs,
                   std::vector<Attribute> attributes = {}) {
    const int uses = ++node_names_[name];
    if (uses > 1) name += "_" + std::to_string(uses);
    std::string output = name;
    nodes_.push_back(
        {std::move(op_type), std::move(name), std::move(inputs), output, std::move(attributes)});
    return output;
  }
  /// The graph: input "input" of `input_dims`, the nodes, the last one's output `last`
  /// renamed "output" (of `output_dims`).
  ProtoWriter finish(const std::string& last, const std::vector<std::size_t>& input_dims,
                     const std::vector<std::size_t>& output_dims) const {
    const std::string output = "output";
    auto rename = [&](const std::string& value) { return value == last ? output : value; };
    ProtoWriter g;
    for (const Node& n : nodes_) {
      ProtoWriter w;
      for (const std::string& in : n.inputs) w.string(pb::node::input, rename(in));
      w.string(pb::node::output, rename(n.output));
      w.string(pb::node::name, n.name);
      w.string(pb::node::op_type, n.op_type);
      for (const Attribute& a : n.attributes) {
        ProtoWriter aw;
        aw.string(pb::attribute::name, a.name);
        if (a.type == pb::attribute::type_float) aw.float32(pb::attribute::f, a.f);
        if (a.type == pb::attribute::type_int) aw.int64(pb::attribute::i, a.i);
        for (std::int64_t v : a.ints) aw.int64(pb::attribute::ints, v);
        aw.varint(pb::attribute::type, static_cast<std::uint64_t>(a.type));
        w.message(pb::node::attribute, aw);
      }
      g.message(pb::graph::node, w);
    }
    g.string(pb::graph::name, "retrograd");
    g.append(initializers_);
    g.message(pb::graph::input, value_info("input", input_dims));
    g.message(pb::graph::output, value_info(output, output_dims));
    return g;
  }

 private:
  std::vector<Node> nodes_;
  ProtoWriter initializers_;
  std::set<std::string> initializer_names_;
  std::map<std::string, int> node_names_;
};

std::string export_layer(nn::Module& layer, const std::string& prefix, const std::string& x,
                         GraphBuilder& g);

// The node for `activation` on `x` (none for linear); returns the value it makes.
std::string export_activation(const nn::Activation& activation, const std::string& path,
                              const std::string& x, GraphBuilder& g) {
  const std::string& f = activation.function_name();
  if (f == "linear") return x;
  if (f == "relu") return g.node("Relu", path + "/Relu", {x});
  if (f == "sigmoid") return g.node("Sigmoid", path + "/Sigmoid", {x});
  if (f == "tanh") return g.node("Tanh", path + "/Tanh", {x});
  if (f == "softmax") {
    return g.node("Softmax", path + "/Softmax", {x}, {Attribute::integer("axis", -1)});
  }
  if (f == "leaky_relu") {
    return g.node("LeakyRelu", path + "/LeakyRelu", {x},
                  {Attribute::real("alpha", activation.negative_slope())});
  }
  throw std::invalid_argument("ONNX export: '" + path + "': activation " + activation.name() +
                              " has no ONNX form; these export: leaky_relu, linear, relu, "
                              "sigmoid, softmax, tanh");
}

// kernel_shape, strides, pads (begin and end alike) and dilations of a window op.
std::vector<Attribute> window_attributes(Size2 kernel, Size2 stride, Size2 padding,
                                         std::optional<Size2> dilation) {
  auto pair = [](Size2 s) {
    return std::vector<std::int64_t>{static_cast<std::int64_t>(s.h),
                                     static_cast<std::int64_t>(s.w)};
  };
  std::vector<Attribute> out = {
      Attribute::integers("kernel_shape", pair(kernel)),
      Attribute::integers("strides", pair(stride)),
      Attribute::integers(
          "pads", {static_cast<std::int64_t>(padding.h), static_cast<std::int64_t>(padding.w),
                   static_cast<std::int64_t>(padding.h), static_cast<std::int64_t>(padding.w)})};
  if (dilation) out.push_back(Attribute::integers("dilations", pair(*dilation)));
  return out;
}

template <class Layer>
Layer& as(nn::Module& layer) {
  auto* l = dynamic_cast<Layer*>(&layer);
  if (!l) {
    throw std::invalid_argument("ONNX export: layer '" + layer.name() + "' says it is a " +
                                layer.type() + " but is another class");
  }
  return *l;
}

Tensor buffer(nn::Module& layer, const std::string& name) {
  for (const auto& b : layer.named_buffers()) {
    if (b.name == name) return *b.tensor;
  }
  throw std::logic_error("ONNX export: layer '" + layer.name() + "' has no buffer " + name);
}

// Writes the nodes of a layer whose parameters are named `prefix` + own name ("dense_0.W"),
// reading the value `x`; returns the value it makes. `path` names its nodes.
using LayerExporter = std::string (*)(nn::Module& layer, const std::string& prefix,
                                      const std::string& path, const std::string& x,
                                      GraphBuilder& g);

const std::map<std::string, LayerExporter>& layer_exporters() {
  static const std::map<std::string, LayerExporter> table = {
      // X W + b, W written transposed ([out, in]) with transB = 1, as torch.onnx.export writes
      // a Linear: OpenCV 4.6 reads a Gemm without transB as if it were 1.
      {"Dense",
       [](nn::Module& layer, const std::string& prefix, const std::string& path,
          const std::string& x, GraphBuilder& g) {
         auto& d = as<nn::Dense>(layer);
         const Tensor w_t = xt::transpose(d.weight().value());
         const std::string y = g.node(
             "Gemm", path + "/Gemm",
             {x, g.initializer(prefix + "W", w_t), g.initializer(prefix + "b", d.bias().value())},
             {Attribute::integer("transB", 1)});
         return export_activation(d.activation(), path, y, g);
       }},
      {"Activation",
       [](nn::Module& layer, const std::string&, const std::string& path, const std::string& x,
          GraphBuilder& g) {
         const std::string y =
             export_activation(as<nn::ActivationLayer>(layer).activation(), path, x, g);
         return y == x ? g.node("Identity", path + "/Identity", {x}) : y;
       }},
      // Evaluation mode: the input passes unchanged.
      {"Dropout", [](nn::Module&, const std::string&, const std::string& path, const std::string& x,
                     GraphBuilder& g) { return g.node("Identity", path + "/Identity", {x}); }},
      // (x - offset) * scale, as FeatureScaling::forward computes it.
      {"FeatureScaling",
       [](nn::Module& layer, const std::string& prefix, const std::string& path,
          const std::string& x, GraphBuilder& g) {
         const std::string centered = g.node(
             "Sub", path + "/Sub", {x, g.initializer(prefix + "offset", buffer(layer, "offset"))});
         return g.node("Mul", path + "/Mul",
                       {centered, g.initializer(prefix + "scale", buffer(layer, "scale"))});
       }},
      // Evaluation mode: the running statistics. ONNX's momentum weighs the old running value,
      // ours the batch's.
      {"BatchNorm",
       [](nn::Module& layer, const std::string& prefix, const std::string& path,
          const std::string& x, GraphBuilder& g) {
         auto& bn = as<nn::BatchNorm>(layer);
         return g.node("BatchNormalization", path + "/BatchNormalization",
                       {x, g.initializer(prefix + "gamma", bn.gamma().value()),
                        g.initializer(prefix + "beta", bn.beta().value()),
                        g.initializer(prefix + "running_mean", bn.running_mean()),
                        g.initializer(prefix + "running_var", bn.running_var())},
                       {Attribute::real("epsilon", bn.eps()),
                        Attribute::real("momentum", 1 - bn.momentum())});
       }},
      // Each step in order; a layer called twice writes its nodes twice over one set of
      // initializers.
      {"Model",
       [](nn::Module& layer, const std::string& prefix, const std::string& path,
          const std::string& x, GraphBuilder& g) {
         auto& model = as<nn::Model>(layer);
         if (model.input_steps().size() != 1 || model.output_steps().size() != 1) {
           throw std::invalid_argument(
               "ONNX export: model '" + model.name() + "' has " +
               std::to_string(model.input_steps().size()) + " inputs and " +
               std::to_string(model.output_steps().size()) +
               " outputs; export writes models of one input and one output");
         }
         const std::vector<nn::Module*> layers = model.children();
         std::vector<std::string> values;
         for (std::size_t i = 0; i < model.steps().size(); ++i) {
           const nn::ModelStep& s = model.steps()[i];
           std::vector<std::string> in;
           for (std::size_t k : s.inputs) in.push_back(values[k]);
           const std::string step = path + "/" + s.kind + "_" + std::to_string(i);
           if (s.kind == "input") {
             values.push_back(x);
           } else if (s.kind == "layer") {
             nn::Module& child = *layers[s.layer];
             values.push_back(export_layer(child, prefix + child.name() + ".", in[0], g));
           } else if (s.kind == "add") {
             values.push_back(g.node("Add", step, in));
           } else if (s.kind == "multiply") {
             values.push_back(g.node("Mul", step, in));
           } else {
             values.push_back(g.node("Concat", step, in, {Attribute::integer("axis", 1)}));
           }
         }
         return values[model.output_steps().front()];
       }},
      // NCHW as ONNX; W [out, in, kh, kw] as ONNX's Conv reads it.
      {"Conv2D",
       [](nn::Module& layer, const std::string& prefix, const std::string& path,
          const std::string& x, GraphBuilder& g) {
         auto& c = as<nn::Conv2D>(layer);
         const nn::Conv2DOptions& o = c.options();
         std::vector<std::string> inputs = {x, g.initializer(prefix + "W", c.weight().value())};
         if (c.bias().defined()) inputs.push_back(g.initializer(prefix + "b", c.bias().value()));
         std::vector<Attribute> attributes =
             window_attributes(c.kernel(), o.stride, o.padding, o.dilation);
         if (o.groups > 1) {
           attributes.push_back(Attribute::integer("group", static_cast<std::int64_t>(o.groups)));
         }
         return g.node("Conv", path + "/Conv", inputs, attributes);
       }},
      // Padding counts as -infinity, as ONNX's MaxPool pads.
      {"MaxPool2D",
       [](nn::Module& layer, const std::string&, const std::string& path, const std::string& x,
          GraphBuilder& g) {
         auto& p = as<nn::MaxPool2D>(layer);
         return g.node("MaxPool", path + "/MaxPool", {x},
                       window_attributes(p.kernel(), p.stride(), p.padding(), std::nullopt));
       }},
      // Padded zeros count in each mean. ONNX says so with count_include_pad = 1, which
      // OpenCV 4.6 ignores (it divides by the unpadded part of the window); an explicit Pad
      // of zeros before an unpadded AveragePool means the same to every runtime, and is what
      // torch.onnx.export writes for PyTorch's AvgPool2d.
      {"AvgPool2D",
       [](nn::Module& layer, const std::string& prefix, const std::string& path,
          const std::string& x, GraphBuilder& g) {
         auto& p = as<nn::AvgPool2D>(layer);
         std::string in = x;
         if (p.padding().h != 0 || p.padding().w != 0) {
           const auto h = static_cast<std::int64_t>(p.padding().h);
           const auto w = static_cast<std::int64_t>(p.padding().w);
           // [n, c, h, w] begins, then ends
           in = g.node("Pad", path + "/Pad",
                       {x, g.int64_initializer(prefix + "pads", {0, 0, h, w, 0, 0, h, w})});
         }
         return g.node("AveragePool", path + "/AveragePool", {in},
                       window_attributes(p.kernel(), p.stride(), 0, std::nullopt));
       }},
      // Ours gives [n, c]; ONNX's [n, c, 1, 1], flattened after.
      {"GlobalAvgPool2D",
       [](nn::Module&, const std::string&, const std::string& path, const std::string& x,
          GraphBuilder& g) {
         const std::string pooled = g.node("GlobalAveragePool", path + "/GlobalAveragePool", {x});
         return g.node("Flatten", path + "/Flatten", {pooled}, {Attribute::integer("axis", 1)});
       }},
      {"Flatten",
       [](nn::Module&, const std::string&, const std::string& path, const std::string& x,
          GraphBuilder& g) {
         return g.node("Flatten", path + "/Flatten", {x}, {Attribute::integer("axis", 1)});
       }},
      {"Sequential",
       [](nn::Module& layer, const std::string& prefix, const std::string&, const std::string& x,
          GraphBuilder& g) {
         std::string y = x;
         for (nn::Module* child : layer.children()) {
           y = export_layer(*child, prefix + child->name() + ".", y, g);
         }
         return y;
       }},
  };
  return table;
}

std::string export_layer(nn::Module& layer, const std::string& prefix, const std::string& x,
                         GraphBuilder& g) {
  const auto& table = layer_exporters();
  const auto it = table.find(layer.type());
  if (it == table.end()) {
    throw std::invalid_argument("ONNX export: layer '" + layer.name() + "' of type " +
                                layer.type() +
                                " has no ONNX form; these export: " + onnx_exportable_layers());
  }
  const std::string path = prefix.empty() ? layer.name() : prefix.substr(0, prefix.size() - 1);
  return it->second(layer, prefix, path, x, g);
}

}  // namespace

OnnxFileError::OnnxFileError(const std::string& path, const std::string& message)
    : std::runtime_error(path + ": " + message), path_(path) {}

std::string onnx_exportable_layers() {
  std::string out;
  for (const auto& entry : layer_exporters()) out += (out.empty() ? "" : ", ") + entry.first;
  return out;
}

std::vector<std::uint8_t> serialize_onnx(nn::Module& model, const OnnxExportOptions& options) {
  if (options.opset < onnx_min_opset || options.opset > onnx_max_opset) {
    throw std::invalid_argument("ONNX export: opset " + std::to_string(options.opset) +
                                " is not supported; choose " + std::to_string(onnx_min_opset) +
                                " to " + std::to_string(onnx_max_opset));
  }
  // One sample's shape: a Sequential's input shape when set ([1, 28, 28] for images), a
  // functional model's input, otherwise the first layer's width.
  Shape sample;
  if (const auto* seq = dynamic_cast<const nn::Sequential*>(&model);
      seq && !seq->input_shape().empty()) {
    sample = seq->input_shape();
  } else if (const auto* functional = dynamic_cast<const nn::Model*>(&model)) {
    sample = functional->steps()[functional->input_steps().front()].shape;
  } else if (model.input_features() != 0) {
    sample = {model.input_features()};
  } else {
    throw std::invalid_argument("ONNX export: the input shape of model '" + model.name() +
                                "' is unknown (its first layer, " + model.type() +
                                ", takes any width; set_input_shape() names it)");
  }
  GraphBuilder g;
  const std::string last = export_layer(model, "", "input", g);
  if (last == "input") {
    throw std::invalid_argument("ONNX export: model '" + model.name() + "' has no layers");
  }
  std::vector<std::size_t> input_dims = {0};
  input_dims.insert(input_dims.end(), sample.begin(), sample.end());
  Shape batch_of_one(input_dims.begin(), input_dims.end());
  batch_of_one[0] = 1;
  const Shape out = model.output_shape(batch_of_one);
  std::vector<std::size_t> output_dims(out.begin(), out.end());
  output_dims[0] = 0;

  ProtoWriter opset;
  opset.string(pb::opset::domain, "");
  opset.int64(pb::opset::version, options.opset);
  ProtoWriter m;
  m.int64(pb::model::ir_version, pb::ir_version_for(options.opset));
  m.string(pb::model::producer_name, "retrograd");
  m.message(pb::model::graph, g.finish(last, input_dims, output_dims));
  m.message(pb::model::opset_import, opset);
  return m.data();
}

void export_onnx(nn::Module& model, const std::string& path, const OnnxExportOptions& options) {
  write_file_atomically(path, serialize_onnx(model, options));
}

}  // namespace retrograd::io
