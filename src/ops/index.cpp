// Indexing: take and take_along_axis gather elements by integer index, and their gradients
// scatter-add back (an index used twice collects both gradients); argmax finds the indices.
// Loops along the axis view tensors as [outer, extent, inner] (AxisSplit).

#include <cmath>

#include "ops/op_machinery.hpp"
#include "ops/op_rows.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {
using namespace detail;

template <class T>
BasicTensor<T> detail::scatter_back(const BasicTensor<T>& g, const Positions& at,
                                    const Shape& shape) {
  BasicTensor<T> out = zeros<T>(shape);
  for (std::size_t j = 0; j < at->size(); ++j) out.data()[(*at)[j]] += g.data()[j];
  return out;
}

namespace {
/// x[at[j]] for every j, shaped `shape`: gather's kernel on tensors, the op on Vars.
template <class T>
BasicTensor<T> gather_from(Grad<T> x, const Positions& at, const Shape& shape) {
  BasicTensor<T> out = BasicTensor<T>::from_shape(shape);
  for (std::size_t j = 0; j < at->size(); ++j) out.data()[j] = x.data()[(*at)[j]];
  return out;
}
template <class T>
BasicVar<T> gather_from(const BasicVar<T>& g, const Positions& at, const Shape& shape) {
  return gather(g, at, shape);
}

/// `index` as a position along an axis of `size`, negative counting from the end; throws
/// std::out_of_range naming the op, the index, the axis and its size.
std::size_t position(const char* op, std::int64_t index, int axis, std::size_t size,
                     const Shape& shape) {
  const auto n = static_cast<std::int64_t>(size);
  if (index < -n || index >= n) {
    throw std::out_of_range(std::string(op) + ": index " + std::to_string(index) +
                            " is out of range for axis " + std::to_string(axis) + " of size " +
                            std::to_string(size) + " (shape " + shape_string(shape) + ")");
  }
  return static_cast<std::size_t>(index < 0 ? index + n : index);
}

template <class T>
[[noreturn]] void refuse_float_indices(const char* op, const BasicTensor<T>& indices) {
  throw std::invalid_argument(std::string(op) + ": indices of shape " +
                              shape_string(indices.shape()) +
                              " are floating-point numbers; pass an IndexTensor (std::int64_t), "
                              "for example to_indices(values)");
}
/// take's gradient: row k of g (rows of s.inner elements, at.size() per outer block) added to
/// row at[k] of zeros shaped like x.
template <class T>
BasicTensor<T> scatter_rows(Grad<T> g, const AxisSplit& s, const std::vector<std::size_t>& at,
                            const Shape& shape) {
  BasicTensor<T> dx = zeros<T>(shape);
  const T* from = g.data();
  for (std::size_t outer = 0; outer < s.outer; ++outer) {
    for (std::size_t k : at) {
      T* to = dx.data() + s.at(outer, k, 0);
      for (std::size_t i = 0; i < s.inner; ++i) to[i] += from[i];
      from += s.inner;
    }
  }
  return dx;
}
/// The same on Vars: a scatter_add to the element positions of those rows.
template <class T>
BasicVar<T> scatter_rows(const BasicVar<T>& g, const AxisSplit& s,
                         const std::vector<std::size_t>& at, const Shape& shape) {
  auto positions = std::make_shared<std::vector<std::size_t>>();
  positions->reserve(g.size());
  for (std::size_t outer = 0; outer < s.outer; ++outer) {
    for (std::size_t k : at) {
      for (std::size_t i = 0; i < s.inner; ++i) positions->push_back(s.at(outer, k, i));
    }
  }
  return scatter_add(g, Positions(std::move(positions)), shape);
}
}  // namespace

template <class T>
BasicVar<T> detail::gather(const BasicVar<T>& x, Positions at, const Shape& shape) {
  const Node<T>& nx = *node_of("gather", x);
  return record<T>("gather", gather_from(nx.value(), at, shape), {x.node()},
                   two_paths<T>([at](const auto& n, const auto& g) {
                     // each element of g back to the position it was read from
                     return n.grads(scatter_back(g, at, n.input(0).shape()));
                   }));
}

template <class T>
BasicVar<T> detail::scatter_add(const BasicVar<T>& g, Positions at, const Shape& shape) {
  const Node<T>& ng = *node_of("scatter_add", g);
  return record<T>("scatter_add", scatter_back(ng.value(), at, shape), {g.node()},
                   two_paths<T>([at](const auto& n, const auto& up) {
                     // each position's gradient read back, as gather reads values
                     return n.grads(gather_from(up, at, n.input(0).shape()));
                   }));
}

