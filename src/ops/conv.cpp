// Images, NCHW: convolution and pooling. Note [one GEMM per batch]: conv2d lays the whole
// batch's patches out as one [C kh kw, N OH OW] matrix (im2col), so the layer is one GEMM
// W [O, C kh kw] x cols (one per group of channels, on that group's rows), whatever the batch
// size; the product comes out as [O, N, OH OW] and is scattered into [N, O, OH, OW] while the
// bias is added, a pass the bias needs anyway. The backward reuses the forward's cols for
// dW = G cols^T and folds dcols = W^T G back onto the input (col2im); both products pass
// transposes to BLAS as flags. Scratch comes from the tensor buffer cache, so a training step's
// scratch is a free-list pop, not an allocation.
//
// Note [conv gradients as ops]: for create_graph the gradients are built from ops whose own
// gradients are ops again. conv2d's are the GEMM path's formula on Vars: G = g gathered per
// channel [O, N L], dW = matmul(G, im2col(x), transpose_b), dx = col2im(matmul(W, G,
// transpose_a)), db = g summed over n, i, j; im2col and col2im are internal ops, each the
// other's gradient (both linear). avg_pool2d and its adjoint avg_pool2d_backward are such a
// pair too; max_pool2d sends g back through scatter_add (src/ops/index.cpp); global_avg_pool2d
// is a broadcast.
//
// One input channel (the first layer of an image network) takes the same path: its GEMM's inner
// dimension is only kh kw (9 for 3x3), yet a direct kernel that added each weight times a shifted
// input row into the output plane ran `retrograd train --model cnn`'s epoch 12 % slower
// (bench_cnn, interleaved, 1 thread: 37.3 and 39.8 s against 33.0 and 35.0 s).

#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "blas_kernels.hpp"
#include "ops/op_machinery.hpp"
#include "ops/op_rows.hpp"
#include "retrograd/blas.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {
using namespace detail;

std::string size2_string(const Size2& s) { return std::to_string(s.h) + "x" + std::to_string(s.w); }

std::size_t window_output_extent(const char* op, const char* axis, std::size_t input,
                                 std::size_t kernel, std::size_t stride, std::size_t padding,
                                 std::size_t dilation) {
  if (kernel == 0 || stride == 0 || dilation == 0) {
    throw std::invalid_argument(std::string(op) + ": kernel " + std::to_string(kernel) +
                                ", stride " + std::to_string(stride) + " and dilation " +
                                std::to_string(dilation) + " along the " + axis +
                                " must be positive");
  }
  const std::size_t span = dilation * (kernel - 1) + 1;
  const std::size_t padded = input + 2 * padding;
  if (span > padded) {
    throw std::invalid_argument(std::string(op) + ": kernel " + std::to_string(kernel) +
                                (dilation > 1 ? " (dilated to " + std::to_string(span) + ")" : "") +
                                " is larger than the padded input " + axis + " " +
                                std::to_string(padded) + " (" + std::to_string(input) + " + 2 x " +
                                std::to_string(padding) + " padding)");
  }
  return (padded - span) / stride + 1;
}

namespace {

/// Sizes of one convolution or pooling: input [n, c, h, w], kernel [kh, kw], output
/// [n, o, oh, ow] (o = c for pooling).
struct Geometry {
  std::size_t n, c, h, w, o, kh, kw, oh, ow;
  Size2 stride, padding, dilation;
  std::size_t groups = 1;
  std::size_t plane() const { return h * w; }
  std::size_t out_plane() const { return oh * ow; }
  /// Rows of the whole batch's cols: every input channel's taps.
  std::size_t patch() const { return c * kh * kw; }
  /// A group's rows of cols (its input channels' taps) and its output channels.
  std::size_t group_patch() const { return patch() / groups; }
  std::size_t group_outputs() const { return o / groups; }
};

void require_images(const char* op, const char* what, const Shape& s) {
  if (s.size() != 4 || shape_size(s) == 0) {
    throw std::invalid_argument(std::string(op) + ": " + what + " of shape " + shape_string(s) +
                                " must be a non-empty 4-d tensor [N, C, H, W]");
  }
}

Geometry window_geometry(const char* op, const Shape& x, std::size_t out_channels, Size2 kernel,
                         Size2 stride, Size2 padding, Size2 dilation) {
  Geometry g{x[0],     x[1], x[2], x[3],   out_channels, kernel.h,
             kernel.w, 0,    0,    stride, padding,      dilation};
  g.oh = window_output_extent(op, "height", g.h, g.kh, stride.h, padding.h, dilation.h);
  g.ow = window_output_extent(op, "width", g.w, g.kw, stride.w, padding.w, dilation.w);
  return g;
}

/// [lo, hi): the outputs j whose input j stride + offset lies in [0, extent).
std::pair<std::size_t, std::size_t> inside(std::ptrdiff_t offset, std::size_t stride,
                                           std::size_t extent, std::size_t outputs) {
  const auto s = static_cast<std::ptrdiff_t>(stride);
  const std::ptrdiff_t room = static_cast<std::ptrdiff_t>(extent) - offset;
  const std::ptrdiff_t lo = offset >= 0 ? 0 : (-offset + s - 1) / s;
  const std::ptrdiff_t hi = std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(outputs),
                                                     room > 0 ? (room + s - 1) / s : 0);
  return {static_cast<std::size_t>(std::min(lo, hi)),
          static_cast<std::size_t>(std::max<std::ptrdiff_t>(hi, 0))};
}

