#pragma once
/// @file html.hpp
/// The backward pass as an interactive page: one self-contained HTML file (inline SVG, CSS and
/// JavaScript, nothing loaded from the network) in which a student steps through the forward
/// pass and then, gate by gate, the backward pass: upstream x local = downstream, and the sum
/// where an input collects gradients from several paths. The graph is laid out by Graphviz
/// when the page is written.

#include <string>

#include "retrograd/trace.hpp"
#include "retrograd/var.hpp"

namespace retrograd {

/// The page of a trace that has recorded a backward pass (see traced_backward). `title`
/// heads the page; by default it is the root's expression, e.g. "f = q * z".
/// Throws std::invalid_argument when the trace recorded no pass, and std::runtime_error when
/// Graphviz's `dot` is missing or fails.
template <class T>
std::string to_html(const Trace<T>& trace, const std::string& title = "");

/// Writes to_html(trace, title) to `path` (through a temporary file renamed over it, so a
/// reader never sees half a page); throws std::runtime_error naming the file if it cannot.
template <class T>
void write_html(const Trace<T>& trace, const std::string& path, const std::string& title = "");

/// Runs the backward pass of `f` as step_through does (traced_backward: gradients cleared
/// first, graph kept) and writes its page to `path`.
template <class T>
void write_html(const BasicVar<T>& f, const std::string& path, const std::string& title = "");

}  // namespace retrograd
