#include "retrograd/nn/model.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "retrograd/ops.hpp"
#include "summary_table.hpp"

namespace retrograd::nn {

namespace detail {

/// One value of the graph under construction.
struct SymbolNode {
  std::string kind;  // "input", "layer", "add", "multiply", "concat"
  std::shared_ptr<Module> layer;
  std::vector<std::shared_ptr<const SymbolNode>> inputs;
  Shape shape;
};

}  // namespace detail

namespace {

using NodePtr = std::shared_ptr<const detail::SymbolNode>;

Symbol make(std::string kind, std::shared_ptr<Module> layer, std::vector<NodePtr> inputs,
            Shape shape) {
  return Symbol(std::make_shared<const detail::SymbolNode>(
      detail::SymbolNode{std::move(kind), std::move(layer), std::move(inputs), std::move(shape)}));
}

Shape per_sample(const Shape& batch) { return Shape(batch.begin() + 1, batch.end()); }

Shape with_batch(std::size_t n, const Shape& sample) {
  Shape s(sample.size() + 1);
  s[0] = n;
  std::copy(sample.begin(), sample.end(), s.begin() + 1);
  return s;
}

Symbol elementwise(const char* what, const Symbol& a, const Symbol& b) {
  if (a.shape() != b.shape()) {
    throw std::invalid_argument(std::string("nn::") + what + ": shapes " + shape_string(a.shape()) +
                                " and " + shape_string(b.shape()) + " differ");
  }
  return make(what, nullptr, {a.node(), b.node()}, a.shape());
}

// The sample shape a layer makes of an input sample's.
Shape layer_shape(Module* layer, const Shape& in) {
  return per_sample(layer->output_shape(with_batch(1, in)));
}

}  // namespace

const Shape& Symbol::shape() const { return node_->shape; }

Symbol Input(Shape sample_shape) {
  if (sample_shape.empty()) throw std::invalid_argument("nn::Input: empty shape");
  for (std::size_t d : sample_shape) {
    if (d == 0) {
      throw std::invalid_argument("nn::Input: shape " + shape_string(sample_shape) +
                                  " has a zero dimension");
    }
  }
  return make("input", nullptr, {}, std::move(sample_shape));
}

Layer::Layer(std::shared_ptr<Module> module) : module_(std::move(module)) {
  if (!module_) throw std::invalid_argument("nn::Layer: null layer");
}

Symbol Layer::operator()(const Symbol& x) const {
  // Features of a row, or channels of an image (a BatchNorm takes either).
  const std::size_t want = module_->input_features();
  if (want != 0 && x.shape()[0] != want) {
    throw std::invalid_argument("layer '" + module_->name() + "' (" + module_->type() + ") takes " +
                                std::to_string(want) + " features; its input has shape " +
                                shape_string(x.shape()));
  }
  return make("layer", module_, {x.node()}, layer_shape(module_.get(), x.shape()));
}

Symbol add(const Symbol& a, const Symbol& b) { return elementwise("add", a, b); }

Symbol multiply(const Symbol& a, const Symbol& b) { return elementwise("multiply", a, b); }

Shape concat_shape(const std::vector<Shape>& parts) {
  if (parts.size() < 2) throw std::invalid_argument("needs at least two parts");
  Shape joined = parts.front();
  for (std::size_t p = 1; p < parts.size(); ++p) {
    const Shape& s = parts[p];
    if (s.size() != joined.size() || !std::equal(s.begin() + 1, s.end(), joined.begin() + 1)) {
      std::string listed;
      for (const Shape& part : parts) listed += (listed.empty() ? "" : ", ") + shape_string(part);
      throw std::invalid_argument("parts of shapes " + listed +
                                  ": concat joins samples along their first axis, so the parts "
                                  "must agree on every other axis");
    }
    joined[0] += s[0];
  }
  return joined;
}

Symbol concat(const std::vector<Symbol>& parts) {
  std::vector<NodePtr> nodes;
  std::vector<Shape> shapes;
  for (const Symbol& p : parts) {
    nodes.push_back(p.node());
    shapes.push_back(p.shape());
  }
  try {
    return make("concat", nullptr, std::move(nodes), concat_shape(shapes));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("nn::concat: ") + e.what());
  }
}