/// Visits every kernel tap (channel ci, row p, column q) with its output ranges: f(ci, p, q,
/// y_offset, x_offset, [ylo, yhi), [xlo, xhi)), where output (i, j) reads input
/// (i stride + y_offset, j stride + x_offset).
template <class F>
void for_each_tap(const Geometry& g, F f) {
  for (std::size_t ci = 0; ci < g.c; ++ci) {
    for (std::size_t p = 0; p < g.kh; ++p) {
      const auto dy =
          static_cast<std::ptrdiff_t>(p * g.dilation.h) - static_cast<std::ptrdiff_t>(g.padding.h);
      const auto ys = inside(dy, g.stride.h, g.h, g.oh);
      for (std::size_t q = 0; q < g.kw; ++q) {
        const auto dx = static_cast<std::ptrdiff_t>(q * g.dilation.w) -
                        static_cast<std::ptrdiff_t>(g.padding.w);
        f(ci, p, q, dy, dx, ys, inside(dx, g.stride.w, g.w, g.ow));
      }
    }
  }
}

/// Where the input row read by output row i of a tap starts, in a plane of width w: output
/// (i, j) reads element row_start + j stride.
inline std::ptrdiff_t row_start(const Geometry& g, std::size_t i, std::ptrdiff_t dy,
                                std::ptrdiff_t dx) {
  return (static_cast<std::ptrdiff_t>(i * g.stride.h) + dy) * static_cast<std::ptrdiff_t>(g.w) + dx;
}

/// f(a[j], b[at + j stride]) for j in [lo, hi), on rows of two different buffers. The pointers
/// are __restrict and the stride-1 case contiguous, so that the compiler vectorizes it (without
/// them it must assume the rows overlap and runs one element at a time).
template <class A, class B, class F>
inline void along_row(A* __restrict a, B* __restrict b, std::size_t lo, std::size_t hi,
                      std::ptrdiff_t at, std::size_t stride, F f) {
  if (hi <= lo) return;
  if (stride == 1) {
    B* __restrict from = b + (at + static_cast<std::ptrdiff_t>(lo));
    A* __restrict to = a + lo;
    for (std::size_t j = 0; j < hi - lo; ++j) f(to[j], from[j]);
  } else {
    for (std::size_t j = lo; j < hi; ++j) f(a[j], b[at + static_cast<std::ptrdiff_t>(j * stride)]);
  }
}

/// Sum of n values in eight independent lanes (vectorizable, unlike one running total).
template <class T>
T lane_sum(const T* p, std::size_t n) {
  T lanes[8] = {};
  std::size_t l = 0;
  for (; l + 8 <= n; l += 8) {
    for (std::size_t k = 0; k < 8; ++k) lanes[k] += p[l + k];
  }
  T total = 0;
  for (; l < n; ++l) total += p[l];
  for (T v : lanes) total += v;
  return total;
}

/// cols [c kh kw, n oh ow]: row (ci, p, q) holds, for every sample and output position, the
/// input that tap multiplies (0 in the padding).
template <class T>
void im2col(const Geometry& g, const T* x, T* cols) {
  const std::size_t L = g.out_plane(), NL = g.n * L;
  std::size_t row = 0;
  for_each_tap(g, [&](std::size_t ci, std::size_t, std::size_t, std::ptrdiff_t dy,
                      std::ptrdiff_t dx, auto ys, auto xs) {
    T* out = cols + (row++) * NL;
    for (std::size_t s = 0; s < g.n; ++s, out += L) {
      const T* plane = x + (s * g.c + ci) * g.plane();
      for (std::size_t i = 0; i < g.oh; ++i) {
        T* r = out + i * g.ow;
        if (i < ys.first || i >= ys.second) {
          std::fill(r, r + g.ow, T(0));
          continue;
        }
        std::fill(r, r + xs.first, T(0));
        along_row(r, plane, xs.first, xs.second, row_start(g, i, dy, dx), g.stride.w,
                  [](T& to, const T& from) { to = from; });
        std::fill(r + xs.second, r + g.ow, T(0));
      }
    }
  });
}

/// The adjoint of im2col: adds each entry of cols back onto the input element it came from.
template <class T>
void col2im(const Geometry& g, const T* cols, T* dx_out) {
  const std::size_t L = g.out_plane(), NL = g.n * L;
  std::size_t row = 0;
  for_each_tap(g, [&](std::size_t ci, std::size_t, std::size_t, std::ptrdiff_t dy,
                      std::ptrdiff_t dx, auto ys, auto xs) {
    const T* in = cols + (row++) * NL;
    for (std::size_t s = 0; s < g.n; ++s, in += L) {
      T* plane = dx_out + (s * g.c + ci) * g.plane();
      for (std::size_t i = ys.first; i < ys.second; ++i) {
        const T* r = in + i * g.ow;
        along_row(r, plane, xs.first, xs.second, row_start(g, i, dy, dx), g.stride.w,
                  [](const T& from, T& to) { to += from; });
      }
    }
  });
}

