#include "optimizer_spec.hpp"

#include <algorithm>
#include <cctype>
#include <retrograd/nn/schedule.hpp>
#include <sstream>
#include <variant>

#include "commands.hpp"

namespace retrograd::cli {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string value_text(const nn::Record::Value& v) {
  std::ostringstream out;
  if (const auto* i = std::get_if<std::int64_t>(&v)) out << *i;
  if (const auto* d = std::get_if<double>(&v)) out << *d;
  if (const auto* t = std::get_if<std::string>(&v)) out << *t;
  return out.str();
}

std::string settings_text(const nn::Record& defaults) {
  std::string out;
  for (const auto& [key, value] : defaults.fields()) {
    out += (out.empty() ? "" : ", ") + key + "=" + value_text(value);
  }
  return out;
}

}  // namespace

std::optional<std::string> registered_optimizer(const std::string& spec) {
  const std::string name = lower(spec.substr(0, spec.find(':')));
  for (const std::string& registered : nn::optimizer_registry().names()) {
    if (lower(registered) == name) return registered;
  }
  return std::nullopt;
}

std::unique_ptr<nn::Optimizer> optimizer_from_spec(const std::string& spec, double lr) {
  const std::optional<std::string> name = registered_optimizer(spec);
  if (!name) {
    throw UsageError("--optimizer: unknown '" + spec.substr(0, spec.find(':')) +
                     "' (sgd, momentum, nesterov, adam, or a registered optimizer: " +
                     nn::optimizer_registry().joined_names() + ", in any case)");
  }
  nn::Record config = nn::optimizer_defaults(*name);
  config.set_context("--optimizer " + spec);
  if (spec.find(':') != std::string::npos) {
    std::pair<std::string, nn::Record> parsed;
    try {
      parsed = nn::parse_schedule_spec(spec);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--optimizer: ") + e.what());
    }
    for (const auto& [key, value] : parsed.second.fields()) {
      if (!config.has(key)) {
        throw UsageError("--optimizer: " + *name + " has no setting '" + key +
                         "' (its settings: " + settings_text(nn::optimizer_defaults(*name)) + ")");
      }
      config.set(key, value);
    }
  }
  try {
    return nn::optimizer_registry().get(*name)(lr, config);
  } catch (const std::invalid_argument& e) {
    throw UsageError("--optimizer: " + spec + ": " + e.what());
  }
}

std::string optimizer_spec_help() {
  std::string out;
  for (const std::string& name : nn::optimizer_registry().names()) {
    out += (out.empty() ? "" : ", ") + lower(name) + "(" +
           settings_text(nn::optimizer_defaults(name)) + ")";
  }
  return out;
}

}  // namespace retrograd::cli
