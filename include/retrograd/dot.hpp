#pragma once
/// @file dot.hpp
/// Graphviz export of a graph, with names, values and gradients, named as the Trace names them.

#include <string>

#include "retrograd/trace.hpp"
#include "retrograd/var.hpp"

namespace retrograd {

/// The graph of `root` in Graphviz DOT: one box per node (its name and expression, its value
/// and its gradient, as "df/dx = -4") and an edge from each input to the node that uses it;
/// left to right, or top to bottom when some value is a tensor of several numbers.
/// Node names are those of Trace (and step_through): x, q, n1, ...
template <class T>
std::string to_dot(const BasicVar<T>& root);

/// The graph of a trace: as to_dot(root), with the gradients of the trace's backward pass and,
/// on every edge, the gradient that the pass sent along it.
template <class T>
std::string to_dot(const Trace<T>& trace);

/// Writes to_dot(root) to `path`; throws std::runtime_error naming the file if it cannot.
template <class T>
void write_dot(const BasicVar<T>& root, const std::string& path);

/// Renders a DOT file to SVG with Graphviz's `dot` program. Returns false (and renders
/// nothing) when `dot` is not installed; throws std::runtime_error when it fails.
bool render_svg(const std::string& dot_path, const std::string& svg_path);

/// Lays out DOT text with Graphviz's `dot` program and returns the SVG text. Throws
/// std::runtime_error when `dot` is not installed or fails.
std::string svg_from_dot(const std::string& dot);

namespace detail {
/// The text shown in a graph box for a value or gradient: a single number in full, the
/// values of a small tensor to four digits, only the shape of a larger one.
template <class T>
std::string box_string(const BasicTensor<T>& t);

/// The text of node `i`'s gradient box after it has received `path` of its gradients, the
/// latest sum being `total`: "df/dx = 3 (1 of 2)" before the last path, "df/dx = -1" after it.
template <class T>
std::string gradient_box(const Trace<T>& trace, std::size_t i, const BasicTensor<T>& total,
                         std::size_t path);

/// to_dot(trace) for the interactive page: each gradient box holds the longest text the page
/// will show in it, so that the layout leaves room for every partial sum.
template <class T>
std::string page_dot(const Trace<T>& trace);
}  // namespace detail

}  // namespace retrograd
