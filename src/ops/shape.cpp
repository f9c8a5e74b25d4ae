// Shape ops: the same values arranged differently (reshape and its relatives, permute,
// broadcast_to), joined (concat, stack), cut (split, slice), padded, or detached. Each backward
// is the inverse arrangement of the upstream gradient, written with the tensor kernels below,
// which are the same arrangements on tensors: a slice's gradient is the gradient padded back
// with zeros (scatter_along), a permute's the inverse permute, a broadcast's a sum.

#include <numeric>

#include "ops/op_machinery.hpp"
#include "ops/op_rows.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {
using namespace detail;

namespace {
/// g under another shape of the same size, on either side.
template <class T>
BasicTensor<T> reshape_to(Grad<T> g, const Shape& shape) {
  BasicTensor<T> out = g;
  out.reshape(shape);
  return out;
}
template <class T>
BasicVar<T> reshape_to(const BasicVar<T>& g, const Shape& shape) {
  return reshape(g, shape);
}

/// x's values under a new shape of the same size, as the node `op` (reshape, flatten, ...).
template <class T>
BasicVar<T> reshaped(const char* op, const BasicVar<T>& x, const Shape& shape) {
  const Node<T>& nx = *node_of(op, x);
  if (shape_size(shape) != nx.size()) {
    throw std::invalid_argument(std::string(op) + ": cannot reshape " + shape_string(nx.shape()) +
                                " (" + std::to_string(nx.size()) + " elements) to " +
                                shape_string(shape) + " (" + std::to_string(shape_size(shape)) +
                                " elements)");
  }
  BasicTensor<T> out = nx.value();
  out.reshape(shape);
  return record<T>(op, std::move(out), {x.node()}, two_paths<T>([](const auto& n, const auto& g) {
                     // the same values: g under the input's shape
                     return n.grads(reshape_to(g, n.input(0).shape()));
                   }));
}

std::vector<std::size_t> inverse_permutation(const std::vector<std::size_t>& axes) {
  std::vector<std::size_t> inverse(axes.size());
  for (std::size_t i = 0; i < axes.size(); ++i) inverse[axes[i]] = i;
  return inverse;
}

/// The kernel of permute, on tensors and on Vars.
template <class T>
BasicTensor<T> permuted(const BasicTensor<T>& t, const std::vector<std::size_t>& axes) {
  return BasicTensor<T>(xt::transpose(t, axes));
}
template <class T>
BasicVar<T> permuted(const BasicVar<T>& v, const std::vector<std::size_t>& axes) {
  return permute(v, std::vector<int>(axes.begin(), axes.end()));
}

/// A part of `t` along one axis: `count` positions from `begin`, `step` apart (negative steps
/// walk backwards), `t` seen as [outer, extent, inner].
struct Strided {
  std::size_t axis;
  std::int64_t begin, step;
  std::size_t count;
};

/// The tensor kernel of slice.
template <class T>
BasicTensor<T> gather_along(const BasicTensor<T>& t, const Strided& part) {
  const AxisSplit s = split_at(t.shape(), part.axis);
  Shape shape = t.shape();
  shape[part.axis] = part.count;
  BasicTensor<T> out = BasicTensor<T>::from_shape(shape);
  T* o = out.data();
  for (std::size_t outer = 0; outer < s.outer; ++outer) {
    for (std::size_t k = 0; k < part.count; ++k) {
      const auto at =
          static_cast<std::size_t>(part.begin + static_cast<std::int64_t>(k) * part.step);
      const T* from = t.data() + s.at(outer, at, 0);
      o = std::copy(from, from + s.inner, o);
    }
  }
  return out;
}

/// The inverse of gather_along: `g` added into `into` at the part's positions (a scatter-add;
/// on zeros, the gradient of a slice).
template <class T>
void scatter_along(const BasicTensor<T>& g, const Strided& part, BasicTensor<T>& into) {
  const AxisSplit s = split_at(into.shape(), part.axis);
  const T* from = g.data();
  for (std::size_t outer = 0; outer < s.outer; ++outer) {
    for (std::size_t k = 0; k < part.count; ++k) {
      const auto at =
          static_cast<std::size_t>(part.begin + static_cast<std::int64_t>(k) * part.step);
      T* to = into.data() + s.at(outer, at, 0);
      for (std::size_t i = 0; i < s.inner; ++i) to[i] += from[i];
      from += s.inner;
    }
  }
}

/// g back at the positions a part was taken from, zeros elsewhere: on tensors, and on Vars as
/// a scatter_add to those positions (whose own gradient is the part again).
template <class T>
BasicTensor<T> unpart(Grad<T> g, const Strided& part, const Shape& shape) {
  BasicTensor<T> dx = zeros<T>(shape);
  scatter_along(g, part, dx);
  return dx;
}
template <class T>
BasicVar<T> unpart(const BasicVar<T>& g, const Strided& part, const Shape& shape) {
  const AxisSplit s = split_at(shape, part.axis);
  auto at = std::make_shared<std::vector<std::size_t>>();
  at->reserve(g.size());
  for (std::size_t outer = 0; outer < s.outer; ++outer) {
    for (std::size_t k = 0; k < part.count; ++k) {
      const auto row =
          static_cast<std::size_t>(part.begin + static_cast<std::int64_t>(k) * part.step);
      for (std::size_t i = 0; i < s.inner; ++i) at->push_back(s.at(outer, row, i));
    }
  }
  return scatter_add(g, Positions(std::move(at)), shape);
}

/// A part along one axis as its own node `op` (slice, split).
template <class T>
BasicVar<T> part_of(const char* op, const BasicVar<T>& x, const Strided& part) {
  return record<T>(op, gather_along(x.value(), part), {x.node()},
                   two_paths<T>([part](const auto& n, const auto& g) {
                     // g back at the positions the part was taken from, zeros elsewhere
                     return n.grads(unpart(g, part, n.input(0).shape()));
                   }));
}

/// The part of g along one axis, on tensors and on Vars (a slice).
template <class T>
BasicTensor<T> part_of_grad(Grad<T> g, const Strided& part) {
  return gather_along(g, part);
}
template <class T>
BasicVar<T> part_of_grad(const BasicVar<T>& g, const Strided& part) {
  return part_of("slice", g, part);
}

/// pad's gradient, the interior of g: one strided view on tensors, a slice per axis on Vars.
template <class T>
BasicTensor<T> interior_of(Grad<T> g, const xt::xstrided_slice_vector& interior,
                           const std::vector<std::pair<std::size_t, std::size_t>>&, const Shape&) {
  return BasicTensor<T>(xt::strided_view(g, interior));
}
template <class T>
BasicVar<T> interior_of(const BasicVar<T>& g, const xt::xstrided_slice_vector&,
                        const std::vector<std::pair<std::size_t, std::size_t>>& widths,
                        const Shape& shape) {
  BasicVar<T> out = g;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    out =
        part_of("slice", out, Strided{d, static_cast<std::int64_t>(widths[d].first), 1, shape[d]});
  }
  return out;
}

