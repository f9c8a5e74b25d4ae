// Reductions (sum, mean, max over everything or along an axis) and the normalisations along an
// axis (softmax, log_softmax). Loops along an axis view the tensor as [outer, extent, inner]
// (AxisSplit).

#include "ops/op_machinery.hpp"
#include "ops/op_rows.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {
using namespace detail;

namespace {
// The functions the rules below are written in, each for tensors and for Vars: one rule per op
// runs on either (Note [one rule, two paths] in retrograd/node.hpp).

/// g, a single number, spread over `shape` and divided by `divisor`.
template <class T>
BasicTensor<T> spread(Grad<T> g, const Shape& shape, T divisor = T(1)) {
  return full<T>(shape, g() / divisor);
}
template <class T>
BasicVar<T> spread(const BasicVar<T>& g, const Shape& shape, T divisor = T(1)) {
  return broadcast_to(divisor == T(1) ? g : g / divisor, shape);
}

template <class T>
BasicVar<T> expand_along(const BasicVar<T>& g, const Shape& input_shape, std::size_t axis) {
  return broadcast_to(reshape(g, reduced_shape(input_shape, axis, true)), input_shape);
}

template <class T>
void divide(BasicTensor<T>& x, T divisor) {
  x /= divisor;
}
template <class T>
void divide(BasicVar<T>& x, T divisor) {
  x = x / divisor;
}

// softmax: dx_k = y_k (g_k - sum_j g_j y_j)
template <class T>
BasicTensor<T> softmax_grad(Grad<T> y_tensor, Grad<T> g, const AxisSplit& s, std::size_t) {
  const T* y = y_tensor.data();
  BasicTensor<T> dx = BasicTensor<T>::from_shape(y_tensor.shape());
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      T dot = 0;
      for (std::size_t k = 0; k < s.extent; ++k) dot += g.data()[s.at(o, k, i)] * y[s.at(o, k, i)];
      for (std::size_t k = 0; k < s.extent; ++k) {
        const std::size_t j = s.at(o, k, i);
        dx.data()[j] = y[j] * (g.data()[j] - dot);
      }
    }
  }
  return dx;
}
template <class T>
BasicVar<T> softmax_grad(const BasicVar<T>& y, const BasicVar<T>& g, const AxisSplit&,
                         std::size_t axis) {
  return y * (g - sum(g * y, static_cast<int>(axis), true));
}

// log_softmax: dx_k = g_k - softmax_k sum_j g_j, with softmax = exp(y)
template <class T>
BasicTensor<T> log_softmax_grad(Grad<T> y_tensor, Grad<T> g, const AxisSplit& s, std::size_t) {
  const T* y = y_tensor.data();
  BasicTensor<T> dx = BasicTensor<T>::from_shape(y_tensor.shape());
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      T total = 0;
      for (std::size_t k = 0; k < s.extent; ++k) total += g.data()[s.at(o, k, i)];
      for (std::size_t k = 0; k < s.extent; ++k) {
        const std::size_t j = s.at(o, k, i);
        dx.data()[j] = g.data()[j] - std::exp(y[j]) * total;
      }
    }
  }
  return dx;
}
template <class T>
BasicVar<T> log_softmax_grad(const BasicVar<T>& y, const BasicVar<T>& g, const AxisSplit&,
                             std::size_t axis) {
  return g - exp(y) * sum(g, static_cast<int>(axis), true);
}
}  // namespace

template <class T>
BasicVar<T> sum(const BasicVar<T>& x) {
  return record<T>("sum",
                   scalar_tensor<T>(xt::sum(x.value(), xt::evaluation_strategy::immediate)()),
                   {x.node()}, two_paths<T>([](const auto& n, const auto& g) {
                     // d sum(x)/dx_i = 1
                     return n.grads(spread(g, n.input(0).shape()));
                   }));
}

template <class T>
BasicVar<T> sum(const BasicVar<T>& x, int axis, bool keepdims) {
  const std::size_t ax = normalize_axis("sum", axis, x.value().dimension());
  BasicTensor<T> out = xt::sum(x.value(), {ax}, xt::evaluation_strategy::immediate);
  out.reshape(reduced_shape(x.shape(), ax, keepdims));
  return record<T>("sum", std::move(out), {x.node()},
                   two_paths<T>([ax](const auto& n, const auto& g) {
                     // d sum_k(x)/dx_k = 1: g spread along the axis
                     return n.grads(expand_along(g, n.input(0).shape(), ax));
                   }));
}

template <class T>
BasicVar<T> mean(const BasicVar<T>& x) {
  require_nonempty("mean", x.value());
  const T count = static_cast<T>(x.size());
  return record<T>(
      "mean", scalar_tensor<T>(xt::sum(x.value(), xt::evaluation_strategy::immediate)() / count),
      {x.node()}, two_paths<T>([count](const auto& n, const auto& g) {
        // d mean(x)/dx_i = 1/N
        return n.grads(spread(g, n.input(0).shape(), count));
      }));
}

