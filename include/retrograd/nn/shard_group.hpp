#pragma once
/// @file shard_group.hpp
/// `ShardGroup`: the processes of a data-parallel run as the Trainer sees them, without any
/// transport. Set FitOptions::shards to one and every process of the group computes its own
/// shard of every global batch; the group (a callback that runs before the run's others)
/// sums the gradients in on_after_backward (each shard's loss is already weighted by its share
/// of the batch, so the sum is the global batch's gradient), and the Trainer sums its statistics
/// through sum(). distributed/data_parallel.hpp implements it over MPI; docs/distributed.md
/// explains why the result equals one process training on the same global batches.

#include <cstddef>

#include "retrograd/nn/callback.hpp"

namespace retrograd::nn {

/// One process's view of the group (see the file comment). What the Trainer does with it:
///
/// - batch b of an epoch holds the same samples as without the group (one shuffle from the
///   shared seed); shard r of size R computes samples [count r / R, count (r + 1) / R) of it,
///   so shard sizes differ by at most one and their union is the whole batch;
/// - each shard's mean loss is weighted by its share of the batch (shard samples / batch
///   samples) before backward, so that the SUM of the shards' gradients is the gradient of the
///   global batch's mean loss: the group's on_after_backward must sum the gradients over the
///   group, and give a parameter without a gradient (a shard with no sample) the sum too;
/// - the batch's loss, correct predictions and sample count, and the validation sums, are
///   summed with sum(), so history, logs and progress hold the values of the whole batch;
/// - only shard 0 prints progress (and io::Checkpoint writes only on shard 0).
class ShardGroup : public Callback {
 public:
  /// This process's shard, from 0.
  virtual std::size_t rank() const = 0;
  /// Number of shards (processes) in the group; at least 1.
  virtual std::size_t size() const = 0;
  /// Replaces values[0..count) on every process by their sums over the group. Every process
  /// calls it at the same points with the same count.
  virtual void sum(double* values, std::size_t count) = 0;
};

}  // namespace retrograd::nn
