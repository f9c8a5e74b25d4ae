#pragma once
/// @file synthetic.hpp
/// Small synthetic datasets for teaching and tests. Every generator is deterministic: the same
/// arguments and seed give the same data on every platform (the draws use std::mt19937_64 and
/// our own uniform and normal transforms, not the implementation-defined std distributions).
/// Features are float; `noise` is the standard deviation of Gaussian noise.

#include <cstddef>
#include <cstdint>
#include <functional>

#include "retrograd/data/dataset.hpp"

namespace retrograd::data {

/// The XOR truth table: the four points (0,0), (0,1), (1,0), (1,1) with labels 0, 1, 1, 0.
Dataset xor_table();

/// `n` noisy XOR samples: a corner of the unit square chosen uniformly, plus noise on each
/// coordinate; the label is the XOR of the corner (2 classes).
Dataset make_xor(std::size_t n, double noise = 0.1, std::uint64_t seed = 0);

/// Interleaved spirals (the CS231n set): `per_class` points per class on `classes` arms
/// starting at the origin, angles jittered by `noise` radians. Two classes give the classic
/// two-spirals problem, which no linear model separates.
Dataset make_spirals(std::size_t per_class, std::size_t classes = 2, double noise = 0.2,
                     std::uint64_t seed = 0);

/// Two interleaving half circles (scikit-learn's make_moons): `n` points, half per class
/// (the upper moon gets the extra point when `n` is odd), with noise added to both coordinates.
Dataset make_moons(std::size_t n, double noise = 0.1, std::uint64_t seed = 0);

/// Gaussian blobs: `n` points spread round-robin over `classes` classes, in `features`
/// dimensions. Class centers sit on a circle (in the first two dimensions) far enough apart
/// that, with the default `spread` (the standard deviation), the classes are linearly
/// separable in practice.
Dataset make_blobs(std::size_t n, std::size_t classes = 3, std::size_t features = 2,
                   double spread = 1.0, std::uint64_t seed = 0);

/// A linearly separable two-class set for the perceptron: points uniform in [-1, 1]^2,
/// labelled by the side of a random line through the square, with no point closer to the line
/// than `margin`.
Dataset make_linear(std::size_t n, double margin = 0.1, std::uint64_t seed = 0);

/// Noisy 1-D regression: `n` x values uniform in [x_min, x_max] and targets f(x) + noise.
/// Features and targets are [n, 1].
Dataset make_curve(const std::function<double(double)>& f, std::size_t n, double x_min,
                   double x_max, double noise = 0.1, std::uint64_t seed = 0);

/// make_curve() with f = sin on [-pi, pi].
Dataset make_sine(std::size_t n, double noise = 0.1, std::uint64_t seed = 0);

}  // namespace retrograd::data
