#include "model_spec.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <retrograd/nn/activation.hpp>
#include <retrograd/nn/conv2d.hpp>
#include <retrograd/nn/dense.hpp>
#include <retrograd/nn/flatten.hpp>
#include <retrograd/nn/pooling.hpp>
#include <retrograd/nn/regularization.hpp>
#include <sstream>
#include <vector>

#include "cli_checks.hpp"
#include "commands.hpp"

namespace retrograd::cli {

namespace {

// The largest kernel, stride, padding or dilation a spec may ask for.
constexpr std::uint64_t max_window = 1 << 16;
// The most values one sample may have after any layer (64 MiB of floats).
constexpr std::size_t max_values_per_sample = std::size_t(1) << 24;

/// One layer as written: its name and settings.
struct Item {
  std::size_t position;
  std::string text;
  std::string name;
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> named;
};

std::vector<Item> split_spec(const std::string& spec) {
  std::vector<Item> items;
  std::size_t i = 0;
  while (i < spec.size()) {
    if (std::isspace(static_cast<unsigned char>(spec[i]))) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < spec.size() && !std::isspace(static_cast<unsigned char>(spec[i])) && spec[i] != '(')
      ++i;
    Item item{items.size() + 1, "", spec.substr(start, i - start), {}, {}};
    if (i < spec.size() && spec[i] == '(') {
      const std::size_t close = spec.find(')', i);
      if (close == std::string::npos) {
        throw UsageError("--model: layer " + std::to_string(item.position) + " '" +
                         spec.substr(start) + "': '(' without ')'");
      }
      std::stringstream settings(spec.substr(i + 1, close - i - 1));
      std::string part;
      while (std::getline(settings, part, ',')) {
        part.erase(0, part.find_first_not_of(" \t"));
        part.erase(part.find_last_not_of(" \t") + 1);
        const std::size_t eq = part.find('=');
        if (eq == std::string::npos) {
          if (!item.named.empty()) {
            throw UsageError("--model: layer " + std::to_string(item.position) + " '" +
                             spec.substr(start, close + 1 - start) + "': positional setting '" +
                             part + "' after a KEY=VALUE one");
          }
          item.positional.push_back(part);
        } else {
          item.named.emplace_back(part.substr(0, eq), part.substr(eq + 1));
        }
      }
      i = close + 1;
    }
    item.text = spec.substr(start, i - start);
    items.push_back(std::move(item));
  }
  return items;
}

/// A layer's settings by name, with the checks every layer needs.
class Settings {
 public:
  Settings(const Item& item, const std::vector<std::string>& known) : item_(item), known_(known) {
    if (item.positional.size() > known.size()) {
      fail("takes at most " + std::to_string(known.size()) + " settings (" + joined() + ")");
    }
    for (std::size_t k = 0; k < item.positional.size(); ++k) values_[known[k]] = item.positional[k];
    for (const auto& [key, value] : item.named) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        fail("unknown setting '" + key + "' (" + item.name + " knows: " + joined() + ")");
      }
      if (values_.count(key)) fail("setting '" + key + "' is given twice");
      values_[key] = value;
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw UsageError("--model: layer " + std::to_string(item_.position) + " '" + item_.text +
                     "': " + what);
  }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::uint64_t whole(const std::string& key, std::uint64_t low, std::uint64_t high,
                      std::optional<std::uint64_t> fallback = {}) const {
    if (!has(key)) {
      if (!fallback)
        fail("needs the setting '" + key + "' (" + item_.name + " knows: " + joined() + ")");
      return *fallback;
    }
    return parse_whole(key, values_.at(key), low, high);
  }
  Size2 size2(const std::string& key, std::uint64_t low, std::optional<Size2> fallback) const {
    if (!has(key)) {
      if (!fallback)
        fail("needs the setting '" + key + "' (" + item_.name + " knows: " + joined() + ")");
      return *fallback;
    }
    const std::string& v = values_.at(key);
    const std::size_t x = v.find('x');
    if (x == std::string::npos) return parse_whole(key, v, low, max_window);
    return {parse_whole(key, v.substr(0, x), low, max_window),
            parse_whole(key, v.substr(x + 1), low, max_window)};
  }
  double number(const std::string& key, double low, double high, double fallback) const {
    if (!has(key)) return fallback;
    const std::string& v = values_.at(key);
    std::size_t used = 0;
    double d = 0;
    try {
      d = std::stod(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v.size() || v.empty() || !std::isfinite(d) || d < low || d > high) {
      fail(key + " must be a number in [" + text_of(low) + ", " + text_of(high) + "], got '" + v +
           "'");
    }
    return d;
  }

 private:
  static std::string text_of(double d) {
    std::ostringstream out;
    out << d;
    return out.str();
  }
  std::uint64_t parse_whole(const std::string& key, const std::string& v, std::uint64_t low,
                            std::uint64_t high) const {
    const bool digits = !v.empty() && v.size() <= 19 && std::all_of(v.begin(), v.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    const std::uint64_t n = digits ? std::stoull(v) : 0;
    if (!digits || n < low || n > high) {
      fail(key + " must be a whole number from " + std::to_string(low) + " to " +
           std::to_string(high) + ", got '" + v + "'");
    }
    return n;
  }
  std::string joined() const {
    std::string out;
    for (const std::string& k : known_) out += (out.empty() ? "" : ", ") + k;
    return out.empty() ? "no settings" : out;
  }
  const Item& item_;
  const std::vector<std::string>& known_;
  std::map<std::string, std::string> values_;
};

std::string shape_text(const Shape& s) {
  std::string out = "(None";
  for (std::size_t d = 1; d < s.size(); ++d) out += ", " + std::to_string(s[d]);
  return out + ")";
}

/// What a spec layer needs to be built: its settings and the shape it gets.
using Builder = std::function<std::unique_ptr<nn::Module>(const Settings&, const Shape& in)>;

struct SpecLayer {
  std::vector<std::string> settings;
  std::string help;
  Builder build;
};

void require_images(const Settings& s, const Shape& in) {
  if (in.size() != 4) {
    s.fail("takes images [batch, channels, height, width] but gets " + shape_text(in) +
           (in.size() == 2 ? ": give --input-shape CxHxW (an IDX directory is 1x28x28 by itself)"
                           : ""));
  }
}

/// Checks that a window fits the image, with the op's message.
void require_window(const Settings& s, const Shape& in, Size2 kernel, Size2 stride, Size2 padding,
                    Size2 dilation) {
  try {
    window_output_extent("window", "height", in[2], kernel.h, stride.h, padding.h, dilation.h);
    window_output_extent("window", "width", in[3], kernel.w, stride.w, padding.w, dilation.w);
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    s.fail(what.substr(what.find(": ") + 2) + ", for input " + shape_text(in));
  }
}

std::unique_ptr<nn::Module> window_pool(const Settings& s, const Shape& in, bool max) {
  require_images(s, in);
  const Size2 kernel = s.size2("kernel", 1, std::nullopt);
  const Size2 stride = s.size2("stride", 1, kernel);
  const Size2 padding = s.size2("padding", 0, Size2(0));
  if (padding.h > kernel.h / 2 || padding.w > kernel.w / 2) {
    s.fail("padding " + size2_string(padding) + " is more than half the kernel " +
           size2_string(kernel));
  }
  require_window(s, in, kernel, stride, padding, 1);
  if (max) return std::make_unique<nn::MaxPool2D>(kernel, stride, padding);
  return std::make_unique<nn::AvgPool2D>(kernel, stride, padding);
}

const std::map<std::string, SpecLayer>& spec_layers() {
  static const std::map<std::string, SpecLayer> layers = {
      {"dense",
       {{"units"},
        "Dense: units outputs from [batch, features] (He-initialized)",
        [](const Settings& s, const Shape& in) -> std::unique_ptr<nn::Module> {
          if (in.size() != 2) {
            s.fail("takes [batch, features] but gets " + shape_text(in) +
                   ": add flatten before it");
          }
          const std::uint64_t units = s.whole("units", 1, max_layer_width);
          if (in[1] * units > max_parameters) {
            s.fail(std::to_string(in[1]) + " x " + std::to_string(units) +
                   " weights are above the limit of " + std::to_string(max_parameters));
          }
          return std::make_unique<nn::Dense>(in[1], units, nn::Activation::linear(),
                                             nn::Initializer::he_uniform());
        }}},
      {"conv2d",
       {{"filters", "kernel", "stride", "padding", "dilation", "bias", "groups"},
        "Conv2D: filters output channels, kernel KxK or HxW, stride, padding, dilation (1), "
        "bias (1 or 0), groups (1; the input's channels: depthwise)",
        [](const Settings& s, const Shape& in) -> std::unique_ptr<nn::Module> {
          require_images(s, in);
          const std::uint64_t filters = s.whole("filters", 1, max_layer_width);
          nn::Conv2DOptions o;
          const Size2 kernel = s.size2("kernel", 1, std::nullopt);
          o.stride = s.size2("stride", 1, Size2(1));
          o.padding = s.size2("padding", 0, Size2(0));
          o.dilation = s.size2("dilation", 1, Size2(1));
          o.bias = s.whole("bias", 0, 1, 1) == 1;
          o.groups = s.whole("groups", 1, max_layer_width, 1);
          require_window(s, in, kernel, o.stride, o.padding, o.dilation);
          if (filters * (in[1] / o.groups) * kernel.h * kernel.w > max_parameters) {
            s.fail("more weights than the limit of " + std::to_string(max_parameters));
          }
          try {
            return std::make_unique<nn::Conv2D>(in[1], filters, kernel, o);
          } catch (const std::invalid_argument& e) {  // groups that do not divide the channels
            s.fail(e.what());
          }
        }}},
      {"maxpool2d",
       {{"kernel", "stride", "padding"},
        "MaxPool2D: the largest of each kernel window, stride (the kernel), padding",
        [](const Settings& s, const Shape& in) { return window_pool(s, in, true); }}},
      {"avgpool2d",
       {{"kernel", "stride", "padding"},
        "AvgPool2D: the mean of each kernel window, stride (the kernel), padding",
        [](const Settings& s, const Shape& in) { return window_pool(s, in, false); }}},
      {"globalavgpool2d",
       {{},
        "GlobalAvgPool2D: each channel's mean, [batch, channels]",
        [](const Settings& s, const Shape& in) -> std::unique_ptr<nn::Module> {
          require_images(s, in);
          return std::make_unique<nn::GlobalAvgPool2D>();
        }}},
      {"flatten",
       {{},
        "Flatten: each sample to one row, in C-H-W order",
        [](const Settings&, const Shape&) -> std::unique_ptr<nn::Module> {
          return std::make_unique<nn::Flatten>();
        }}},
      {"batchnorm",
       {{"momentum", "eps"},
        "BatchNorm: per feature, or per channel of images; momentum (0.1), eps (1e-5)",
        [](const Settings& s, const Shape& in) -> std::unique_ptr<nn::Module> {
          if (in.size() != 2 && in.size() != 4) {
            s.fail("takes [batch, features] or images, but gets " + shape_text(in));
          }
          return std::make_unique<nn::BatchNorm>(in[1], s.number("momentum", 0, 1, 0.1),
                                                 s.number("eps", 1e-12, 1, 1e-5));
        }}},
      {"dropout",
       {{"rate"},
        "Dropout: zeroes each value with probability rate while training",
        [](const Settings& s, const Shape&) -> std::unique_ptr<nn::Module> {
          if (!s.has("rate")) s.fail("needs the setting 'rate' (dropout knows: rate)");
          return std::make_unique<nn::Dropout>(s.number("rate", 0, 0.999999, 0));
        }}},
  };
  return layers;
}

/// Spellings that name the same layer.
std::string canonical(const std::string& name) {
  static const std::map<std::string, std::string> aliases = {
      {"conv", "conv2d"},          {"max_pool2d", "maxpool2d"},
      {"maxpool", "maxpool2d"},    {"avg_pool2d", "avgpool2d"},
      {"avgpool", "avgpool2d"},    {"global_avg_pool2d", "globalavgpool2d"},
      {"batch_norm", "batchnorm"},
  };
  const auto it = aliases.find(name);
  return it == aliases.end() ? name : it->second;
}

std::string known_layers() {
  std::string out;
  for (const auto& [name, layer] : spec_layers()) out += (out.empty() ? "" : ", ") + name;
  return out + ", or an activation (" + nn::activation_registry().joined_names() + ")";
}

}  // namespace

std::optional<std::string> model_preset(const std::string& name, std::size_t classes) {
  if (name == "cnn") {
    return "conv2d(32,3,padding=1) relu maxpool2d(2) conv2d(64,3,padding=1) relu maxpool2d(2) "
           "flatten dense(128) relu dropout(0.25) dense(" +
           std::to_string(classes) + ")";
  }
  return std::nullopt;
}

bool spec_wants_images(const std::string& spec) {
  const std::vector<Item> items = split_spec(spec);
  if (items.empty()) return false;
  const std::string first = canonical(items.front().name);
  return first == "conv2d" || first == "maxpool2d" || first == "avgpool2d" ||
         first == "globalavgpool2d";
}

void check_spec_names(const std::string& spec) {
  const std::vector<Item> items = split_spec(spec);
  if (items.empty()) throw UsageError("--model: the spec '" + spec + "' names no layer");
  for (const Item& item : items) {
    const auto found = spec_layers().find(canonical(item.name));
    if (found != spec_layers().end()) {
      const Settings settings(item, found->second.settings);
    } else if (!nn::activation_registry().contains(canonical(item.name))) {
      throw UsageError("--model: layer " + std::to_string(item.position) + " '" + item.text +
                       "': unknown layer '" + item.name + "' (known: " + known_layers() + ")");
    }
  }
}

void add_model_spec(nn::Sequential& model, const std::string& spec, const Shape& sample) {
  const std::vector<Item> items = split_spec(spec);
  if (items.empty()) throw UsageError("--model: the spec '" + spec + "' names no layer");
  Shape shape(sample.size() + 1);
  std::copy(sample.begin(), sample.end(), shape.begin() + 1);
  for (const Item& item : items) {
    const std::string name = canonical(item.name);
    const auto found = spec_layers().find(name);
    std::unique_ptr<nn::Module> layer;
    if (found != spec_layers().end()) {
      const Settings settings(item, found->second.settings);
      layer = found->second.build(settings, shape);
    } else if (nn::activation_registry().contains(name)) {
      static const std::vector<std::string> parameter = {"parameter"};
      const Settings settings(item, parameter);
      std::optional<double> value;
      if (settings.has("parameter")) value = settings.number("parameter", -1e6, 1e6, 0);
      try {
        layer = std::make_unique<nn::ActivationLayer>(nn::Activation::from_name(name, value));
      } catch (const std::invalid_argument& e) {
        settings.fail(e.what());
      }
    } else {
      throw UsageError("--model: layer " + std::to_string(item.position) + " '" + item.text +
                       "': unknown layer '" + item.name + "' (known: " + known_layers() + ")");
    }
    shape = layer->output_shape(shape);
    // Padding and strides from a flag must not ask a batch for gigabytes.
    std::size_t per_sample = 1;
    for (std::size_t d = 1; d < shape.size(); ++d) per_sample *= shape[d];
    if (per_sample > max_values_per_sample) {
      throw UsageError("--model: layer " + std::to_string(item.position) + " '" + item.text +
                       "' gives " + shape_text(shape) + ", more than " +
                       std::to_string(max_values_per_sample) + " values per sample");
    }
    model.add(std::move(layer));
  }
}

std::string model_spec_help() {
  std::string out;
  for (const auto& [name, layer] : spec_layers()) {
    std::string settings;
    for (const std::string& s : layer.settings) settings += (settings.empty() ? "" : ",") + s;
    out += "  " + name + (settings.empty() ? "" : "(" + settings + ")") + ": " + layer.help + "\n";
  }
  out += "  activations: " + nn::activation_registry().joined_names() + "\n";
  return out;
}

Shape parse_input_shape(const std::string& flag, const std::string& text) {
  Shape shape;
  std::stringstream parts(text);
  std::string part;
  while (std::getline(parts, part, 'x')) {
    const bool digits =
        !part.empty() && part.size() <= 7 &&
        std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    const std::uint64_t d = digits ? std::stoull(part) : 0;
    if (!digits || d == 0 || d > (1u << 20)) {
      throw UsageError(flag + ": '" + text +
                       "' must be 1 to 3 positive whole numbers joined by x, "
                       "such as 1x28x28");
    }
    shape.push_back(d);
  }
  if (shape.empty() || shape.size() > 3 || text.back() == 'x') {
    throw UsageError(flag + ": '" + text +
                     "' must be 1 to 3 positive whole numbers joined by x, "
                     "such as 1x28x28");
  }
  return shape;
}

}  // namespace retrograd::cli