Model::Model(std::vector<Symbol> inputs, std::vector<Symbol> outputs) : Module("model") {
  if (inputs.empty() || outputs.empty()) {
    throw std::invalid_argument("nn::Model: " + std::to_string(inputs.size()) + " inputs and " +
                                std::to_string(outputs.size()) +
                                " outputs; a model has at least one of each");
  }
  std::map<const detail::SymbolNode*, std::size_t> input_index;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].node()->kind != "input") {
      throw std::invalid_argument("nn::Model: its input " + std::to_string(i) + " is no nn::Input");
    }
    if (!input_index.emplace(inputs[i].node().get(), i).second) {
      throw std::invalid_argument("nn::Model: input " + std::to_string(i) + " is listed twice");
    }
  }
  // Post-order from each output in turn without recursion: each node after the nodes it
  // reads.
  std::map<const detail::SymbolNode*, std::size_t> index;
  std::map<Module*, std::size_t> layer_index;
  inputs_.assign(inputs.size(), 0);
  for (const Symbol& output : outputs) {
    std::vector<std::pair<NodePtr, std::size_t>> stack = {{output.node(), 0}};
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (index.count(node.get())) {
        stack.pop_back();
        continue;
      }
      if (next < node->inputs.size()) {
        const NodePtr child = node->inputs[next++];
        if (!index.count(child.get())) stack.push_back({child, 0});
        continue;
      }
      ModelStep step{node->kind, 0, {}, node->shape};
      if (node->kind == "input") {
        const auto found = input_index.find(node.get());
        if (found == input_index.end()) {
          throw std::invalid_argument("nn::Model: an output depends on an nn::Input of shape " +
                                      shape_string(node->shape) +
                                      " that is not among the model's inputs");
        }
        step.layer = found->second;
        inputs_[found->second] = steps_.size();
      }
      for (const NodePtr& in : node->inputs) step.inputs.push_back(index.at(in.get()));
      if (node->kind == "layer") {
        const auto found = layer_index.emplace(node->layer.get(), layers_.size());
        if (found.second) layers_.push_back(node->layer);
        step.layer = found.first->second;
      }
      index[node.get()] = steps_.size();
      steps_.push_back(std::move(step));
      stack.pop_back();
    }
    outputs_.push_back(index.at(output.node().get()));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!index.count(inputs[i].node().get())) {
      throw std::invalid_argument("nn::Model: no output depends on input " + std::to_string(i) +
                                  " (of shape " + shape_string(inputs[i].shape()) + ")");
    }
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Module& layer = *layers_[i];
    if (layer.has_default_name()) layer.set_name(layer.name() + "_" + std::to_string(i));
    if (!names.insert(layer.name()).second) {
      throw std::invalid_argument("nn::Model: two different layers are named '" + layer.name() +
                                  "'");
    }
  }
  Model::train(training());
}

Model::Model(std::vector<ModelStep> steps, std::vector<std::shared_ptr<Module>> layers,
             std::vector<std::size_t> inputs, std::vector<std::size_t> outputs)
    : Module("model"),
      steps_(std::move(steps)),
      layers_(std::move(layers)),
      inputs_(std::move(inputs)),
      outputs_(std::move(outputs)) {}

namespace {

std::size_t values_of(const Shape& sample) {
  std::size_t n = 1;
  for (std::size_t d : sample) n *= d;
  return n;
}

}  // namespace

std::vector<Shape> Model::input_shapes() const {
  std::vector<Shape> out;
  for (std::size_t k : inputs_) out.push_back(steps_[k].shape);
  return out;
}

std::vector<Shape> Model::output_shapes() const {
  std::vector<Shape> out;
  for (std::size_t k : outputs_) out.push_back(steps_[k].shape);
  return out;
}

Shape Model::packed_input_shape() const {
  if (inputs_.size() == 1) return steps_[inputs_[0]].shape;
  std::size_t width = 0;
  for (const Shape& s : input_shapes()) width += values_of(s);
  return {width};
}