/// y [n, o, L] from the GEMM's [o, n L] product plus the bias.
template <class T>
void scatter_output(const Geometry& g, const T* product, const T* bias, T* y) {
  const std::size_t L = g.out_plane();
  for (std::size_t s = 0; s < g.n; ++s) {
    for (std::size_t k = 0; k < g.o; ++k) {
      const T* from = product + (k * g.n + s) * L;
      T* to = y + (s * g.o + k) * L;
      const T add = bias ? bias[k] : T(0);
      for (std::size_t l = 0; l < L; ++l) to[l] = from[l] + add;
    }
  }
}

/// db[o] = sum of g over samples and positions.
template <class T>
BasicTensor<T> bias_grad(const Geometry& g, const T* grad) {
  BasicTensor<T> db = zeros<T>({g.o});
  const std::size_t L = g.out_plane();
  for (std::size_t s = 0; s < g.n; ++s) {
    for (std::size_t k = 0; k < g.o; ++k) db.data()[k] += lane_sum(grad + (s * g.o + k) * L, L);
  }
  return db;
}

/// The internal ops "im2col" (x [N, C, H, W] -> cols [C kh kw, N L]) and "col2im" (its adjoint),
/// each the other's gradient: Note [conv gradients as ops].
template <class T>
BasicVar<T> patches(const BasicVar<T>& x, const Geometry& g);
template <class T>
BasicVar<T> unpatches(const BasicVar<T>& cols, const Geometry& g);

template <class T>
BasicTensor<T> folded(Grad<T> cols, const Geometry& g) {
  BasicTensor<T> dx = zeros<T>({g.n, g.c, g.h, g.w});
  col2im(g, cols.data(), dx.data());
  return dx;
}
template <class T>
BasicVar<T> folded(const BasicVar<T>& cols, const Geometry& g) {
  return unpatches(cols, g);
}
template <class T>
BasicTensor<T> unfolded(Grad<T> x, const Geometry& g) {
  BasicTensor<T> cols = BasicTensor<T>::from_shape({g.patch(), g.n * g.out_plane()});
  im2col(g, x.data(), cols.data());
  return cols;
}
template <class T>
BasicVar<T> unfolded(const BasicVar<T>& x, const Geometry& g) {
  return patches(x, g);
}

template <class T>
BasicVar<T> patches(const BasicVar<T>& x, const Geometry& g) {
  return record<T>("im2col", unfolded(node_of("im2col", x)->value(), g), {x.node()},
                   two_paths<T>([g](const auto& n, const auto& up) {
                     // each patch entry's gradient added back onto the pixel it copied
                     return n.grads(folded(up, g));
                   }));
}

template <class T>
BasicVar<T> unpatches(const BasicVar<T>& cols, const Geometry& g) {
  return record<T>("col2im", folded(node_of("col2im", cols)->value(), g), {cols.node()},
                   two_paths<T>([g](const auto& n, const auto& up) {
                     // each entry read back from the pixel it was added onto
                     return n.grads(unfolded(up, g));
                   }));
}

/// conv2d's gradients as ops (Note [conv gradients as ops]).
template <class T>
VarGrads<T> conv_grads(const VarSide<T>& side, const BasicVar<T>& up, const Geometry& g,
                       bool has_bias) {
  const std::size_t L = g.out_plane(), Kg = g.group_patch(), Og = g.group_outputs();
  const std::size_t NL = g.n * L;
  const BasicVar<T> gt = reshape(permute(reshape(up, {g.n, g.o, L}), {1, 0, 2}), {g.o, NL});
  // Group k: rows [k Og, (k + 1) Og) of G and W, rows [k Kg, (k + 1) Kg) of cols; the groups'
  // products stacked in order.
  const auto group_rows = [&](const BasicVar<T>& m, std::size_t k, std::size_t count) {
    if (g.groups == 1) return m;
    const auto first = static_cast<std::int64_t>(k * count);
    return slice(m, 0, first, first + static_cast<std::int64_t>(count));
  };
  const auto per_group = [&](auto product) {
    if (g.groups == 1) return product(std::size_t(0));
    std::vector<BasicVar<T>> parts;
    for (std::size_t k = 0; k < g.groups; ++k) parts.push_back(product(k));
    return concat(parts, 0);
  };
  VarGrads<T> grads(has_bias ? 3 : 2);
  if (side.input_needs_grad(0)) {
    const BasicVar<T> w = reshape(side.input(1), {g.o, Kg});
    grads[0] = folded(per_group([&](std::size_t k) {
                        return matmul(group_rows(w, k, Og), group_rows(gt, k, Og), true, false);
                      }),
                      g);
  }
  if (side.input_needs_grad(1)) {
    const BasicVar<T> cols = unfolded(side.input(0), g);
    grads[1] = reshape(per_group([&](std::size_t k) {
                         return matmul(group_rows(gt, k, Og), group_rows(cols, k, Kg), false, true);
                       }),
                       side.input(1).shape());
  }
  if (has_bias && side.input_needs_grad(2)) grads[2] = sum(sum(sum(up, 3), 2), 0);
  return grads;
}

