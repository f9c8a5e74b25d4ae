#include "retrograd/data/split.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "random.hpp"

namespace retrograd::data {

Split split(const Dataset& data, const SplitFractions& fractions, std::uint64_t seed) {
  const double f[] = {fractions.train, fractions.validation, fractions.test};
  for (double v : f) {
    if (!(v >= 0.0) || !(v <= 1.0)) {
      throw std::invalid_argument("split: fraction " + std::to_string(v) + " is not in [0, 1]");
    }
  }
  const double sum = f[0] + f[1] + f[2];
  if (std::abs(sum - 1.0) > 1e-6) {
    throw std::invalid_argument("split: fractions " + std::to_string(f[0]) + " + " +
                                std::to_string(f[1]) + " + " + std::to_string(f[2]) + " sum to " +
                                std::to_string(sum) + ", not 1");
  }
  const std::size_t n = data.size();
  const auto round_count = [n](double fraction) {
    return static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
  };
  const std::size_t n_train = std::min(n, round_count(f[0]));
  const std::size_t n_val = std::min(n - n_train, round_count(f[1]));

  std::mt19937_64 rng(seed);
  std::vector<std::size_t> perm = detail::iota(n);
  detail::shuffle(perm, rng);
  const auto part = [&](std::size_t begin, std::size_t end) {
    return data.subset(std::vector<std::size_t>(perm.begin() + static_cast<std::ptrdiff_t>(begin),
                                                perm.begin() + static_cast<std::ptrdiff_t>(end)));
  };
  return Split{part(0, n_train), part(n_train, n_train + n_val), part(n_train + n_val, n)};
}

void scale(Split& parts, Scaling kind) {
  FeatureScaler s = parts.train.fit_scaler(kind);
  parts.validation.set_scaler(s);
  parts.test.set_scaler(s);
  parts.train.set_scaler(std::move(s));
}

void scale(Dataset& train, Dataset& other, Scaling kind) {
  FeatureScaler s = train.fit_scaler(kind);
  other.set_scaler(s);
  train.set_scaler(std::move(s));
}

}  // namespace retrograd::data