/// The inputs' nodes, refusing an empty list or an empty Var.
template <class T>
InputList<T> nodes_of(const char* op, const std::vector<BasicVar<T>>& xs) {
  if (xs.empty()) throw std::invalid_argument(std::string(op) + ": no inputs");
  std::vector<NodePtr<T>> nodes;
  for (const BasicVar<T>& x : xs) nodes.push_back(node_of(op, x));
  return InputList<T>(std::move(nodes));
}

/// concat and stack: the inputs, each seen as [outer, extent_j, inner], one after another along
/// `axis` of `shape`. Input j's extent is shape_j[axis], or 1 for stack (`new_axis`).
template <class T>
BasicVar<T> joined(const char* op, const std::vector<BasicVar<T>>& xs, std::size_t axis,
                   bool new_axis, Shape shape) {
  InputList<T> inputs = nodes_of(op, xs);
  std::vector<std::size_t> extents;
  for (const BasicVar<T>& x : xs) extents.push_back(new_axis ? 1 : x.shape()[axis]);
  shape[axis] = std::accumulate(extents.begin(), extents.end(), std::size_t(0));
  BasicTensor<T> out = BasicTensor<T>::from_shape(shape);
  std::size_t offset = 0;
  for (std::size_t j = 0; j < xs.size(); ++j) {
    BasicTensor<T> piece = xs[j].value();
    Shape piece_shape = shape;
    piece_shape[axis] = extents[j];
    piece.reshape(piece_shape);
    const AxisSplit s = split_at(shape, axis);
    for (std::size_t o = 0; o < s.outer; ++o) {
      const T* from = piece.data() + o * extents[j] * s.inner;
      std::copy(from, from + extents[j] * s.inner, out.data() + s.at(o, offset, 0));
    }
    offset += extents[j];
  }
  return record<T>(op, std::move(out), std::move(inputs),
                   two_paths<T>([axis, extents](const auto& n, const auto& g) {
                     // each input gets its own part of g: a slice of g along the axis
                     auto grads = n.grads();
                     std::int64_t offset = 0;
                     for (std::size_t j = 0; j < extents.size(); ++j) {
                       const Strided part{axis, offset, 1, extents[j]};
                       offset += static_cast<std::int64_t>(extents[j]);
                       grads.push_back(n.input_needs_grad(j)
                                           ? reshape_to(part_of_grad(g, part), n.input(j).shape())
                                           : n.none());
                     }
                     return grads;
                   }));
}
}  // namespace

