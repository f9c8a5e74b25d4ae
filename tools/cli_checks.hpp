#pragma once
// Range checks of the command line's numbers. A value must be written in full ("12x", "-1" and
// "nan" are not counts) and lie within a documented limit (docs/reliability.md). The checks run
// while the flags are parsed, before any data is read or memory allocated, and a failure reads
// "--epochs: must be at least 1, got 0".

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <string>

namespace retrograd::cli {

/// The most epochs a run may ask for.
inline constexpr std::uint64_t max_epochs = 1000000;
/// The most rows per batch (train, evaluate, predict).
inline constexpr std::uint64_t max_batch_size = std::uint64_t(1) << 20;
/// The widest layer --layers may ask for.
inline constexpr std::uint64_t max_layer_width = std::uint64_t(1) << 20;
/// The most weights and biases --layers may ask for in all (1 GiB of floats).
inline constexpr std::uint64_t max_parameters = std::uint64_t(1) << 28;
/// The most classes a CSV label column may imply: a label must be below it.
inline constexpr std::uint64_t max_classes = 65536;
/// The most threads --threads may ask for.
inline constexpr std::uint64_t max_threads = 1024;

/// A whole number written with decimal digits only, from `min` to `max`.
CLI::Validator whole_number(std::uint64_t min, std::uint64_t max);

/// A finite number above 0.
CLI::Validator positive_number();

/// Which ends of an interval belong to it.
enum class Ends { closed, open_low, open_high };

/// A finite number from `low` to `high`; `ends` says whether each end is allowed.
CLI::Validator number_between(double low, double high, Ends ends);

/// While alive and `quiet`, nothing written to std::cout appears (--verbose 0). Errors go to
/// std::cerr and still appear.
class QuietStdout {
 public:
  explicit QuietStdout(bool quiet) : saved_(quiet ? std::cout.rdbuf(nullptr) : nullptr) {}
  ~QuietStdout() {
    if (saved_) {
      std::cout.rdbuf(saved_);
      std::cout.clear();
    }
  }
  QuietStdout(const QuietStdout&) = delete;
  QuietStdout& operator=(const QuietStdout&) = delete;

 private:
  std::streambuf* saved_;
};

}  // namespace retrograd::cli