/// Note [one GEMM per batch]: the gradients of the GEMM path, on tensors, from the saved cols.
template <class T>
GradList<T> gemm_grads(const TensorSide<T>& side, Grad<T> up, const Geometry& g, bool has_bias,
                       const BasicTensor<T>& cols) {
  const Node<T>& n = side.node;
  // G [O, N L] (the upstream gathered per channel):
  //   dW = G cols^T : [O, C kh kw],  dcols = W^T G : [C kh kw, N L] -> dx by col2im
  const std::size_t L = g.out_plane(), K = g.patch(), NL = g.n * L;
  BasicTensor<T> gt = BasicTensor<T>::from_shape({g.o, NL});
  for (std::size_t s = 0; s < g.n; ++s) {
    for (std::size_t k = 0; k < g.o; ++k) {
      const T* from = up.data() + (s * g.o + k) * L;
      std::copy(from, from + L, gt.data() + (k * g.n + s) * L);
    }
  }
  // Group k: rows [k Og, (k + 1) Og) of G and W, rows [k Kg, (k + 1) Kg) of cols and dcols.
  const std::size_t Kg = g.group_patch(), Og = g.group_outputs();
  BasicTensor<T> dx = none<T>(), dw = none<T>();
  if (n.input_needs_grad(1)) {
    dw = BasicTensor<T>::from_shape(n.input(1).shape());
    for (std::size_t k = 0; k < g.groups; ++k) {
      gemm<T>(false, true, Og, Kg, NL, T(1), gt.data() + k * Og * NL, cols.data() + k * Kg * NL,
              T(0), dw.data() + k * Og * Kg);
    }
  }
  if (n.input_needs_grad(0)) {
    BasicTensor<T> dcols = BasicTensor<T>::from_shape({K, NL});
    for (std::size_t k = 0; k < g.groups; ++k) {
      gemm<T>(true, false, Kg, NL, Og, T(1), n.input(1).data() + k * Og * Kg,
              gt.data() + k * Og * NL, T(0), dcols.data() + k * Kg * NL);
    }
    dx = zeros<T>(n.input(0).shape());
    col2im(g, dcols.data(), dx.data());
  }
  GradList<T> grads{std::move(dx), std::move(dw)};
  if (has_bias) grads.push_back(n.input_needs_grad(2) ? bias_grad(g, up.data()) : none<T>());
  return grads;
}
template <class T>
VarGrads<T> gemm_grads(const VarSide<T>& side, const BasicVar<T>& up, const Geometry& g,
                       bool has_bias, const BasicTensor<T>&) {
  return conv_grads(side, up, g, has_bias);
}

}  // namespace

template <class T>
BasicVar<T> conv2d(const BasicVar<T>& x, const BasicVar<T>& w, const BasicVar<T>& b, Size2 stride,
                   Size2 padding, Size2 dilation, std::size_t groups) {
  const char* op = "conv2d";
  require_images(op, "input", node_of(op, x)->shape());
  require_images(op, "weight", node_of(op, w)->shape());
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  if (groups == 0 || xs[1] % groups != 0 || ws[0] % groups != 0) {
    throw std::invalid_argument("conv2d: " + std::to_string(groups) +
                                " groups must divide the input's " + std::to_string(xs[1]) +
                                " channels and the weight's " + std::to_string(ws[0]) +
                                " output channels (weight of shape " + shape_string(ws) + ")");
  }
  if (ws[1] * groups != xs[1]) {
    throw std::invalid_argument("conv2d: input of shape " + shape_string(xs) + " has " +
                                std::to_string(xs[1]) + " channels but the weight of shape " +
                                shape_string(ws) + " expects " + std::to_string(ws[1] * groups) +
                                (groups > 1 ? " (" + std::to_string(ws[1]) + " in each of " +
                                                  std::to_string(groups) + " groups)"
                                            : std::string()));
  }
  const bool has_bias = b.defined();
  if (has_bias && b.shape() != Shape{ws[0]}) {
    throw std::invalid_argument("conv2d: bias of shape " + shape_string(b.shape()) +
                                " does not fit the weight of shape " + shape_string(ws) +
                                "; expected [" + std::to_string(ws[0]) + "]");
  }
  Geometry g = window_geometry(op, xs, ws[0], {ws[2], ws[3]}, stride, padding, dilation);
  g.groups = groups;
  const T* bias = has_bias ? b.value().data() : nullptr;
  BasicTensor<T> y = BasicTensor<T>::from_shape({g.n, g.o, g.oh, g.ow});
  InputList<T> inputs =
      has_bias ? InputList<T>{x.node(), w.node(), b.node()} : InputList<T>{x.node(), w.node()};

  warn_if_slow_blas();
  // Note [one GEMM per batch]: product [O, N L] = W [O, C kh kw] x cols [C kh kw, N L]; with
  // groups, group k's rows of the product are its rows of W times its rows of cols.
  const std::size_t K = g.patch(), NL = g.n * g.out_plane();
  const std::size_t Kg = g.group_patch(), Og = g.group_outputs();
  BasicTensor<T> cols = BasicTensor<T>::from_shape({K, NL});
  im2col(g, x.value().data(), cols.data());
  {
    BasicTensor<T> product = BasicTensor<T>::from_shape({g.o, NL});
    for (std::size_t k = 0; k < groups; ++k) {
      gemm<T>(false, false, Og, NL, Kg, T(1), w.value().data() + k * Og * Kg,
              cols.data() + k * Kg * NL, T(0), product.data() + k * Og * NL);
    }
    scatter_output(g, product.data(), bias, y.data());
  }
  if (!grad_enabled()) cols = none<T>();  // no node will read it
  return record<T>(
      op, std::move(y), std::move(inputs),
      two_paths<T>([g, has_bias, cols = std::move(cols)](const auto& n, const auto& up) {
        return gemm_grads(n, up, g, has_bias, cols);
      }));
}

