#pragma once
/// @file layer_registry.hpp
/// The layer registry: model files rebuild each layer from its type name through the factory
/// registered under that name. A layer registers in one line beside its class:
///
///     class Scale : public nn::Module { ...
///       static std::unique_ptr<Scale> from_record(const nn::LayerRecord& r);
///       void save_config(nn::Record& config) const override;  // what from_record reads
///     };
///     RETROGRAD_REGISTER_LAYER(Scale);
///
/// from_record reads r.config (what save_config wrote, at r.version) and builds the layer with
/// parameters and buffers of the shapes in r.tensors; the loader then copies the saved values
/// in by name. Sizes come from r.tensors, whose bytes the file really holds, never from a
/// number in the config alone: a few corrupt bytes must not ask for gigabytes.

#include <functional>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "retrograd/nn/module.hpp"
#include "retrograd/nn/record.hpp"
#include "retrograd/nn/registry.hpp"

namespace retrograd::nn {

/// One saved layer: what its factory gets.
struct LayerRecord {
  /// The registered type name ("Dense").
  std::string type;
  /// The layer's name ("dense_0").
  std::string name;
  /// config_version() of the layer that wrote it.
  std::int64_t version = 1;
  /// What save_config() wrote.
  Record config;
  /// The layer's own parameters and buffers by name ("W", "running_mean"), children's
  /// excluded.
  Record tensors;
  /// The records of children() in order.
  std::vector<LayerRecord> children;
};

/// Builds a layer from its record.
using LayerFactory = std::function<std::unique_ptr<Module>(const LayerRecord&)>;

/// The registry of layer types.
Registry<LayerFactory>& layer_registry();

/// Builds the layer a record describes through its registered factory and names it. Throws
/// std::invalid_argument for an unregistered type (listing the registered ones) and
/// RecordError for a record its factory cannot read.
std::unique_ptr<Module> build_layer(const LayerRecord& record);

/// The record of `layer` and its children (config and own tensors). Throws
/// std::invalid_argument when the layer's type() is not registered for its C++ type.
LayerRecord layer_record(Module& layer);

/// Registers `Layer` under `type`; `Layer::from_record(const LayerRecord&)` builds it.
template <class Layer>
bool register_layer(const std::string& type) {
  return layer_registry().add(type, typeid(Layer), [](const LayerRecord& record) {
    return std::unique_ptr<Module>(Layer::from_record(record));
  });
}

}  // namespace retrograd::nn

/// Registers a layer class under its name as written, which its type() must return
/// (`RETROGRAD_REGISTER_LAYER(Scale)`: "Scale"; `RETROGRAD_REGISTER_LAYER(my::Scale)`:
/// "my::Scale"). Write it at namespace scope beside the class.
#define RETROGRAD_REGISTER_LAYER(Layer) RETROGRAD_REGISTER_LAYER_AS(Layer, #Layer)
/// Registers a layer class (a qualified name is fine) under `type`, which its type() must
/// return.
#define RETROGRAD_REGISTER_LAYER_AS(Layer, type)                   \
  [[maybe_unused]] static const bool RETROGRAD_REGISTRATION_NAME = \
      ::retrograd::nn::register_layer<Layer>(type)