template <class T>
BasicVar<T> reshape(const BasicVar<T>& x, const Shape& shape) {
  return reshaped("reshape", x, shape);
}

template <class T>
BasicVar<T> flatten(const BasicVar<T>& x, int start, int end) {
  const Shape& in = node_of("flatten", x)->shape();
  if (in.empty()) return reshaped("flatten", x, Shape{1});
  const std::size_t first = normalize_axis("flatten", start, in.size());
  const std::size_t last = normalize_axis("flatten", end, in.size());
  if (first > last) {
    throw std::invalid_argument("flatten: start axis " + std::to_string(start) +
                                " comes after end axis " + std::to_string(end) + " for shape " +
                                shape_string(in));
  }
  Shape shape(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(first));
  shape.push_back(std::accumulate(in.begin() + static_cast<std::ptrdiff_t>(first),
                                  in.begin() + static_cast<std::ptrdiff_t>(last) + 1,
                                  std::size_t(1), std::multiplies<>()));
  shape.insert(shape.end(), in.begin() + static_cast<std::ptrdiff_t>(last) + 1, in.end());
  return reshaped("flatten", x, shape);
}

template <class T>
BasicVar<T> squeeze(const BasicVar<T>& x, int axis) {
  Shape shape = node_of("squeeze", x)->shape();
  const std::size_t ax = normalize_axis("squeeze", axis, shape.size());
  if (shape[ax] != 1) {
    throw std::invalid_argument("squeeze: axis " + std::to_string(axis) + " of shape " +
                                shape_string(shape) + " has size " + std::to_string(shape[ax]) +
                                ", not 1");
  }
  shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(ax));
  return reshaped("squeeze", x, shape);
}

template <class T>
BasicVar<T> unsqueeze(const BasicVar<T>& x, int axis) {
  Shape shape = node_of("unsqueeze", x)->shape();
  const std::size_t ax = normalize_axis("unsqueeze", axis, shape.size() + 1);
  shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(ax), 1);
  return reshaped("unsqueeze", x, shape);
}

template <class T>
BasicVar<T> permute(const BasicVar<T>& x, const std::vector<int>& axes) {
  const Shape& in = node_of("permute", x)->shape();
  std::vector<std::size_t> order;
  std::vector<bool> seen(in.size(), false);
  for (int axis : axes) {
    if (axes.size() != in.size()) break;
    const std::size_t ax = normalize_axis("permute", axis, in.size());
    if (seen[ax]) break;
    seen[ax] = true;
    order.push_back(ax);
  }
  if (order.size() != in.size() || axes.size() != in.size()) {
    std::string list;
    for (int axis : axes) list += (list.empty() ? "" : ", ") + std::to_string(axis);
    throw std::invalid_argument("permute: axes [" + list + "] are not a permutation of the " +
                                std::to_string(in.size()) + " axes of shape " + shape_string(in));
  }
  return record<T>(
      "permute", permuted(x.value(), order), {x.node()},
      two_paths<T>([inverse = inverse_permutation(order)](const auto& n, const auto& g) {
        // the inverse permutation of g
        return n.grads(permuted(g, inverse));
      }));
}

