#include "retrograd/nn/regularization.hpp"

#include <cmath>
#include <stdexcept>

#include "random.hpp"
#include "retrograd/engine.hpp"
#include "retrograd/ops.hpp"
#include "xtensor_math.hpp"

namespace retrograd::nn {

template <class T>
BasicVar<T> weight_penalty(const std::vector<BasicVar<T>>& params, double l1, double l2) {
  if (!(l1 >= 0) || !(l2 >= 0) || !std::isfinite(l1) || !std::isfinite(l2)) {
    throw std::invalid_argument("weight_penalty: coefficients must be finite and >= 0 (got l1 " +
                                std::to_string(l1) + ", l2 " + std::to_string(l2) + ")");
  }
  BasicVar<T> total(T(0));
  for (const BasicVar<T>& w : params) {
    if (l1 != 0) total = total + static_cast<T>(l1) * sum(abs(w));
    if (l2 != 0) total = total + static_cast<T>(l2) * sum(w * w);
  }
  return total;
}

template <class T>
BasicDropout<T>::BasicDropout(double rate) : BasicDropout(rate, default_engine()()) {}

template <class T>
BasicDropout<T>::BasicDropout(double rate, std::uint64_t seed)
    : BasicModule<T>("dropout"), rate_(rate), engine_(seed) {
  if (!(rate >= 0 && rate < 1)) {
    throw std::invalid_argument("Dropout: rate must be in [0, 1) (got " + std::to_string(rate) +
                                ")");
  }
}

template <class T>
BasicVar<T> BasicDropout<T>::forward(const BasicVar<T>& x) {
  if (!this->training() || rate_ == 0) return x;
  // A fresh mask per call, moved into the graph: the node owns it until backward is done, and
  // the buffer cache makes the allocation a free-list pop.
  BasicTensor<T> mask = BasicTensor<T>::from_shape(x.shape());
  // Portable draws (src/random.hpp): the same seed gives the same masks with every library.
  const double keep = 1 - rate_;
  const T scale = static_cast<T>(1 / keep);
  for (T& m : mask) m = detail::uniform01(engine_) < keep ? scale : T(0);
  return mul(x, BasicVar<T>(std::move(mask)));
}

template <class T>
BasicBatchNorm<T>::BasicBatchNorm(std::size_t features, double momentum, double eps)
    : BasicModule<T>("batch_norm"),
      features_(features),
      momentum_(momentum),
      eps_(eps),
      gamma_(full<T>({features}, T(1)), requires_grad, "gamma"),
      beta_(zeros<T>({features}), requires_grad, "beta"),
      running_mean_(zeros<T>({features})),
      running_var_(full<T>({features}, T(1))) {
  if (features == 0 || !(momentum >= 0 && momentum <= 1) || !(eps > 0)) {
    throw std::invalid_argument("BatchNorm(" + std::to_string(features) + ", momentum " +
                                std::to_string(momentum) + ", eps " + std::to_string(eps) +
                                "): needs features > 0, momentum in [0, 1], eps > 0");
  }
}

template <class T>
BasicVar<T> BasicBatchNorm<T>::forward(const BasicVar<T>& x) {
  const Shape& s = x.shape();
  const bool images = s.size() == 4;
  if ((s.size() != 2 && !images) || s[1] != features_) {
    throw std::invalid_argument("BatchNorm '" + this->name() + "' (" + std::to_string(features_) +
                                " features): input of shape " + shape_string(s) +
                                " does not fit; expected [batch, " + std::to_string(features_) +
                                "] or [batch, " + std::to_string(features_) + ", height, width]");
  }
  // Images are normalized per channel over the batch and every pixel: seen as [n, c, h w], the
  // statistics are means over axes 2 and 0, and broadcast back as [1, c, 1].
  const Shape stats_shape = images ? Shape{1, features_, 1} : Shape{features_};
  const BasicVar<T> xs = images ? reshape(x, {s[0], s[1], s[2] * s[3]}) : x;
  const auto channel_mean = [images](const BasicVar<T>& v) {
    return images ? mean(mean(v, 2, true), 0, true) : mean(v, 0);
  };
  const auto shaped = [&](const BasicVar<T>& v) { return images ? reshape(v, stats_shape) : v; };
  const auto restore = [&](const BasicVar<T>& v) { return images ? reshape(v, s) : v; };
  const T eps = static_cast<T>(eps_);
  if (!this->training()) {
    BasicTensor<T> mean_t = running_mean_;
    BasicTensor<T> inv_std(T(1) / xt::sqrt(running_var_ + eps));
    mean_t.reshape(stats_shape);
    inv_std.reshape(stats_shape);
    const BasicVar<T> mean_c{std::move(mean_t)}, inv_std_c{std::move(inv_std)};
    return restore((xs - mean_c) * inv_std_c * shaped(gamma_) + shaped(beta_));
  }
  const std::size_t n = x.size() / features_;
  if (n < 2) {
    throw std::invalid_argument(
        "BatchNorm '" + this->name() +
        "': training needs at least 2 rows (values per feature) to estimate a "
        "variance (got input of shape " +
        shape_string(s) + ")");
  }
  const BasicVar<T> mu = channel_mean(xs);
  const BasicVar<T> centered = xs - mu;
  const BasicVar<T> var = channel_mean(centered * centered);
  const BasicVar<T> y = centered * pow(var + eps, T(-0.5)) * shaped(gamma_) + shaped(beta_);

  const T m = static_cast<T>(momentum_);
  const T unbias = static_cast<T>(n) / static_cast<T>(n - 1);
  const auto flat = [this](const BasicTensor<T>& t) {
    BasicTensor<T> v = t;
    v.reshape({features_});
    return v;
  };
  xt::noalias(running_mean_) = (T(1) - m) * running_mean_ + m * flat(mu.value());
  xt::noalias(running_var_) = (T(1) - m) * running_var_ + (m * unbias) * flat(var.value());
  return restore(y);
}

template <class T>
std::vector<NamedParameter<T>> BasicBatchNorm<T>::named_parameters() const {
  return {{"gamma", gamma_}, {"beta", beta_}};
}

template <class T>
std::vector<NamedBuffer<T>> BasicBatchNorm<T>::named_buffers() {
  return {{"running_mean", &running_mean_}, {"running_var", &running_var_}};
}

template <class T>
std::unique_ptr<BasicDropout<T>> BasicDropout<T>::from_record(const LayerRecord& record) {
  return std::make_unique<BasicDropout>(record.config.number("rate"), std::uint64_t{0});
}

template <class T>
void BasicBatchNorm<T>::save_config(Record& config) const {
  config.set("momentum", momentum_);
  config.set("eps", eps_);
}

template <class T>
std::unique_ptr<BasicBatchNorm<T>> BasicBatchNorm<T>::from_record(const LayerRecord& record) {
  const Shape& gamma = record.tensors.tensor("gamma").shape();
  if (gamma.size() != 1) {
    record.tensors.fail("gamma of shape " + shape_string(gamma) + " is not a vector");
  }
  return std::make_unique<BasicBatchNorm>(gamma[0], record.config.number("momentum"),
                                          record.config.number("eps"));
}

template BasicVar<float> weight_penalty(const std::vector<BasicVar<float>>&, double, double);
template BasicVar<double> weight_penalty(const std::vector<BasicVar<double>>&, double, double);
template class BasicDropout<float>;
template class BasicDropout<double>;
template class BasicBatchNorm<float>;
template class BasicBatchNorm<double>;

}  // namespace retrograd::nn
