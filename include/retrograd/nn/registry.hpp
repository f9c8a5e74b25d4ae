#pragma once
/// @file registry.hpp
/// `Registry`: factories looked up by name. Layers, optimizers, activations, losses and
/// schedules each have one. A layer, optimizer, loss or schedule registers beside its class
/// (RETROGRAD_REGISTER_LAYER and its siblings); the built-in activations are listed where
/// activation_registry() is defined, a user's registers with register_activation. Model files
/// save and rebuild any registered kind with no edit in io. The command line takes the
/// activations, losses and schedules compiled into it by their registered names, but its
/// --optimizer choices and the Dense networks it builds are written in tools/, and it loads
/// only model files whose layers it was built with.

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <typeindex>
#include <vector>

namespace retrograd::nn {

/// Name -> entry. Registration normally happens during static initialization; lookups may
/// come from any thread.
template <class Entry>
class Registry {
 public:
  /// `kind` names the registry in errors ("layer", "optimizer").
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  /// Registers `entry` under `name` for the C++ type `type`. Registering the same name for the
  /// same type again is a no-op (a header included by many files); for another type it throws
  /// std::logic_error. Returns true, for use in a static initializer.
  bool add(const std::string& name, std::type_index type, Entry entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = entries_.find(name);
    if (it != entries_.end()) {
      if (it->second.type == type) return true;
      throw std::logic_error(kind_ + " '" + name + "' is registered twice, for " +
                             it->second.type.name() + " and for " + type.name());
    }
    entries_.emplace(name, Slot{type, std::move(entry)});
    return true;
  }
  /// The entry of `name`. Throws std::invalid_argument listing the registered names.
  const Entry& get(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = entries_.find(name);
    if (it == entries_.end()) {
      throw std::invalid_argument("unknown " + kind_ + " '" + name + "' (registered: " + joined() +
                                  ")");
    }
    return it->second.entry;
  }
  /// True when `name` is registered.
  bool contains(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.count(name) != 0;
  }
  /// True when `name` is registered for exactly the C++ type `type`.
  bool registered_as(const std::string& name, std::type_index type) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = entries_.find(name);
    return it != entries_.end() && it->second.type == type;
  }
  /// The registered names, sorted.
  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [name, slot] : entries_) out.push_back(name);
    return out;
  }
  /// The registered names as "a, b, c".
  std::string joined_names() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return joined();
  }
  /// "layer", "optimizer", ...
  const std::string& kind() const { return kind_; }

 private:
  std::string joined() const {
    std::string out;
    for (const auto& [name, slot] : entries_) out += (out.empty() ? "" : ", ") + name;
    return out;
  }
  struct Slot {
    std::type_index type;
    Entry entry;
  };
  std::string kind_;
  mutable std::mutex mutex_;
  std::map<std::string, Slot> entries_;
};

}  // namespace retrograd::nn

/// A fresh name for a registration variable: the registration macros take qualified names
/// (`my::Id`), which cannot be pasted into one. Each file that includes a registration runs it
/// once (internal linkage); registering the same name for the same type again is a no-op.
#define RETROGRAD_REGISTRATION_CONCAT_(a, b) a##b
#define RETROGRAD_REGISTRATION_CONCAT(a, b) RETROGRAD_REGISTRATION_CONCAT_(a, b)
#define RETROGRAD_REGISTRATION_NAME \
  RETROGRAD_REGISTRATION_CONCAT(retrograd_registered_, __COUNTER__)