template <class T>
BasicVar<T> broadcast_to(const BasicVar<T>& x, const Shape& shape) {
  const Shape& in = node_of("broadcast_to", x)->shape();
  if (broadcast_shape("broadcast_to", in, shape) != shape) {
    throw std::invalid_argument("broadcast_to: cannot broadcast " + shape_string(in) + " to " +
                                shape_string(shape) + " (it would need shape " +
                                shape_string(broadcast_shape("broadcast_to", in, shape)) + ")");
  }
  return record<T>("broadcast_to", BasicTensor<T>(xt::broadcast(x.value(), shape)), {x.node()},
                   two_paths<T>([](const auto& n, const auto& g) {
                     // g summed over the stretched axes
                     return n.grads(sum_to<T>(g, n.input(0).shape()));
                   }));
}

template <class T>
BasicVar<T> concat(const std::vector<BasicVar<T>>& xs, int axis) {
  if (xs.empty()) throw std::invalid_argument("concat: no inputs");
  const Shape& first = node_of("concat", xs[0])->shape();
  const std::size_t ax = normalize_axis("concat", axis, first.size());
  for (std::size_t j = 1; j < xs.size(); ++j) {
    Shape other = node_of("concat", xs[j])->shape();
    Shape expected = first;
    if (other.size() == first.size()) expected[ax] = other[ax];
    if (other != expected) {
      throw std::invalid_argument("concat: input " + std::to_string(j) + " of shape " +
                                  shape_string(other) + " does not match input 0 of shape " +
                                  shape_string(first) + " off axis " + std::to_string(axis));
    }
  }
  return joined("concat", xs, ax, false, first);
}

template <class T>
BasicVar<T> stack(const std::vector<BasicVar<T>>& xs, int axis) {
  if (xs.empty()) throw std::invalid_argument("stack: no inputs");
  const Shape& first = node_of("stack", xs[0])->shape();
  for (std::size_t j = 1; j < xs.size(); ++j) {
    if (node_of("stack", xs[j])->shape() != first) {
      throw std::invalid_argument("stack: input " + std::to_string(j) + " of shape " +
                                  shape_string(xs[j].shape()) + " differs from input 0 of shape " +
                                  shape_string(first));
    }
  }
  const std::size_t ax = normalize_axis("stack", axis, first.size() + 1);
  Shape shape = first;
  shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(ax), xs.size());
  return joined("stack", xs, ax, true, shape);
}

template <class T>
std::vector<BasicVar<T>> split(const BasicVar<T>& x, const std::vector<std::size_t>& sizes,
                               int axis) {
  const Shape& in = node_of("split", x)->shape();
  const std::size_t ax = normalize_axis("split", axis, in.size());
  const std::size_t total = std::accumulate(sizes.begin(), sizes.end(), std::size_t(0));
  if (total != in[ax] || sizes.empty()) {
    throw std::invalid_argument("split: sizes adding up to " + std::to_string(total) +
                                " do not cover axis " + std::to_string(axis) + " of size " +
                                std::to_string(in[ax]) + " (shape " + shape_string(in) + ")");
  }
  std::vector<BasicVar<T>> parts;
  std::int64_t offset = 0;
  for (std::size_t size : sizes) {
    parts.push_back(part_of("split", x, Strided{ax, offset, 1, size}));
    offset += static_cast<std::int64_t>(size);
  }
  return parts;
}

template <class T>
BasicVar<T> slice(const BasicVar<T>& x, int axis, std::int64_t begin, std::int64_t end,
                  std::int64_t step) {
  const Shape& in = node_of("slice", x)->shape();
  const std::size_t ax = normalize_axis("slice", axis, in.size());
  if (step == 0) {
    throw std::invalid_argument("slice: step 0 along axis " + std::to_string(axis) + " of shape " +
                                shape_string(in));
  }
  // Python's rules (PySlice_AdjustIndices): negative bounds count from the end, then both are
  // clipped to [0, n] for a positive step and to [-1, n - 1] for a negative one.
  const auto n = static_cast<std::int64_t>(in[ax]);
  const auto adjust = [&](std::int64_t i) {
    if (i < 0) i = i < -n ? (step < 0 ? -1 : 0) : i + n;
    if (i >= n) i = step < 0 ? n - 1 : n;
    return i;
  };
  const std::int64_t first = adjust(begin);
  const std::int64_t last = step < 0 && end == slice_end ? -1 : adjust(end);
  std::int64_t count = 0;
  if (step > 0 && last > first) count = (last - first + step - 1) / step;
  if (step < 0 && first > last) count = (first - last - step - 1) / -step;
  return part_of("slice", x, Strided{ax, first, step, static_cast<std::size_t>(count)});
}

