#pragma once
/// @file dot.hpp
/// Graphviz export of a graph, with names, ops, values and gradients.

#include <string>

#include "retrograd/var.hpp"

namespace retrograd {

/// The graph of `root` in Graphviz DOT: one box per node (label, op, value, gradient) and an
/// edge from each input to the node that uses it.
template <class T>
std::string to_dot(const BasicVar<T>& root);

/// Writes to_dot(root) to `path`; throws std::runtime_error naming the file if it cannot.
template <class T>
void write_dot(const BasicVar<T>& root, const std::string& path);

/// Renders a DOT file to SVG with Graphviz's `dot` program. Returns false (and renders
/// nothing) when `dot` is not installed; throws std::runtime_error when it fails.
bool render_svg(const std::string& dot_path, const std::string& svg_path);

}  // namespace retrograd