namespace {

Geometry pool_geometry(const char* op, const Shape& x, Size2 kernel, std::optional<Size2> stride,
                       Size2 padding) {
  require_images(op, "input", x);
  // As PyTorch: a window must hold at least one input element.
  if (padding.h > kernel.h / 2 || padding.w > kernel.w / 2) {
    throw std::invalid_argument(std::string(op) + ": padding " + size2_string(padding) +
                                " is more than half the kernel " + size2_string(kernel));
  }
  return window_geometry(op, x, x[1], kernel, stride.value_or(kernel), padding, 1);
}

/// Argmax of each window as an offset within its input plane.
using Indices = std::vector<std::uint32_t, BufferAllocator<std::uint32_t>>;

/// max_pool2d's gradient: each window's g added at its argmax. On Vars, a scatter_add to the
/// argmax positions in the whole input.
template <class T>
BasicTensor<T> to_argmax(Grad<T> up, const Geometry& g, const Indices& argmax) {
  const std::size_t planes = g.n * g.c, L = g.out_plane();
  BasicTensor<T> dx = zeros<T>({g.n, g.c, g.h, g.w});
  for (std::size_t pl = 0; pl < planes; ++pl) {
    T* d = dx.data() + pl * g.plane();
    for (std::size_t l = 0; l < L; ++l) d[argmax[pl * L + l]] += up.data()[pl * L + l];
  }
  return dx;
}
template <class T>
BasicVar<T> to_argmax(const BasicVar<T>& up, const Geometry& g, const Indices& argmax) {
  const std::size_t L = g.out_plane();
  auto at = std::make_shared<std::vector<std::size_t>>(argmax.size());
  for (std::size_t j = 0; j < argmax.size(); ++j) (*at)[j] = (j / L) * g.plane() + argmax[j];
  return scatter_add(up, Positions(std::move(at)), Shape{g.n, g.c, g.h, g.w});
}

/// PyTorch's rule: strictly greater keeps the first largest, and a NaN wins (the last NaN, as
/// PyTorch's `val > maxval || isnan(val)`). Unlike `isnan(largest)`, it vectorizes.
template <class T>
bool beats(T v, T largest) {
  return (v > largest) | (v != v);
}

/// out[l], arg[l] = in[at], at where it beats out[l], for at = corner[l] + tap: one tap of every
/// window of a plane.
template <class T>
void take_larger(const T* __restrict in, const std::uint32_t* __restrict corner, std::uint32_t tap,
                 T* __restrict out, std::uint32_t* __restrict arg, std::size_t n) {
  for (std::size_t l = 0; l < n; ++l) {
    const std::uint32_t at = corner[l] + tap;
    const T v = in[at];
    const bool wins = beats(v, out[l]);
    out[l] = wins ? v : out[l];
    arg[l] = wins ? at : arg[l];
  }
}

/// Every window inside the input: a plane at a time, tap by tap in the window's row order, each
/// tap one pass over the plane's windows that gathers and selects without a branch, which
/// vectorizes. (A window at a time, which value is largest is a coin toss the branch predictor
/// loses: max-pooling took 16 % of a CNN epoch that way.)
template <class T>
void max_pool_unpadded(const Geometry& g, const T* x, T* y, std::uint32_t* argmax) {
  const std::size_t L = g.out_plane();
  Indices corner(L);  // each window's top left
  for (std::size_t i = 0; i < g.oh; ++i) {
    for (std::size_t j = 0; j < g.ow; ++j) {
      corner[i * g.ow + j] = static_cast<std::uint32_t>(i * g.stride.h * g.w + j * g.stride.w);
    }
  }
  for (std::size_t pl = 0; pl < g.n * g.c; ++pl) {
    const T* in = x + pl * g.plane();
    T* out = y + pl * L;
    std::uint32_t* arg = argmax + pl * L;
    for (std::size_t l = 0; l < L; ++l) {
      out[l] = in[corner[l]];
      arg[l] = corner[l];
    }
    for (std::size_t r = 0; r < g.kh; ++r) {
      for (std::size_t c = r == 0 ? 1 : 0; c < g.kw; ++c) {
        take_larger(in, corner.data(), static_cast<std::uint32_t>(r * g.w + c), out, arg, L);
      }
    }
  }
}

/// Windows that padding may cut: each clipped to the input (never empty: padding <= kernel / 2).
template <class T>
void max_pool_padded(const Geometry& g, const T* x, T* y, std::uint32_t* argmax) {
  const std::size_t planes = g.n * g.c, L = g.out_plane();
  for (std::size_t pl = 0; pl < planes; ++pl) {
    const T* in = x + pl * g.plane();
    T* out = y + pl * L;
    std::uint32_t* arg = argmax + pl * L;
    for (std::size_t i = 0; i < g.oh; ++i) {
      for (std::size_t j = 0; j < g.ow; ++j) {
        // The window's rows and columns inside the input (never empty: padding <= kernel / 2).
        const std::ptrdiff_t top =
            static_cast<std::ptrdiff_t>(i * g.stride.h) - static_cast<std::ptrdiff_t>(g.padding.h);
        const std::ptrdiff_t left =
            static_cast<std::ptrdiff_t>(j * g.stride.w) - static_cast<std::ptrdiff_t>(g.padding.w);
        const std::size_t y0 = static_cast<std::size_t>(std::max<std::ptrdiff_t>(top, 0));
        const std::size_t x0 = static_cast<std::size_t>(std::max<std::ptrdiff_t>(left, 0));
        const std::size_t y1 = std::min(g.h, static_cast<std::size_t>(top + std::ptrdiff_t(g.kh)));
        const std::size_t x1 = std::min(g.w, static_cast<std::size_t>(left + std::ptrdiff_t(g.kw)));
        std::size_t best = y0 * g.w + x0;
        T largest = in[best];
        for (std::size_t r = y0; r < y1; ++r) {
          for (std::size_t c = x0; c < x1; ++c) {
            const T v = in[r * g.w + c];
            if (beats(v, largest)) {
              largest = v;
              best = r * g.w + c;
            }
          }
        }
        out[i * g.ow + j] = largest;
        arg[i * g.ow + j] = static_cast<std::uint32_t>(best);
      }
    }
  }
}

}  // namespace