Var Model::forward(const Var& x) {
  const Shape in = packed_input_shape();
  if (x.shape().size() != in.size() + 1 || per_sample(x.shape()) != in) {
    throw std::invalid_argument(
        "Model '" + name() + "': input of shape " + shape_string(x.shape()) +
        " does not fit; expected [batch, " + shape_string(in).substr(1) +
        (inputs_.size() > 1 ? " (its inputs side by side, Model::pack)" : ""));
  }
  std::vector<Var> values(steps_.size());
  // Several inputs arrive side by side in one row (pack()): each takes its columns back.
  std::vector<Var> parts = {x};
  if (inputs_.size() > 1) {
    std::vector<std::size_t> widths;
    for (const Shape& s : input_shapes()) widths.push_back(values_of(s));
    parts = split(x, widths, 1);
  }
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const ModelStep& s = steps_[i];
    if (s.kind == "input") {
      const Var& part = parts[inputs_.size() > 1 ? s.layer : 0];
      values[i] = part.shape() == with_batch(x.shape()[0], s.shape)
                      ? part
                      : reshape(part, with_batch(x.shape()[0], s.shape));
    } else if (s.kind == "layer") {
      values[i] = layers_[s.layer]->forward(values[s.inputs[0]]);
    } else if (s.kind == "add") {
      values[i] = values[s.inputs[0]] + values[s.inputs[1]];
    } else if (s.kind == "multiply") {
      values[i] = values[s.inputs[0]] * values[s.inputs[1]];
    } else {
      std::vector<Var> parts;
      for (std::size_t k : s.inputs) parts.push_back(values[k]);
      values[i] = concat(parts, 1);
    }
  }
  if (outputs_.size() == 1) return values[outputs_[0]];
  // Several outputs leave side by side, each as rows of its values.
  std::vector<Var> rows;
  for (std::size_t k : outputs_) {
    const Var& y = values[k];
    rows.push_back(y.shape().size() == 2 ? y
                                         : reshape(y, {x.shape()[0], values_of(steps_[k].shape)}));
  }
  return concat(rows, 1);
}

Tensor Model::pack(const std::vector<Tensor>& parts) const {
  const std::vector<Shape> shapes = input_shapes();
  if (parts.size() != shapes.size()) {
    throw std::invalid_argument("Model '" + name() + "': pack of " + std::to_string(parts.size()) +
                                " tensors for " + std::to_string(shapes.size()) + " inputs");
  }
  const std::size_t n = parts[0].shape().empty() ? 0 : parts[0].shape()[0];
  std::size_t width = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].shape() != with_batch(n, shapes[i])) {
      throw std::invalid_argument("Model '" + name() + "': input " + std::to_string(i) +
                                  " has shape " + shape_string(parts[i].shape()) + "; expected " +
                                  shape_string(with_batch(n, shapes[i])));
    }
    width += values_of(shapes[i]);
  }
  Tensor out = Tensor::from_shape({n, width});
  std::size_t at = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::size_t w = values_of(shapes[i]);
    for (std::size_t r = 0; r < n; ++r) {
      std::copy(parts[i].data() + r * w, parts[i].data() + (r + 1) * w,
                out.data() + r * width + at);
    }
    at += w;
  }
  return out;
}

std::vector<Tensor> Model::unpack(const Tensor& outputs) const {
  const std::vector<Shape> shapes = output_shapes();
  if (shapes.size() == 1) return {outputs};
  std::size_t width = 0;
  for (const Shape& s : shapes) width += values_of(s);
  if (outputs.shape().size() != 2 || outputs.shape()[1] != width) {
    throw std::invalid_argument("Model '" + name() + "': unpack of shape " +
                                shape_string(outputs.shape()) + "; expected [batch, " +
                                std::to_string(width) + "]");
  }
  const std::size_t n = outputs.shape()[0];
  std::vector<Tensor> out;
  std::size_t at = 0;
  for (const Shape& s : shapes) {
    const std::size_t w = values_of(s);
    Tensor part = Tensor::from_shape(with_batch(n, s));
    for (std::size_t r = 0; r < n; ++r) {
      std::copy(outputs.data() + r * width + at, outputs.data() + r * width + at + w,
                part.data() + r * w);
    }
    out.push_back(std::move(part));
    at += w;
  }
  return out;
}

Loss Model::loss(const std::vector<std::pair<Loss, double>>& per_output) const {
  const std::vector<Shape> shapes = output_shapes();
  if (per_output.size() != shapes.size()) {
    throw std::invalid_argument("Model '" + name() + "': " + std::to_string(per_output.size()) +
                                " losses for " + std::to_string(shapes.size()) + " outputs");
  }
  std::vector<Loss> losses;
  std::vector<double> weights;
  std::vector<std::size_t> widths;
  for (std::size_t k = 0; k < shapes.size(); ++k) {
    losses.push_back(per_output[k].first);
    weights.push_back(per_output[k].second);
    widths.push_back(values_of(shapes[k]));
  }
  return Loss::per_output(std::move(losses), std::move(weights), std::move(widths));
}

