#pragma once
// --model: an architecture written as one line of layers, e.g.
//   conv2d(32,3,padding=1) relu maxpool2d(2) flatten dense(128) relu dropout(0.25) dense(10)
// Layers are separated by spaces; each is a name, optionally followed by settings in
// parentheses, positional first (in the order the layer lists them) then KEY=VALUE. Sizes
// written AxB are height x width (a kernel of 3x2); one number means both. Input widths and
// channels are never written: each layer takes them from the shape the previous one gives.
// Any registered activation is a layer too (relu, leaky_relu(0.1), ...).

#include <optional>
#include <retrograd/nn/sequential.hpp>
#include <string>

namespace retrograd::cli {

/// The spec of a named preset for data of `classes` classes ("cnn"), or nothing for another
/// name. "mlp" is not a spec: it is --layers' dense network.
std::optional<std::string> model_preset(const std::string& name, std::size_t classes);

/// Appends the layers `spec` describes to `model`, for samples of shape `sample` ({784} for
/// rows, {1, 28, 28} for images). Throws UsageError "--model: layer K 'TEXT': ..." naming the
/// position, the layer and the settings it knows for an unknown layer or setting, a bad value,
/// or a layer that cannot take the shape it gets (the shape is named, and what would fix it).
void add_model_spec(nn::Sequential& model, const std::string& spec, const Shape& sample);

/// Checks what needs no shapes: the syntax, the layer names and their setting names. Throws
/// UsageError like add_model_spec.
void check_spec_names(const std::string& spec);

/// The layers a spec may name, one per line with their settings, for --help.
std::string model_spec_help();

/// True when the spec's first layer takes images ([batch, channels, height, width]).
bool spec_wants_images(const std::string& spec);

/// "1x28x28" as {1, 28, 28}. Throws UsageError naming `flag` for anything but 1 to 3 positive
/// whole numbers joined by x, each at most 2^20.
Shape parse_input_shape(const std::string& flag, const std::string& text);

}  // namespace retrograd::cli