template <class T>
BasicVar<T> mean(const BasicVar<T>& x, int axis, bool keepdims) {
  require_nonempty("mean", x.value());
  const std::size_t ax = normalize_axis("mean", axis, x.value().dimension());
  const T count = static_cast<T>(x.shape()[ax]);
  BasicTensor<T> out = xt::sum(x.value(), {ax}, xt::evaluation_strategy::immediate);
  out /= count;
  out.reshape(reduced_shape(x.shape(), ax, keepdims));
  return record<T>("mean", std::move(out), {x.node()},
                   two_paths<T>([ax, count](const auto& n, const auto& g) {
                     // d mean_k(x)/dx_k = 1/N along the axis
                     auto dx = expand_along(g, n.input(0).shape(), ax);
                     divide(dx, count);
                     return n.grads(std::move(dx));
                   }));
}

template <class T>
BasicVar<T> max(const BasicVar<T>& x) {
  require_nonempty("max", x.value());
  const T* v = x.value().data();
  std::size_t best = 0;
  for (std::size_t i = 1; i < x.size(); ++i) {
    if (v[i] > v[best]) best = i;
  }
  return record<T>("max", scalar_tensor<T>(v[best]), {x.node()},
                   two_paths<T>([at = Positions(std::make_shared<const std::vector<std::size_t>>(
                                     1, best))](const auto& n, const auto& g) {
                     // d max(x)/dx_i = [i is the first largest element], Note [ties]
                     return n.grads(scatter_back(g, at, n.input(0).shape()));
                   }));
}

template <class T>
BasicVar<T> max(const BasicVar<T>& x, int axis, bool keepdims) {
  require_nonempty("max", x.value());
  const std::size_t ax = normalize_axis("max", axis, x.value().dimension());
  const AxisSplit s = split_at(x.shape(), ax);
  const T* v = x.value().data();
  BasicTensor<T> out = BasicTensor<T>::from_shape(reduced_shape(x.shape(), ax, keepdims));
  auto argmax = std::make_shared<std::vector<std::size_t>>(s.outer * s.inner);
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      std::size_t best = s.at(o, 0, i);
      for (std::size_t k = 1; k < s.extent; ++k) {
        if (v[s.at(o, k, i)] > v[best]) best = s.at(o, k, i);
      }
      (*argmax)[o * s.inner + i] = best;
      out.data()[o * s.inner + i] = v[best];
    }
  }
  return record<T>("max", std::move(out), {x.node()},
                   two_paths<T>([at = Positions(std::move(argmax))](const auto& n, const auto& g) {
                     // d max_k(x)/dx_k = [k is the first largest along the axis], Note [ties]
                     return n.grads(scatter_back(g, at, n.input(0).shape()));
                   }));
}

template <class T>
BasicVar<T> softmax(const BasicVar<T>& x, int axis) {
  require_nonempty("softmax", x.value());
  const std::size_t ax = normalize_axis("softmax", axis, x.value().dimension());
  const AxisSplit s = split_at(x.shape(), ax);
  const T* v = x.value().data();
  BasicTensor<T> out = BasicTensor<T>::from_shape(x.shape());
  T* y = out.data();
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      const T lse = log_sum_exp(v + s.at(o, 0, i), s.extent, s.inner);
      for (std::size_t k = 0; k < s.extent; ++k)
        y[s.at(o, k, i)] = std::exp(v[s.at(o, k, i)] - lse);
    }
  }
  return record<T>("softmax", std::move(out), {x.node()},
                   two_paths<T>([s, ax](const auto& n, const auto& g) {
                     return n.grads(softmax_grad(n.value(), g, s, ax));
                   }));
}

template <class T>
BasicVar<T> log_softmax(const BasicVar<T>& x, int axis) {
  require_nonempty("log_softmax", x.value());
  const std::size_t ax = normalize_axis("log_softmax", axis, x.value().dimension());
  const AxisSplit s = split_at(x.shape(), ax);
  const T* v = x.value().data();
  BasicTensor<T> out = BasicTensor<T>::from_shape(x.shape());
  T* y = out.data();
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      const T lse = log_sum_exp(v + s.at(o, 0, i), s.extent, s.inner);
      for (std::size_t k = 0; k < s.extent; ++k) y[s.at(o, k, i)] = v[s.at(o, k, i)] - lse;
    }
  }
  return record<T>("log_softmax", std::move(out), {x.node()},
                   two_paths<T>([s, ax](const auto& n, const auto& g) {
                     return n.grads(log_softmax_grad(n.value(), g, s, ax));
                   }));
}