std::vector<Module*> Model::children() {
  std::vector<Module*> out;
  for (const auto& layer : layers_) out.push_back(layer.get());
  return out;
}

void Model::train(bool on) {
  Module::train(on);
  for (const auto& layer : layers_) layer->train(on);
}

Shape Model::output_shape(const Shape& input) const {
  const std::size_t n = input.empty() ? 0 : input[0];
  if (outputs_.size() == 1) return with_batch(n, steps_[outputs_[0]].shape);
  std::size_t width = 0;
  for (const Shape& s : output_shapes()) width += values_of(s);
  return {n, width};
}

std::size_t Model::input_features() const {
  const Shape in = packed_input_shape();
  return in.size() == 1 ? in[0] : 0;
}

Var Model::penalty() const {
  Var total;
  for (const auto& layer : layers_) {
    const Var p = layer->penalty();
    if (!p.defined()) continue;
    total = total.defined() ? total + p : p;
  }
  return total;
}

void Model::save_config(Record& config) const {
  std::vector<Record> steps;
  for (const ModelStep& s : steps_) {
    Record r;
    r.set("kind", s.kind);
    r.set("layer", static_cast<std::int64_t>(s.layer));
    r.set("inputs", std::vector<std::uint64_t>(s.inputs.begin(), s.inputs.end()));
    if (s.kind == "input")
      r.set("shape", std::vector<std::uint64_t>(s.shape.begin(), s.shape.end()));
    steps.push_back(std::move(r));
  }
  config.set("steps", std::move(steps));
  config.set("outputs", std::vector<std::uint64_t>(outputs_.begin(), outputs_.end()));
}

std::unique_ptr<Model> Model::from_record(const LayerRecord& record) {
  std::vector<std::shared_ptr<Module>> layers;
  for (const LayerRecord& child : record.children) {
    std::shared_ptr<Module> layer = build_layer(child);
    layer->set_name(child.name);
    layers.push_back(std::move(layer));
  }
  const Record& config = record.config;
  const std::vector<Record>& saved = config.records("steps");
  std::vector<ModelStep> steps;
  std::vector<bool> used(layers.size(), false);
  for (std::size_t i = 0; i < saved.size(); ++i) {
    const Record& r = saved[i];
    ModelStep s{r.text("kind"), 0, {}, {}};
    for (std::uint64_t k : r.integers("inputs")) {
      if (k >= i)
        config.fail("step " + std::to_string(i) + " reads step " + std::to_string(k) +
                    ", which does not come before it");
      s.inputs.push_back(static_cast<std::size_t>(k));
    }
    std::vector<Shape> in;
    for (std::size_t k : s.inputs) in.push_back(steps[k].shape);
    const std::size_t arity = s.kind == "input"    ? 0
                              : s.kind == "layer"  ? 1
                              : s.kind == "concat" ? s.inputs.size()
                                                   : 2;
    if ((s.kind != "input" && s.kind != "layer" && s.kind != "add" && s.kind != "multiply" &&
         s.kind != "concat") ||
        s.inputs.size() != arity || (s.kind == "concat" && arity < 2)) {
      config.fail("step " + std::to_string(i) + " ('" + s.kind + "' of " +
                  std::to_string(s.inputs.size()) + " inputs) is not a valid step");
    }
    if (s.kind == "input") {
      const auto& shape = r.integers("shape");
      if (shape.empty() || shape.size() > 8)
        config.fail("the input's shape has rank " + std::to_string(shape.size()));
      for (std::uint64_t d : shape) {
        if (d == 0 || d > (1u << 30))
          config.fail("the input's shape has dimension " + std::to_string(d));
        s.shape.push_back(static_cast<std::size_t>(d));
      }
      const std::int64_t position = r.integer("layer");  // its place among the inputs
      if (position < 0 || position > std::int64_t(saved.size()))
        config.fail("step " + std::to_string(i) + " is input " + std::to_string(position));
      s.layer = static_cast<std::size_t>(position);
    } else if (s.kind == "layer") {
      const std::int64_t l = r.integer("layer");
      if (l < 0 || static_cast<std::size_t>(l) >= layers.size())
        config.fail("step " + std::to_string(i) + " calls layer " + std::to_string(l) + " of " +
                    std::to_string(layers.size()));
      s.layer = static_cast<std::size_t>(l);
      used[s.layer] = true;
      s.shape = layer_shape(layers[s.layer].get(), in[0]);
    } else {
      const std::string step = "step " + std::to_string(i) + " (" + s.kind + ")";
      if (s.kind == "concat") {
        try {
          s.shape = concat_shape(in);
        } catch (const std::invalid_argument& e) {
          config.fail(step + " joins " + e.what());
        }
      } else if (in[1] != in[0]) {
        config.fail(step + " joins values of shapes that do not fit");
      } else {
        s.shape = in[0];
      }
    }
    steps.push_back(std::move(s));
  }
  if (steps.empty()) config.fail("the model has no steps");
  for (std::size_t l = 0; l < used.size(); ++l) {
    if (!used[l]) config.fail("layer " + std::to_string(l) + " is never called");
  }
  // Version 1 (one input, the first step; one output, the last) lists neither.
  std::vector<std::size_t> inputs, outputs = {steps.size() - 1};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].kind != "input") continue;
    if (steps[i].layer >= inputs.size()) inputs.resize(steps[i].layer + 1, steps.size());
    if (inputs[steps[i].layer] != steps.size())
      config.fail("two steps are input " + std::to_string(steps[i].layer));
    inputs[steps[i].layer] = i;
  }
  if (inputs.empty() || std::count(inputs.begin(), inputs.end(), steps.size()))
    config.fail("the model's inputs are not numbered 0 to n - 1");
  if (record.version >= 2) {
    outputs.clear();
    for (std::uint64_t k : config.integers("outputs")) {
      if (k >= steps.size())
        config.fail("output step " + std::to_string(k) + " of " + std::to_string(steps.size()));
      outputs.push_back(static_cast<std::size_t>(k));
    }
    if (outputs.empty()) config.fail("the model has no outputs");
  } else if (inputs.size() != 1 || inputs[0] != 0) {
    config.fail("a version 1 model has one input, its first step");
  }
  return std::unique_ptr<Model>(
      new Model(std::move(steps), std::move(layers), std::move(inputs), std::move(outputs)));
}