template <class T>
BasicVar<T> max_pool2d(const BasicVar<T>& x, Size2 kernel, std::optional<Size2> stride,
                       Size2 padding) {
  const char* op = "max_pool2d";
  const Geometry g = pool_geometry(op, node_of(op, x)->shape(), kernel, stride, padding);
  if (g.plane() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument("max_pool2d: input of shape " + shape_string(x.shape()) +
                                " has planes too large to index");
  }
  BasicTensor<T> y = BasicTensor<T>::from_shape({g.n, g.c, g.oh, g.ow});
  Indices argmax(g.n * g.c * g.out_plane());
  if (g.padding.h == 0 && g.padding.w == 0) {
    max_pool_unpadded(g, x.value().data(), y.data(), argmax.data());
  } else {
    max_pool_padded(g, x.value().data(), y.data(), argmax.data());
  }
  return record<T>(op, std::move(y), {x.node()},
                   two_paths<T>([g, argmax = std::move(argmax)](const auto& n, const auto& up) {
                     // each window's gradient goes to its argmax
                     return n.grads(to_argmax(up, g, argmax));
                   }));
}

namespace {
/// Adds `scale` times each window's sum (over the input inside it) to `out`, or, with `reverse`,
/// `scale` times each output onto its window's input: avg_pool2d's forward and backward.
template <class T>
void window_sums(const Geometry& g, const T* from, T* to, T scale, bool reverse) {
  const std::size_t planes = g.n * g.c, L = g.out_plane();
  for (std::size_t pl = 0; pl < planes; ++pl) {
    const std::size_t in0 = pl * g.plane(), out0 = pl * L;
    for (std::size_t i = 0; i < g.oh; ++i) {
      for (std::size_t j = 0; j < g.ow; ++j) {
        const std::ptrdiff_t top =
            static_cast<std::ptrdiff_t>(i * g.stride.h) - static_cast<std::ptrdiff_t>(g.padding.h);
        const std::ptrdiff_t left =
            static_cast<std::ptrdiff_t>(j * g.stride.w) - static_cast<std::ptrdiff_t>(g.padding.w);
        const std::size_t y0 = static_cast<std::size_t>(std::max<std::ptrdiff_t>(top, 0));
        const std::size_t x0 = static_cast<std::size_t>(std::max<std::ptrdiff_t>(left, 0));
        const std::size_t y1 = std::min(g.h, static_cast<std::size_t>(top + std::ptrdiff_t(g.kh)));
        const std::size_t x1 = std::min(g.w, static_cast<std::size_t>(left + std::ptrdiff_t(g.kw)));
        const std::size_t at = out0 + i * g.ow + j;
        if (reverse) {
          const T share = scale * from[at];
          for (std::size_t r = y0; r < y1; ++r) {
            for (std::size_t c = x0; c < x1; ++c) to[in0 + r * g.w + c] += share;
          }
        } else {
          T total = 0;
          for (std::size_t r = y0; r < y1; ++r) {
            for (std::size_t c = x0; c < x1; ++c) total += from[in0 + r * g.w + c];
          }
          to[at] = scale * total;
        }
      }
    }
  }
}
}  // namespace

