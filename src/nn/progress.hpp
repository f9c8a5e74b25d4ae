#pragma once
// Internal: the Keras-style progress line of fit().

#include <chrono>
#include <iosfwd>
#include <string>

#include "retrograd/nn/callback.hpp"

namespace retrograd::nn::detail {

/// One epoch's progress: "938/938 [====...] 2s 2ms/step - loss: 0.4100 - accuracy: 0.8500".
/// On a terminal (verbose 1) the line is redrawn in place as batches finish; otherwise it is
/// written once, when the epoch ends. Verbose 2 writes one short line per epoch.
class Progress {
 public:
  /// Starts the clock of epoch `epoch` (from 0) of `epochs`, `batches` batches long.
  Progress(std::ostream& out, int verbose, bool terminal, std::size_t epoch, std::size_t epochs,
           std::size_t batches);
  /// After batch `done` (from 1), with the epoch's running means.
  void update(std::size_t done, const Logs& logs);
  /// After the epoch, with its final logs (validation included).
  void finish(const Logs& logs);
  /// Ends a line left open on a terminal (training stopped by an exception).
  void abort();

 private:
  std::string line(std::size_t done, const Logs& logs) const;
  double elapsed() const;

  std::ostream& out_;
  int verbose_;
  bool terminal_;
  std::size_t epoch_;
  std::size_t epochs_;
  std::size_t batches_;
  std::chrono::steady_clock::time_point start_;
  double last_draw_ = -1;
  bool open_ = false;
};

/// "loss: 0.4100 - accuracy: 0.8500 - val_loss: ..." in Keras's order.
std::string format_logs(const Logs& logs);

}  // namespace retrograd::nn::detail
