#pragma once
/// @file init.hpp
/// Seeded parameter initializers. Every random draw in nn (initial weights, shuffling, dropout
/// masks) comes from a std::mt19937_64 the caller passes or from default_engine(), never from
/// xtensor's global engine: one seed fixes a whole run bit for bit.

#include <cstdint>
#include <random>
#include <string>

#include "retrograd/tensor.hpp"

namespace retrograd::nn {

/// The random engine of nn.
using Engine = std::mt19937_64;

/// This thread's default engine: what layers, Dropout and fit draw from when given no engine or
/// seed. Starts from a fixed seed, so a program that never seeds is still reproducible.
Engine& default_engine();

/// Reseeds default_engine(): call once before building a model to make the run reproducible.
void manual_seed(std::uint64_t seed);

/// How to fill a new parameter tensor. Fan-in and fan-out are the input and output widths of
/// the layer (for a Dense weight W [in, out]: in and out).
class Initializer {
 public:
  /// The rule.
  enum class Kind {
    zeros,
    constant,
    uniform,
    normal,
    glorot_uniform,
    glorot_normal,
    he_uniform,
    he_normal,
    lecun_uniform,
    lecun_normal
  };

  /// All zeros (biases).
  static Initializer zeros() { return {Kind::zeros, 0, 0}; }
  /// Every element `value`.
  static Initializer constant(double value) { return {Kind::constant, value, 0}; }
  /// Uniform in [low, high).
  static Initializer uniform(double low = -0.05, double high = 0.05);
  /// Normal with the given mean and standard deviation.
  static Initializer normal(double mean = 0, double stddev = 0.05);
  /// Glorot/Xavier uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)). Dense's default.
  static Initializer glorot_uniform() { return {Kind::glorot_uniform, 0, 0}; }
  /// Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out)).
  static Initializer glorot_normal() { return {Kind::glorot_normal, 0, 0}; }
  /// He/Kaiming uniform (for relu): U(-l, l), l = sqrt(6 / fan_in).
  static Initializer he_uniform() { return {Kind::he_uniform, 0, 0}; }
  /// He/Kaiming normal (for relu): N(0, 2 / fan_in).
  static Initializer he_normal() { return {Kind::he_normal, 0, 0}; }
  /// LeCun uniform: U(-l, l), l = sqrt(3 / fan_in).
  static Initializer lecun_uniform() { return {Kind::lecun_uniform, 0, 0}; }
  /// LeCun normal: N(0, 1 / fan_in).
  static Initializer lecun_normal() { return {Kind::lecun_normal, 0, 0}; }

  /// The rule.
  Kind kind() const { return kind_; }
  /// "glorot_uniform", "constant(0.1)", ...
  std::string name() const;

  /// Fills `t` by this rule, drawing from `engine`. Values are drawn in double and rounded, so a
  /// float and a double tensor filled from equal engines hold the same numbers.
  template <class T>
  void fill(BasicTensor<T>& t, std::size_t fan_in, std::size_t fan_out, Engine& engine) const;

 private:
  Initializer(Kind kind, double a, double b) : kind_(kind), a_(a), b_(b) {}
  Kind kind_;
  double a_;
  double b_;
};

}  // namespace retrograd::nn