namespace {
/// The mean of each window, on tensors and on Vars (avg_pool2d).
template <class T>
BasicTensor<T> window_means(Grad<T> x, const Geometry& g) {
  BasicTensor<T> y = BasicTensor<T>::from_shape({g.n, g.c, g.oh, g.ow});
  window_sums(g, x.data(), y.data(), T(1) / static_cast<T>(g.kh * g.kw), false);
  return y;
}
template <class T>
BasicVar<T> window_means(const BasicVar<T>& x, const Geometry& g) {
  return avg_pool2d(x, Size2{g.kh, g.kw}, g.stride, g.padding);
}
/// avg_pool2d's gradient, each output's share added onto its window, and the internal op
/// "avg_pool2d_backward" that computes it on Vars, whose own gradient is avg_pool2d again.
template <class T>
BasicTensor<T> spread_windows(Grad<T> up, const Geometry& g, T scale) {
  BasicTensor<T> dx = zeros<T>({g.n, g.c, g.h, g.w});
  window_sums(g, up.data(), dx.data(), scale, true);
  return dx;
}
template <class T>
BasicVar<T> spread_windows(const BasicVar<T>& up, const Geometry& g, T scale) {
  return record<T>("avg_pool2d_backward",
                   spread_windows(node_of("avg_pool2d_backward", up)->value(), g, scale),
                   {up.node()}, two_paths<T>([g](const auto& n, const auto& dx) {
                     // the average of each window of the gradient: avg_pool2d
                     return n.grads(window_means(dx, g));
                   }));
}
}  // namespace

template <class T>
BasicVar<T> avg_pool2d(const BasicVar<T>& x, Size2 kernel, std::optional<Size2> stride,
                       Size2 padding) {
  const char* op = "avg_pool2d";
  const Geometry g = pool_geometry(op, node_of(op, x)->shape(), kernel, stride, padding);
  const T scale = T(1) / static_cast<T>(g.kh * g.kw);
  BasicTensor<T> y = BasicTensor<T>::from_shape({g.n, g.c, g.oh, g.ow});
  window_sums(g, x.value().data(), y.data(), scale, false);
  return record<T>(op, std::move(y), {x.node()},
                   two_paths<T>([g, scale](const auto& n, const auto& up) {
                     // each input gets g / (kh kw) from every window that holds it
                     return n.grads(spread_windows(up, g, scale));
                   }));
}

namespace {
/// global_avg_pool2d's gradient: g [N, C] / (H W) over every pixel of its plane.
template <class T>
BasicTensor<T> spread_planes(Grad<T> up, const Shape& shape) {
  const std::size_t area = shape[2] * shape[3];
  BasicTensor<T> dx = BasicTensor<T>::from_shape(shape);
  for (std::size_t pl = 0; pl < up.size(); ++pl) {
    const T share = up.data()[pl] / static_cast<T>(area);
    std::fill(dx.data() + pl * area, dx.data() + (pl + 1) * area, share);
  }
  return dx;
}
template <class T>
BasicVar<T> spread_planes(const BasicVar<T>& up, const Shape& shape) {
  return broadcast_to(reshape(up, {shape[0], shape[1], 1, 1}) / static_cast<T>(shape[2] * shape[3]),
                      shape);
}
}  // namespace

template <class T>
BasicVar<T> global_avg_pool2d(const BasicVar<T>& x) {
  const char* op = "global_avg_pool2d";
  require_images(op, "input", node_of(op, x)->shape());
  const Shape& s = x.shape();
  const std::size_t planes = s[0] * s[1], area = s[2] * s[3];
  BasicTensor<T> y = BasicTensor<T>::from_shape({s[0], s[1]});
  for (std::size_t pl = 0; pl < planes; ++pl) {
    y.data()[pl] = lane_sum(x.value().data() + pl * area, area) / static_cast<T>(area);
  }
  return record<T>(op, std::move(y), {x.node()}, two_paths<T>([](const auto& n, const auto& up) {
                     // every pixel of a plane gets g / (H W)
                     return n.grads(spread_planes(up, n.input(0).shape()));
                   }));
}

#define RETROGRAD_INSTANTIATE_CONV(T)                                                            \
  template BasicVar<T> conv2d(const BasicVar<T>&, const BasicVar<T>&, const BasicVar<T>&, Size2, \
                              Size2, Size2, std::size_t);                                        \
  template BasicVar<T> max_pool2d(const BasicVar<T>&, Size2, std::optional<Size2>, Size2);       \
  template BasicVar<T> avg_pool2d(const BasicVar<T>&, Size2, std::optional<Size2>, Size2);       \
  template BasicVar<T> global_avg_pool2d(const BasicVar<T>&);

RETROGRAD_INSTANTIATE_CONV(float)
RETROGRAD_INSTANTIATE_CONV(double)

