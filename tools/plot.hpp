#pragma once
// Plots of a training history through gnuplot, when it is installed.

#include <retrograd/nn/sequential.hpp>
#include <string>

namespace retrograd::cli {

/// Draws loss and accuracy per epoch (train and validation) into `path`, a PNG or an SVG file
/// by its extension, with gnuplot. Returns a line for the user: where the plot went, or why
/// there is none and how to get one (gnuplot missing: which package to install). Throws
/// UsageError for another extension.
std::string plot_history(const nn::History& history, const std::string& path);

/// Throws the UsageError plot_history() would for `path` (an extension it cannot draw), before
/// any training.
void check_plot_path(const std::string& path);

}  // namespace retrograd::cli