template <class T>
BasicVar<T> pad(const BasicVar<T>& x,
                const std::vector<std::pair<std::size_t, std::size_t>>& widths,
                detail::identity_t<T> value) {
  const Shape& in = node_of("pad", x)->shape();
  if (widths.size() != in.size()) {
    throw std::invalid_argument("pad: " + std::to_string(widths.size()) +
                                " (before, after) pairs for the " + std::to_string(in.size()) +
                                " axes of shape " + shape_string(in));
  }
  Shape shape = in;
  xt::xstrided_slice_vector interior;
  for (std::size_t d = 0; d < in.size(); ++d) {
    shape[d] += widths[d].first + widths[d].second;
    interior.push_back(xt::range(widths[d].first, widths[d].first + in[d]));
  }
  BasicTensor<T> out = full<T>(shape, value);
  xt::strided_view(out, interior) = x.value();
  return record<T>("pad", std::move(out), {x.node()},
                   two_paths<T>([interior, widths](const auto& n, const auto& g) {
                     // the interior of g: a slice per axis
                     return n.grads(interior_of(g, interior, widths, n.input(0).shape()));
                   }));
}

template <class T>
BasicVar<T> detach(const BasicVar<T>& x) {
  return record<T>("detach", BasicTensor<T>(node_of("detach", x)->value()), InputList<T>{},
                   BackwardFn<T>{});
}

#define RETROGRAD_INSTANTIATE_SHAPE(T)                                                           \
  template BasicVar<T> reshape(const BasicVar<T>&, const Shape&);                                \
  template BasicVar<T> flatten(const BasicVar<T>&, int, int);                                    \
  template BasicVar<T> squeeze(const BasicVar<T>&, int);                                         \
  template BasicVar<T> unsqueeze(const BasicVar<T>&, int);                                       \
  template BasicVar<T> permute(const BasicVar<T>&, const std::vector<int>&);                     \
  template BasicVar<T> broadcast_to(const BasicVar<T>&, const Shape&);                           \
  template BasicVar<T> concat(const std::vector<BasicVar<T>>&, int);                             \
  template BasicVar<T> stack(const std::vector<BasicVar<T>>&, int);                              \
  template std::vector<BasicVar<T>> split(const BasicVar<T>&, const std::vector<std::size_t>&,   \
                                          int);                                                  \
  template BasicVar<T> slice(const BasicVar<T>&, int, std::int64_t, std::int64_t, std::int64_t); \
  template BasicVar<T> pad(const BasicVar<T>&,                                                   \
                           const std::vector<std::pair<std::size_t, std::size_t>>&, T);          \
  template BasicVar<T> detach(const BasicVar<T>&);

RETROGRAD_INSTANTIATE_SHAPE(float)
RETROGRAD_INSTANTIATE_SHAPE(double)

namespace {
OpRow shape_row(const char* name, const char* signature, int arity, const char* forward,
                const char* backward, std::vector<OpCheck> checks, const char* notes = "") {
  return {name,  "shape", signature, arity, forward, {backward},
          false, {},      nullptr,   0,     checks,  notes};
}
}  // namespace