template <class T>
BasicVar<T> logsumexp(const BasicVar<T>& x, int axis, bool keepdims) {
  require_nonempty("logsumexp", x.value());
  const std::size_t ax = normalize_axis("logsumexp", axis, x.value().dimension());
  const AxisSplit s = split_at(x.shape(), ax);
  BasicTensor<T> out = BasicTensor<T>::from_shape(reduced_shape(x.shape(), ax, keepdims));
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      out.data()[o * s.inner + i] =
          log_sum_exp(x.value().data() + s.at(o, 0, i), s.extent, s.inner);
    }
  }
  return record<T>(
      "logsumexp", std::move(out), {x.node()}, two_paths<T>([ax](const auto& n, const auto& g) {
        // d lse(x)/dx_k = softmax_k = e^(x_k - y): g spread along the axis times it
        const Shape in = n.input(0).shape();
        return n.grads(n.eval(expand_along(g, in, ax) *
                              math::exp(n.input(0) - expand_along(n.value(), in, ax))));
      }));
}

#define RETROGRAD_INSTANTIATE_REDUCTIONS(T)                      \
  template BasicVar<T> sum(const BasicVar<T>&);                  \
  template BasicVar<T> sum(const BasicVar<T>&, int, bool);       \
  template BasicVar<T> mean(const BasicVar<T>&);                 \
  template BasicVar<T> mean(const BasicVar<T>&, int, bool);      \
  template BasicVar<T> max(const BasicVar<T>&);                  \
  template BasicVar<T> max(const BasicVar<T>&, int, bool);       \
  template BasicVar<T> logsumexp(const BasicVar<T>&, int, bool); \
  template BasicVar<T> softmax(const BasicVar<T>&, int);         \
  template BasicVar<T> log_softmax(const BasicVar<T>&, int);

RETROGRAD_INSTANTIATE_REDUCTIONS(float)
RETROGRAD_INSTANTIATE_REDUCTIONS(double)

std::vector<OpRow> detail::reduce_rows() {
  const auto row = [](const char* name, const char* signature, const char* forward,
                      const char* backward, std::vector<OpCheck> checks, const char* notes) {
    return OpRow{name,  "reduce", signature, 1, forward, {backward},
                 false, {},       nullptr,   0, checks,  notes};
  };
  return {
      row("sum", "sum(x), sum(x, axis, keepdims)", "sum of {x}",
          "{g} copied to every summed element",
          {{"all", {{3, 4}}, [](In v) { return sum(v[0]); }},
           {"axis 0", {{3, 4}}, [](In v) { return sum(v[0], 0); }},
           {"axis -1, keepdims", {{2, 3, 2}}, [](In v) { return sum(v[0], -1, true); }},
           {"empty", {{0, 3}}, [](In v) { return sum(v[0]); }}},
          "axes may be negative"),
      row("mean", "mean(x), mean(x, axis, keepdims)", "mean of {x}",
          "{g} / N at every averaged element",
          {{"all", {{3, 4}}, [](In v) { return mean(v[0]); }},
           {"axis 1, keepdims", {{3, 4}}, [](In v) { return mean(v[0], 1, true); }},
           {"single number", {{}}, [](In v) { return mean(v[0]); }}},
          "throws for an empty tensor"),
      row("max", "max(x), max(x, axis, keepdims)", "largest of {x}",
          "{g} to the first largest element, 0 elsewhere",
          {{"all", {{3, 4}}, [](In v) { return max(v[0]); }},
           {"axis 1", {{3, 4}}, [](In v) { return max(v[0], 1); }},
           {"axis 0 of one row", {{1, 4}}, [](In v) { return max(v[0], 0); }}},
          "a tie sends the gradient to the first largest element"),
      row("logsumexp", "logsumexp(x, axis, keepdims = false)", "log(sum(e^{x}))",
          "{g} * e^({x} - {y}) along the axis",
          {{"rows", {{3, 4}}, [](In v) { return logsumexp(v[0], 1); }},
           {"axis 0, keepdims", {{3, 2}}, [](In v) { return logsumexp(v[0], 0, true); }},
           {"one element", {{1}}, [](In v) { return logsumexp(v[0], 0); }}},
          "the max is subtracted first, so large inputs do not overflow"),
      row("softmax", "softmax(x, axis = -1)", "e^{x} / sum(e^{x})", "{y} * ({g} - sum({g} * {y}))",
          {{"rows", {{3, 4}}, [](In v) { return softmax(v[0]); }},
           {"axis 0 of 3-d", {{2, 3, 2}}, [](In v) { return softmax(v[0], 0); }},
           {"one class", {{3, 1}}, [](In v) { return softmax(v[0]); }}},
          "the max is subtracted first, so large inputs do not overflow"),
      row("log_softmax", "log_softmax(x, axis = -1)", "{x} - log(sum(e^{x}))",
          "{g} - e^{y} * sum({g})",
          {{"rows", {{3, 4}}, [](In v) { return log_softmax(v[0]); }},
           {"axis 0", {{3, 4}}, [](In v) { return log_softmax(v[0], 0); }}},
          "computed through log-sum-exp"),
  };
}

}  // namespace retrograd