namespace {
OpRow conv_row(const char* name, const char* signature, int arity, const char* forward,
               std::vector<std::string> backward, std::vector<OpCheck> checks, const char* notes) {
  return {name,  "conv", signature, arity, forward,           std::move(backward),
          false, {},     nullptr,   0,     std::move(checks), notes};
}

/// The geometry of a 3x3 window, stride 2, padding 1, over x [1, 2, 5, 5]: the internal ops'
/// checks.
Geometry internal_geometry() { return window_geometry("im2col", {1, 2, 5, 5}, 1, 3, 2, 1, 1); }
}  // namespace

std::vector<OpRow> detail::conv_rows() {
  const Geometry g = internal_geometry();
  return {
      conv_row(
          "conv2d", "conv2d(x, W, b, stride = 1, padding = 0, dilation = 1, groups = 1)", 3,
          "y[n,o,i,j] = {c}[o] + sum_{c,p,q} {b}[o,c,p,q] x[n, c, i s + p d - pad, j s + q d - "
          "pad] (0 outside {a}; with groups, c runs over o's group); b may be an empty Var",
          {"full convolution of {g} with W flipped: col2im(W^T . G)",
           "{g} correlated with the input: G . im2col({a})^T", "{g} summed over n, i, j"},
          {{"3x3, padding 1, two channels (one GEMM)",
            {{2, 2, 4, 4}, {3, 2, 3, 3}, {3}},
            [](In v) { return conv2d(v[0], v[1], v[2], 1, 1); }},
           {"one channel, stride 2",
            {{2, 1, 5, 5}, {2, 1, 3, 3}, {2}},
            [](In v) { return conv2d(v[0], v[1], v[2], 2); }},
           {"dilation 2, no bias",
            {{1, 2, 5, 5}, {2, 2, 2, 2}},
            [](In v) { return conv2d(v[0], v[1], VarD(), 1, 1, 2); }},
           {"2 groups of 2 channels, 3 outputs each",
            {{2, 4, 4, 4}, {6, 2, 3, 3}, {6}},
            [](In v) { return conv2d(v[0], v[1], v[2], 1, 1, 1, 2); }},
           {"depthwise: 3 groups of one channel, stride 2",
            {{1, 3, 5, 5}, {3, 1, 3, 3}, {3}},
            [](In v) { return conv2d(v[0], v[1], v[2], 2, 1, 1, 3); }}},
          "x [N, C, H, W], W [O, C / groups, kh, kw], b [O]; one GEMM per group over the batch "
          "(im2col)"),
      conv_row("max_pool2d", "max_pool2d(x, kernel, stride = kernel, padding = 0)", 1,
               "largest of each window of {x} (padding counts as -infinity)",
               {"{g} to each window's argmax"},
               {{"2x2 windows", {{2, 2, 4, 4}}, [](In v) { return max_pool2d(v[0], 2); }},
                {"3x3, stride 2, padding 1",
                 {{1, 2, 5, 5}},
                 [](In v) { return max_pool2d(v[0], 3, Size2(2), 1); }}},
               "the first largest on a tie; a NaN wins (the last one, as in PyTorch)"),
      conv_row("avg_pool2d", "avg_pool2d(x, kernel, stride = kernel, padding = 0)", 1,
               "sum of each window of {x} / (kh kw)",
               {"{g} / (kh kw) to every element of the window"},
               {{"2x2 windows", {{2, 2, 4, 4}}, [](In v) { return avg_pool2d(v[0], 2); }},
                {"3x3, stride 2, padding 1",
                 {{1, 2, 5, 5}},
                 [](In v) { return avg_pool2d(v[0], 3, Size2(2), 1); }}},
               "padded zeros count in the mean (PyTorch's count_include_pad)"),
      conv_row(
          "global_avg_pool2d", "global_avg_pool2d(x)", 1,
          "[N, C]: the mean of each channel's H W values of {x}", {"{g} / (H W) to every pixel"},
          {{"[2, 3, 3, 3]", {{2, 3, 3, 3}}, [](In v) { return global_avg_pool2d(v[0]); }}}, ""),
      conv_row(
          "im2col", "im2col(x, geometry) (internal)", 1,
          "the windows of {x} as the columns of a [C kh kw, N OH OW] matrix", {"col2im({g})"},
          {{"3x3, stride 2, padding 1", {{1, 2, 5, 5}}, [g](In v) { return patches(v[0], g); }}},
          "conv2d's weight gradient on Vars (create_graph); its gradient is col2im"),
      conv_row("col2im", "col2im(cols, geometry) (internal)", 1,
               "each entry of {x} added onto the pixel its window read", {"im2col({g})"},
               {{"3x3, stride 2, padding 1",
                 {{g.patch(), g.n * g.out_plane()}},
                 [g](In v) { return unpatches(v[0], g); }}},
               "conv2d's input gradient on Vars (create_graph); its gradient is im2col"),
      conv_row("avg_pool2d_backward", "avg_pool2d_backward(g, geometry) (internal)", 1,
               "each {x} / (kh kw) added onto its window", {"avg_pool2d({g})"},
               {{"3x3, stride 2, padding 1",
                 {{g.n, g.c, g.oh, g.ow}},
                 [g](In v) { return spread_windows(v[0], g, 1.0 / 9.0); }}},
               "avg_pool2d's gradient on Vars (create_graph); its gradient is avg_pool2d"),
  };
}

}  // namespace retrograd