std::string Model::summary() const {
  // label, output shape, parameter count, inputs
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> names(steps_.size());
  std::map<std::string, int> counts;
  std::set<std::size_t> counted;
  std::size_t trainable = 0, fixed = 0;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const ModelStep& s = steps_[i];
    std::string label;
    std::size_t params = 0;
    if (s.kind == "layer") {
      Module& layer = *layers_[s.layer];
      const int call = ++counts[layer.name()];
      names[i] = layer.name() + (call > 1 ? "#" + std::to_string(call) : "");
      label = names[i] + " (" + layer.type() + ")";
      params = layer.parameter_count();
      if (counted.insert(s.layer).second) {
        trainable += params;
        fixed += layer.buffer_count();
      }
    } else {
      names[i] = s.kind != "input"     ? s.kind + "_" + std::to_string(i)
                 : inputs_.size() == 1 ? "input"
                                       : "input_" + std::to_string(s.layer);
      label = names[i] + (s.kind == "input" ? " (Input)" : "");
    }
    std::string shape = "(None";
    for (std::size_t d : s.shape) shape += ", " + std::to_string(d);
    shape += ")";
    std::string inputs;
    for (std::size_t k : s.inputs) inputs += (inputs.empty() ? "" : ", ") + names[k];
    rows.push_back({label, shape, std::to_string(params), inputs});
  }
  const std::vector<std::string> header{"Layer (type)", "Output Shape", "Param #", "Inputs"};
  const detail::SummaryTable table(rows, {36, 18, 10, 32});
  const std::size_t width = table.width();
  const std::string rule(width, '_'), double_rule(width, '=');
  std::ostringstream out;
  out << "Model: \"" << name() << "\"\n"
      << rule << "\n"
      << table.line(header) << double_rule << "\n";
  for (const auto& row : rows) out << table.line(row);
  out << double_rule << "\n";
  if (outputs_.size() > 1) {
    std::string list;
    for (std::size_t k : outputs_) list += (list.empty() ? "" : ", ") + names[k];
    out << "Outputs (side by side): " << list << "\n";
  }
  out << "Total params: " << trainable + fixed << "\n"
      << "Trainable params: " << trainable << "\n"
      << "Non-trainable params: " << fixed << "\n"
      << rule << "\n";
  return out.str();
}

}  // namespace retrograd::nn
