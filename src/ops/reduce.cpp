// Reductions (sum, mean, max over everything or along an axis) and the normalisations along an
// axis (softmax, log_softmax). Loops along an axis view the tensor as [outer, extent, inner]
// (AxisSplit).

#include "ops/op_machinery.hpp"
#include "ops/op_rows.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {
using namespace detail;

template <class T>
BasicVar<T> sum(const BasicVar<T>& x) {
  return record<T>("sum",
                   scalar_tensor<T>(xt::sum(x.value(), xt::evaluation_strategy::immediate)()),
                   {x.node()}, [](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d sum(x)/dx_i = 1
                     return {full<T>(n.input(0).shape(), g())};
                   });
}

template <class T>
BasicVar<T> sum(const BasicVar<T>& x, int axis, bool keepdims) {
  const std::size_t ax = normalize_axis("sum", axis, x.value().dimension());
  BasicTensor<T> out = xt::sum(x.value(), {ax}, xt::evaluation_strategy::immediate);
  out.reshape(reduced_shape(x.shape(), ax, keepdims));
  return record<T>("sum", std::move(out), {x.node()},
                   [ax](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d sum_k(x)/dx_k = 1: g spread along the axis
                     return {expand_along(g, n.input(0).shape(), ax)};
                   });
}

template <class T>
BasicVar<T> mean(const BasicVar<T>& x) {
  require_nonempty("mean", x.value());
  const T count = static_cast<T>(x.size());
  return record<T>(
      "mean", scalar_tensor<T>(xt::sum(x.value(), xt::evaluation_strategy::immediate)() / count),
      {x.node()}, [count](const Node<T>& n, Grad<T> g) -> GradList<T> {
        // d mean(x)/dx_i = 1/N
        return {full<T>(n.input(0).shape(), g() / count)};
      });
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
                   [ax, count](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d mean_k(x)/dx_k = 1/N along the axis
                     BasicTensor<T> dx = expand_along(g, n.input(0).shape(), ax);
                     dx /= count;
                     return {std::move(dx)};
                   });
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
                   [best](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d max(x)/dx_i = [i is the first largest element], Note [ties]
                     BasicTensor<T> dx = zeros<T>(n.input(0).shape());
                     dx.data()[best] = g();
                     return {std::move(dx)};
                   });
}

template <class T>
BasicVar<T> max(const BasicVar<T>& x, int axis, bool keepdims) {
  require_nonempty("max", x.value());
  const std::size_t ax = normalize_axis("max", axis, x.value().dimension());
  const AxisSplit s = split_at(x.shape(), ax);
  const T* v = x.value().data();
  BasicTensor<T> out = BasicTensor<T>::from_shape(reduced_shape(x.shape(), ax, keepdims));
  std::vector<std::size_t> argmax(s.outer * s.inner);
  for (std::size_t o = 0; o < s.outer; ++o) {
    for (std::size_t i = 0; i < s.inner; ++i) {
      std::size_t best = s.at(o, 0, i);
      for (std::size_t k = 1; k < s.extent; ++k) {
        if (v[s.at(o, k, i)] > v[best]) best = s.at(o, k, i);
      }
      argmax[o * s.inner + i] = best;
      out.data()[o * s.inner + i] = v[best];
    }
  }
  return record<T>("max", std::move(out), {x.node()},
                   [argmax = std::move(argmax)](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d max_k(x)/dx_k = [k is the first largest along the axis], Note [ties]
                     BasicTensor<T> dx = zeros<T>(n.input(0).shape());
                     for (std::size_t j = 0; j < argmax.size(); ++j)
                       dx.data()[argmax[j]] = g.data()[j];
                     return {std::move(dx)};
                   });
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
                   [s](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // dx_k = y_k (g_k - sum_j g_j y_j)
                     const T* y = n.value().data();
                     BasicTensor<T> dx = BasicTensor<T>::from_shape(n.value().shape());
                     for (std::size_t o = 0; o < s.outer; ++o) {
                       for (std::size_t i = 0; i < s.inner; ++i) {
                         T dot = 0;
                         for (std::size_t k = 0; k < s.extent; ++k)
                           dot += g.data()[s.at(o, k, i)] * y[s.at(o, k, i)];
                         for (std::size_t k = 0; k < s.extent; ++k) {
                           const std::size_t j = s.at(o, k, i);
                           dx.data()[j] = y[j] * (g.data()[j] - dot);
                         }
                       }
                     }
                     return {std::move(dx)};
                   });
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
                   [s](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // dx_k = g_k - softmax_k sum_j g_j, with softmax = exp(y)
                     const T* y = n.value().data();
                     BasicTensor<T> dx = BasicTensor<T>::from_shape(n.value().shape());
                     for (std::size_t o = 0; o < s.outer; ++o) {
                       for (std::size_t i = 0; i < s.inner; ++i) {
                         T total = 0;
                         for (std::size_t k = 0; k < s.extent; ++k)
                           total += g.data()[s.at(o, k, i)];
                         for (std::size_t k = 0; k < s.extent; ++k) {
                           const std::size_t j = s.at(o, k, i);
                           dx.data()[j] = g.data()[j] - std::exp(y[j]) * total;
                         }
                       }
                     }
                     return {std::move(dx)};
                   });
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
  return record<T>("logsumexp", std::move(out), {x.node()},
                   [ax](const Node<T>& n, Grad<T> g) -> GradList<T> {
                     // d lse(x)/dx_k = softmax_k = e^(x_k - y): g spread along the axis times it
                     const Shape& in = n.input(0).shape();
                     BasicTensor<T> y = n.value();
                     y.reshape(reduced_shape(in, ax, true));
                     BasicTensor<T> dx = expand_along(g, in, ax);
                     dx *= xt::exp(n.input(0) - xt::broadcast(y, in));
                     return {std::move(dx)};
                   });
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