template <class T>
IndexTensor to_indices(const BasicTensor<T>& values) {
  IndexTensor out = IndexTensor::from_shape(values.shape());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const T v = values.data()[i];
    if (!std::isfinite(v) || std::trunc(v) != v) {
      throw std::invalid_argument("to_indices: element " + std::to_string(i) + " (" +
                                  std::to_string(v) + ") is not a whole number");
    }
    out.data()[i] = static_cast<std::int64_t>(v);
  }
  return out;
}

template <class T>
BasicVar<T> take(const BasicVar<T>& x, const IndexTensor& indices, int axis) {
  const Shape& in = node_of("take", x)->shape();
  const std::size_t ax = normalize_axis("take", axis, in.size());
  const AxisSplit s = split_at(in, ax);
  std::vector<std::size_t> at(indices.size());
  for (std::size_t j = 0; j < at.size(); ++j) {
    at[j] = position("take", indices.data()[j], axis, s.extent, in);
  }
  Shape shape(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(ax));
  shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
  shape.insert(shape.end(), in.begin() + static_cast<std::ptrdiff_t>(ax) + 1, in.end());
  BasicTensor<T> out = BasicTensor<T>::from_shape(shape);
  T* o = out.data();
  for (std::size_t outer = 0; outer < s.outer; ++outer) {
    for (std::size_t k : at) {
      const T* from = x.value().data() + s.at(outer, k, 0);
      o = std::copy(from, from + s.inner, o);
    }
  }
  return record<T>("take", std::move(out), {x.node()},
                   two_paths<T>([s, at = std::move(at)](const auto& n, const auto& g) {
                     // scatter-add: each gathered row of g back to the row it came from
                     return n.grads(scatter_rows(g, s, at, n.input(0).shape()));
                   }));
}

template <class T>
BasicVar<T> take(const BasicVar<T>&, const BasicTensor<T>& indices, int) {
  refuse_float_indices("take", indices);
}

template <class T>
BasicVar<T> take_along_axis(const BasicVar<T>& x, const IndexTensor& indices, int axis) {
  const char* op = "take_along_axis";
  const Shape& in = node_of(op, x)->shape();
  const std::size_t ax = normalize_axis(op, axis, in.size());
  const Shape idx_shape(indices.shape().begin(), indices.shape().end());
  bool fits = idx_shape.size() == in.size();
  for (std::size_t d = 0; fits && d < in.size(); ++d) fits = d == ax || idx_shape[d] == in[d];
  if (!fits) {
    throw std::invalid_argument(std::string(op) + ": indices of shape " + shape_string(idx_shape) +
                                " must match x of shape " + shape_string(in) +
                                " on every axis but " + std::to_string(axis));
  }
  const AxisSplit s = split_at(in, ax), t = split_at(idx_shape, ax);
  std::vector<std::size_t> from(indices.size());
  BasicTensor<T> out = BasicTensor<T>::from_shape(idx_shape);
  for (std::size_t o = 0; o < t.outer; ++o) {
    for (std::size_t k = 0; k < t.extent; ++k) {
      for (std::size_t i = 0; i < t.inner; ++i) {
        const std::size_t j = t.at(o, k, i);
        from[j] = s.at(o, position(op, indices.data()[j], axis, s.extent, in), i);
        out.data()[j] = x.value().data()[from[j]];
      }
    }
  }
  return record<T>(op, std::move(out), {x.node()},
                   two_paths<T>([from = Positions(std::make_shared<const std::vector<std::size_t>>(
                                     std::move(from)))](const auto& n, const auto& g) {
                     // scatter-add: each element of g back to where it was taken from
                     return n.grads(scatter_back(g, from, n.input(0).shape()));
                   }));
}

template <class T>
BasicVar<T> take_along_axis(const BasicVar<T>&, const BasicTensor<T>& indices, int) {
  refuse_float_indices("take_along_axis", indices);
}

template <class T>
BasicVar<T> argmax(const BasicVar<T>& x, int axis) {
  const BasicTensor<T>& v = node_of("argmax", x)->value();
  require_nonempty("argmax", v);
  const std::size_t ax = normalize_axis("argmax", axis, v.dimension());
  const AxisSplit s = split_at(v.shape(), ax);
  BasicTensor<T> out = BasicTensor<T>::from_shape(reduced_shape(v.shape(), ax, false));
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      std::size_t best = 0;
      for (std::size_t k = 1; k < s.extent; ++k) {
        if (v.data()[s.at(o, k, i)] > v.data()[s.at(o, best, i)]) best = k;
      }
      out.data()[o * s.inner + i] = static_cast<T>(best);
    }
  }
  return record<T>("argmax", std::move(out), InputList<T>{}, BackwardFn<T>{});
}

