#pragma once
/// @file anomaly.hpp
/// Anomaly mode: while a DetectAnomalyGuard lives on a thread, the first op whose forward value,
/// or whose gradient to one of its inputs, holds a NaN or an infinity throws an AnomalyError
/// that names the op, its node, its inputs' shapes, the pass (forward or backward) and what the
/// program was doing (AnomalyContext: the Trainer names its epoch, batch and step).
///
///     DetectAnomalyGuard anomaly;
///     Var y = log(x);   // x holds a 0: AnomalyError "anomaly in the forward pass: log ..."
///
/// Without a guard, each op pays one thread-local flag test: it may stay in production code.

#include <functional>
#include <stdexcept>
#include <string>

namespace retrograd {

/// What anomaly mode throws: the first non-finite forward value or gradient, with its op,
/// node, input shapes, pass and context.
class AnomalyError : public std::runtime_error {
 public:
  /// `message` is the whole text.
  explicit AnomalyError(const std::string& message) : std::runtime_error(message) {}
};

/// True while a DetectAnomalyGuard lives on this thread.
bool anomaly_detection_enabled();

/// Turns anomaly mode on for this thread while it lives (nestable; the previous mode comes back
/// when it ends). Every forward value an op produces and every gradient backward sends to an
/// input is checked for NaN and infinities.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

/// While it lives, an AnomalyError raised on this thread ends with "during <describe()>".
/// `describe` runs only when an anomaly is reported, so a context costs nothing per op or step.
/// Contexts nest: the message names them outermost first.
class AnomalyContext {
 public:
  /// Registers `describe` (e.g. "training epoch 2/5, batch 3/10 (step 13)") until the scope ends.
  explicit AnomalyContext(std::function<std::string()> describe);
  ~AnomalyContext();
  AnomalyContext(const AnomalyContext&) = delete;
  AnomalyContext& operator=(const AnomalyContext&) = delete;

  /// The descriptions of this thread's live contexts, outermost first, joined by ", "; empty
  /// when there is none.
  static std::string describe_all();

 private:
  std::function<std::string()> describe_;
  AnomalyContext* outer_;
};

}  // namespace retrograd