std::vector<OpRow> detail::shape_rows() {
  const OpCall part = [](In v) { return split(v[0], {1, 3}, 1)[1] * 1.0; };
  return {
      shape_row("reshape", "reshape(x, shape)", 1, "{x} under a new shape",
                "{g} under the shape of {x}",
                {{"[3, 4] to [2, 6]",
                  {{3, 4}},
                  [](In v) {
                    return reshape(v[0], {2, 6});
                  }},
                 {"single number to [1, 1]",
                  {{}},
                  [](In v) {
                    return reshape(v[0], {1, 1});
                  }}}),
      shape_row("flatten", "flatten(x, start = 0, end = -1)", 1, "{x} with axes start..end merged",
                "{g} under the shape of {x}",
                {{"all axes", {{2, 3, 2}}, [](In v) { return flatten(v[0]); }},
                 {"axes 1..2", {{2, 3, 2}}, [](In v) { return flatten(v[0], 1); }}}),
      shape_row("squeeze", "squeeze(x, axis)", 1, "{x} without a size-1 axis",
                "{g} under the shape of {x}",
                {{"axis 1 of [3, 1, 2]", {{3, 1, 2}}, [](In v) { return squeeze(v[0], 1); }},
                 {"[1] to a single number", {{1}}, [](In v) { return squeeze(v[0], 0); }}}),
      shape_row("unsqueeze", "unsqueeze(x, axis)", 1, "{x} with a new size-1 axis",
                "{g} under the shape of {x}",
                {{"axis -1 of [3, 2]", {{3, 2}}, [](In v) { return unsqueeze(v[0], -1); }},
                 {"a single number", {{}}, [](In v) { return unsqueeze(v[0], 0); }}}),
      shape_row("permute", "permute(x, axes)", 1, "{x} with its axes reordered",
                "{g} permuted back (the inverse permutation)",
                {{"[2, 3, 4] by (2, 0, 1)",
                  {{2, 3, 4}},
                  [](In v) {
                    return permute(v[0], {2, 0, 1});
                  }},
                 {"identity",
                  {{2, 3}},
                  [](In v) {
                    return permute(v[0], {0, 1});
                  }}}),
      shape_row("broadcast_to", "broadcast_to(x, shape)", 1, "{x} repeated to a shape",
                "{g} summed over the stretched axes",
                {{"[3, 1] to [2, 3, 4]",
                  {{3, 1}},
                  [](In v) {
                    return broadcast_to(v[0], {2, 3, 4});
                  }},
                 {"single number to [2, 2]",
                  {{}},
                  [](In v) {
                    return broadcast_to(v[0], {2, 2});
                  }}}),
      shape_row(
          "concat", "concat(xs, axis)", -1, "the inputs joined along an axis",
          "each input's own part of {g}",
          {{"three along axis 1", {{2, 1}, {2, 3}, {2, 2}}, [](In v) { return concat(v, 1); }},
           {"one input", {{3}}, [](In v) { return concat(v, 0); }},
           {"with an empty one", {{0, 2}, {3, 2}}, [](In v) { return concat(v, 0); }}}),
      shape_row(
          "stack", "stack(xs, axis)", -1, "the inputs joined along a new axis",
          "each input's own part of {g}",
          {{"two along a new axis 0", {{2, 3}, {2, 3}}, [](In v) { return stack(v, 0); }},
           {"three along a new last axis", {{2}, {2}, {2}}, [](In v) { return stack(v, -1); }}}),
      shape_row("split", "split(x, sizes, axis)", 1, "{x} cut into parts along an axis",
                "{g} at the part's positions, zeros elsewhere",
                {{"part [1, 4) of axis 1", {{2, 4}}, part},
                 {"every part used",
                  {{5}},
                  [](In v) {
                    const std::vector<VarD> parts = split(v[0], {2, 0, 3}, 0);
                    return concat(std::vector<VarD>{parts[2], parts[0] * 2.0}, 0);
                  }}}),
      shape_row("slice", "slice(x, axis, begin, end, step = 1)", 1,
                "{x}[begin:end:step] along an axis", "{g} at the sliced positions, zeros elsewhere",
                {{"[1:3] of axis 0", {{4, 2}}, [](In v) { return slice(v[0], 0, 1, 3); }},
                 {"[-1:0:-2] of axis 1", {{2, 5}}, [](In v) { return slice(v[0], 1, -1, 0, -2); }},
                 {"[::-1] of a vector",
                  {{4}},
                  [](In v) { return slice(v[0], 0, slice_end, slice_end, -1); }},
                 {"empty slice", {{3}}, [](In v) { return slice(v[0], 0, 2, 1); }}},
                "Python's rules: negative bounds count from the end, both are clipped; step 0 "
                "throws"),
      shape_row("pad", "pad(x, widths, value = 0)", 1, "{x} surrounded by a constant",
                "the interior of {g}",
                {{"[2, 3] by (1, 0), (2, 1)",
                  {{2, 3}},
                  [](In v) {
                    return pad(v[0], {{1, 0}, {2, 1}}, 0.5);
                  }},
                 {"nothing added",
                  {{3}},
                  [](In v) {
                    return pad(v[0], {{0, 0}});
                  }}}),
      shape_row("detach", "detach(x)", 1, "{x}, as a constant", "none",
                {{"matrix", {{2, 3}}, [](In v) { return detach(v[0]); }, 0.2, 2.0, {}, false}},
                "cuts the graph: no gradient flows to x"),
  };
}

}  // namespace retrograd