#define RETROGRAD_INSTANTIATE_INDEX(T)                                                   \
  template IndexTensor to_indices(const BasicTensor<T>&);                                \
  template BasicVar<T> take(const BasicVar<T>&, const IndexTensor&, int);                \
  template BasicVar<T> take(const BasicVar<T>&, const BasicTensor<T>&, int);             \
  template BasicVar<T> take_along_axis(const BasicVar<T>&, const IndexTensor&, int);     \
  template BasicVar<T> take_along_axis(const BasicVar<T>&, const BasicTensor<T>&, int);  \
  template BasicVar<T> argmax(const BasicVar<T>&, int);                                  \
  template BasicVar<T> detail::gather(const BasicVar<T>&, Positions, const Shape&);      \
  template BasicVar<T> detail::scatter_add(const BasicVar<T>&, Positions, const Shape&); \
  template BasicTensor<T> detail::scatter_back(const BasicTensor<T>&, const Positions&,  \
                                               const Shape&);

RETROGRAD_INSTANTIATE_INDEX(float)
RETROGRAD_INSTANTIATE_INDEX(double)

std::vector<OpRow> detail::index_rows() {
  const IndexTensor ids = {{2, 0}, {2, -1}};
  const IndexTensor along = {{1, 0, 2}, {0, 0, 1}};
  const Positions gather_at =
      std::make_shared<const std::vector<std::size_t>>(std::vector<std::size_t>{5, 0, 5, 11});
  return {
      {"take",
       "index",
       "take(x, indices, axis)",
       1,
       "{x} at the indices along an axis",
       {"{g} scatter-added at the indices"},
       false,
       {},
       nullptr,
       0,
       {{"embedding rows, repeated and negative ids",
         {{3, 2}},
         [ids](In v) { return take(v[0], ids, 0); }},
        {"axis 1",
         {{2, 3}},
         [](In v) {
           return take(v[0], IndexTensor{2, 2, 0}, 1);
         }},
        {"no indices", {{3}}, [](In v) { return take(v[0], IndexTensor::from_shape({0}), 0); }}},
       "an embedding lookup is take(table, ids, 0); an out-of-range index throws "
       "std::out_of_range naming it, the axis and its size; float indices are refused"},
      {"take_along_axis",
       "index",
       "take_along_axis(x, indices, axis)",
       1,
       "{x} at one index per position along an axis",
       {"{g} scatter-added at the indices"},
       false,
       {},
       nullptr,
       0,
       {{"axis 1 of [2, 3]", {{2, 3}}, [along](In v) { return take_along_axis(v[0], along, 1); }},
        {"axis 0, repeated",
         {{3, 2}},
         [](In v) {
           return take_along_axis(v[0], IndexTensor{{2, 2}}, 0);
         }}},
       "indices have x's rank and x's sizes off the axis"},
      {"argmax",
       "index",
       "argmax(x, axis)",
       1,
       "position of the largest {x} along an axis",
       {"none"},
       false,
       {},
       nullptr,
       0,
       {{"rows", {{3, 4}}, [](In v) { return argmax(v[0], 1); }, 0.2, 2.0, {}, false}},
       "the first largest on a tie; a constant of whole numbers, for metrics"},
      {"gather",
       "index",
       "gather(x, positions, shape) (internal)",
       1,
       "{x} at element positions, under a shape",
       {"scatter_add({g}) at the positions"},
       false,
       {},
       nullptr,
       0,
       {{"repeated positions",
         {{3, 4}},
         [gather_at](In v) {
           return gather(v[0], gather_at, {2, 2});
         }}},
       "the gradient of scatter_add; with it, the ops whose gradient sends g back to the "
       "positions they read (take, take_along_axis, slice, split, max, max_pool2d) have "
       "gradients that are ops again (create_graph)"},
      {"scatter_add",
       "index",
       "scatter_add(g, positions, shape) (internal)",
       1,
       "zeros with {x} added at element positions",
       {"gather({g}) at the positions"},
       false,
       {},
       nullptr,
       0,
       {{"repeated positions",
         {{4}},
         [gather_at](In v) {
           return scatter_add(v[0], gather_at, {3, 4});
         }}},
       "the gradient of take, take_along_axis, slice, split, max and max_pool2d run on Vars"},
  };
}

}  // namespace retrograd
