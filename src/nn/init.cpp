#include "retrograd/nn/init.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "random.hpp"

namespace retrograd::nn {

Engine& default_engine() {
  thread_local Engine engine;
  return engine;
}

void manual_seed(std::uint64_t seed) { default_engine().seed(seed); }

Initializer Initializer::uniform(double low, double high) {
  if (!(low < high)) {
    throw std::invalid_argument("Initializer::uniform: low " + std::to_string(low) +
                                " must be below high " + std::to_string(high));
  }
  return {Kind::uniform, low, high};
}

Initializer Initializer::normal(double mean, double stddev) {
  if (!(stddev >= 0) || !std::isfinite(stddev)) {
    throw std::invalid_argument("Initializer::normal: stddev must be finite and >= 0 (got " +
                                std::to_string(stddev) + ")");
  }
  return {Kind::normal, mean, stddev};
}

std::string Initializer::name() const {
  std::ostringstream out;
  switch (kind_) {
    case Kind::zeros:
      return "zeros";
    case Kind::constant:
      out << "constant(" << a_ << ")";
      return out.str();
    case Kind::uniform:
      out << "uniform(" << a_ << ", " << b_ << ")";
      return out.str();
    case Kind::normal:
      out << "normal(" << a_ << ", " << b_ << ")";
      return out.str();
    case Kind::glorot_uniform:
      return "glorot_uniform";
    case Kind::glorot_normal:
      return "glorot_normal";
    case Kind::he_uniform:
      return "he_uniform";
    case Kind::he_normal:
      return "he_normal";
    case Kind::lecun_uniform:
      return "lecun_uniform";
    case Kind::lecun_normal:
      return "lecun_normal";
  }
  return "?";
}

namespace {
// Portable draws (src/random.hpp): std::uniform_real_distribution and normal_distribution are
// implementation-defined, so they would give other weights with another standard library.
struct U {
  double low, high;
  double operator()(Engine& e) const { return retrograd::detail::uniform(e, low, high); }
};
struct N {
  double mean, stddev;
  double operator()(Engine& e) const { return mean + stddev * retrograd::detail::normal(e); }
};

template <class T, class Dist>
void draw(BasicTensor<T>& t, Dist dist, Engine& engine) {
  for (T& v : t) v = static_cast<T>(dist(engine));
}
}  // namespace

template <class T>
void Initializer::fill(BasicTensor<T>& t, std::size_t fan_in, std::size_t fan_out,
                       Engine& engine) const {
  const double in = static_cast<double>(fan_in), out = static_cast<double>(fan_out);
  if ((fan_in == 0 || fan_out == 0) && kind_ != Kind::zeros && kind_ != Kind::constant &&
      kind_ != Kind::uniform && kind_ != Kind::normal) {
    throw std::invalid_argument("Initializer " + name() + ": fan_in and fan_out must be positive");
  }
  switch (kind_) {
    case Kind::zeros:
      t.fill(T(0));
      break;
    case Kind::constant:
      t.fill(static_cast<T>(a_));
      break;
    case Kind::uniform:
      draw(t, U{a_, b_}, engine);
      break;
    case Kind::normal:
      draw(t, N{a_, b_}, engine);
      break;
    case Kind::glorot_uniform: {
      const double l = std::sqrt(6.0 / (in + out));
      draw(t, U{-l, l}, engine);
      break;
    }
    case Kind::glorot_normal:
      draw(t, N{0, std::sqrt(2.0 / (in + out))}, engine);
      break;
    case Kind::he_uniform:
      draw(t, U{-std::sqrt(6.0 / in), std::sqrt(6.0 / in)}, engine);
      break;
    case Kind::he_normal:
      draw(t, N{0, std::sqrt(2.0 / in)}, engine);
      break;
    case Kind::lecun_uniform:
      draw(t, U{-std::sqrt(3.0 / in), std::sqrt(3.0 / in)}, engine);
      break;
    case Kind::lecun_normal:
      draw(t, N{0, std::sqrt(1.0 / in)}, engine);
      break;
  }
}

template void Initializer::fill(Tensor&, std::size_t, std::size_t, Engine&) const;
template void Initializer::fill(TensorD&, std::size_t, std::size_t, Engine&) const;

}  // namespace retrograd::nn
