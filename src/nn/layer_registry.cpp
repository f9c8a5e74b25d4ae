#include "retrograd/nn/layer_registry.hpp"

#include <algorithm>

namespace retrograd::nn {

Registry<LayerFactory>& layer_registry() {
  static Registry<LayerFactory> registry("layer");
  return registry;
}

namespace {
/// True when `name` belongs to one of `children` ("dense_0.W" to "dense_0").
bool owned_by_child(const std::string& name, const std::vector<Module*>& children) {
  return std::any_of(children.begin(), children.end(), [&](const Module* child) {
    const std::string& prefix = child->name();
    return name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
           name[prefix.size()] == '.';
  });
}

/// The module's own tensors (children's excluded), as pointers with their names.
std::vector<std::pair<std::string, Tensor*>> own_tensors(Module& module) {
  const std::vector<Module*> children = module.children();
  std::vector<std::pair<std::string, Tensor*>> out;
  for (NamedParameter<float>& p : module.named_parameters()) {
    if (!owned_by_child(p.name, children)) out.emplace_back(p.name, &p.var.value());
  }
  for (const NamedBuffer<float>& b : module.named_buffers()) {
    if (!owned_by_child(b.name, children)) out.emplace_back(b.name, b.tensor);
  }
  return out;
}
}  // namespace

LayerRecord layer_record(Module& layer) {
  if (!layer_registry().registered_as(layer.type(), typeid(layer))) {
    throw std::invalid_argument(
        "layer '" + layer.name() + "' of type " + layer.type() +
        " cannot be saved: its class is not registered under that name "
        "(write RETROGRAD_REGISTER_LAYER(" +
        layer.type() + ") beside it; registered: " + layer_registry().joined_names() + ")");
  }
  LayerRecord record;
  record.type = layer.type();
  record.name = layer.name();
  record.version = layer.config_version();
  record.config.set_context("layer '" + layer.name() + "' config");
  layer.save_config(record.config);
  for (const auto& [name, tensor] : own_tensors(layer)) record.tensors.set(name, *tensor);
  for (Module* child : layer.children()) record.children.push_back(layer_record(*child));
  return record;
}

namespace {
/// Throws the registry's error for the first type in `record`'s tree that is not registered,
/// before any factory runs: a parent's factory would report its child's as invalid settings of
/// its own, and a type this program has not registered is no damage to the file.
void require_registered(const LayerRecord& record) {
  layer_registry().get(record.type);
  for (const LayerRecord& child : record.children) require_registered(child);
}
}  // namespace

std::unique_ptr<Module> build_layer(const LayerRecord& record) {
  require_registered(record);
  const LayerFactory& factory = layer_registry().get(record.type);
  std::unique_ptr<Module> layer;
  try {
    layer = factory(record);
  } catch (const RecordError&) {
    throw;
  } catch (const std::exception& e) {
    // A constructor's range check (a rate outside [0, 1)...) on saved settings means corruption.
    record.config.fail(std::string("invalid settings: ") + e.what());
  }
  layer->set_name(record.name);
  const auto own = own_tensors(*layer);
  std::string problems;
  const auto add = [&](const std::string& problem) {
    problems += (problems.empty() ? "" : "; ") + problem;
  };
  for (const auto& [name, tensor] : own) {
    if (!record.tensors.has(name)) {
      add("missing tensor '" + name + "'");
    } else if (record.tensors.tensor(name).shape() != tensor->shape()) {
      add("tensor '" + name + "' has shape " + shape_string(record.tensors.tensor(name).shape()) +
          ", the layer needs " + shape_string(tensor->shape()));
    }
  }
  if (record.tensors.size() != own.size() && problems.empty()) {
    add(std::to_string(record.tensors.size()) + " saved tensors for " + std::to_string(own.size()) +
        " in the layer");
  }
  if (!problems.empty()) record.tensors.fail(problems);
  for (const auto& [name, tensor] : own) *tensor = record.tensors.tensor(name);
  return layer;
}

}  // namespace retrograd::nn
