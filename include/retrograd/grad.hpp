#pragma once
/// @file grad.hpp
/// Gradients as values: `grad(outputs, inputs, options)` returns dL/d(input) for each input
/// without touching `.grad()`. With `create_graph` the gradients are Vars in a graph of their
/// own and can be differentiated again, to any order (Note [one rule, two paths] in node.hpp).
/// hvp, hessian and jacobian build on it.

#include <functional>
#include <vector>

#include "retrograd/tensor.hpp"
#include "retrograd/var.hpp"

namespace retrograd {

/// How grad() runs. An aggregate: `grad(f, {x}, {true})` in C++17, and in C++20
/// `grad(f, {x}, {.create_graph = true})` (the members are in this order for that).
struct GradOptions {
  /// Record the backward pass as ops: the gradients are Vars that can be differentiated again.
  /// Implies keeping the graph (the new graph reads the old one).
  bool create_graph = false;
  /// Keep the graph's inputs and rules so that backward or grad can run through it again.
  bool retain_graph = false;
  /// An input the outputs do not depend on gets an empty Var (defined() is false) instead of
  /// an error.
  bool allow_unused = false;
};

/// The gradient of the sum of `outputs` (each a single number) with respect to each of
/// `inputs`, in input order. Leaves' `.grad()` are left as they are. Throws
/// std::invalid_argument naming the input that the outputs do not use (unless allow_unused),
/// std::logic_error naming an output that does not require a gradient (a gradient computed
/// without create_graph is a constant), an op whose rule cannot run on Vars (create_graph), or
/// a node freed by an earlier backward.
std::vector<Var> grad(const std::vector<Var>& outputs, const std::vector<Var>& inputs,
                      const GradOptions& options = {});
/// grad() in double precision.
std::vector<VarD> grad(const std::vector<VarD>& outputs, const std::vector<VarD>& inputs,
                       const GradOptions& options = {});
/// grad() of one output.
std::vector<Var> grad(const Var& output, const std::vector<Var>& inputs,
                      const GradOptions& options = {});
/// grad() of one output, in double precision.
std::vector<VarD> grad(const VarD& output, const std::vector<VarD>& inputs,
                       const GradOptions& options = {});

/// Backpropagates from the single-number `output` into the `.grad()` of every leaf of its graph
/// that requires a gradient, as Var::backward does. With `options.create_graph` each leaf's
/// gradient is also a Var of a graph (read it with grad_var), which can be differentiated
/// again; the graph is then kept, as the new one reads it. Without it, this is
/// `output.backward(options.retain_graph)`. Throws what grad() throws. As with PyTorch's
/// backward(create_graph=True), a leaf whose gradient graph uses the leaf itself (d(x x)/dx =
/// 2 x) and that graph hold each other until zero_grad() or a plain backward replaces the
/// gradient (a later backward with create_graph then drops both): in a loop over fresh leaves,
/// prefer grad() with create_graph, which keeps nothing.
void backward(const Var& output, const GradOptions& options);
/// backward() in double precision.
void backward(const VarD& output, const GradOptions& options);

/// The gradient that `backward(output, {.create_graph = true})` accumulated in `leaf`, as a Var
/// of a graph. Throws std::logic_error naming the leaf when it has none (no such backward
/// reached it, or a plain backward or zero_grad came after it).
Var grad_var(const Var& leaf);
/// grad_var() in double precision.
VarD grad_var(const VarD& leaf);

/// A function of one Var, for the helpers below.
template <class T>
using VarFunction = std::function<BasicVar<T>(const BasicVar<T>&)>;

/// The Hessian-vector product H v of f at x (H the Hessian of the single-number f), by two
/// reverse passes: the gradient with create_graph, then the gradient of <grad, v>. Shaped
/// like x.
template <class T>
BasicTensor<T> hvp(const VarFunction<T>& f, const BasicTensor<T>& x, const BasicTensor<T>& v);

/// The Hessian of the single-number f at x, shaped [n, n] for the n elements of x (row i is
/// d(df/dx_i)/dx). One hvp per element: for small inputs.
template <class T>
BasicTensor<T> hessian(const VarFunction<T>& f, const BasicTensor<T>& x);

/// The Jacobian of f at x, shaped [m, n] for the m elements of f(x) and the n of x (row i is
/// d f_i / dx). One reverse pass per output element: for small outputs.
template <class T>
BasicTensor<T> jacobian(const VarFunction<T>& f, const BasicTensor<T>& x);

}  // namespace retrograd
