#pragma once
// --optimizer NAME[:KEY=VALUE,...]: any registered optimizer (nn::optimizer_registry(); the name
// in any case, adamw or AdamW) with the settings to change from its defaults
// (nn::optimizer_defaults), e.g. adamw:weight_decay=0.01 or rmsprop:rho=0.95,momentum=0.9.

#include <memory>
#include <optional>
#include <retrograd/nn/optimizer.hpp>
#include <string>

namespace retrograd::cli {

/// The registered name a spec's NAME means ("adamw" -> "AdamW"), or nothing.
std::optional<std::string> registered_optimizer(const std::string& spec);

/// The optimizer of `spec` with learning rate `lr`. Throws UsageError naming the flag for an
/// unknown optimizer (listing the registered ones), an unknown setting (listing the ones it
/// knows) or a value it refuses.
std::unique_ptr<nn::Optimizer> optimizer_from_spec(const std::string& spec, double lr);

/// "SGD(momentum=0, nesterov=0, weight_decay=0), Adam(...)...": every registered optimizer with
/// its settings and defaults, for --help.
std::string optimizer_spec_help();

}  // namespace retrograd::cli
