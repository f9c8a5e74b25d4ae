#pragma once
/// @file shard_group.hpp
/// `ShardGroup`: the processes of a data-parallel run as the Trainer sees them, without any
/// transport. Set FitOptions::shards to one and every process of the group computes its own
/// shard of every global batch; the group (a callback that runs before the run's others)
/// sums the gradients from on_after_backward on and applies the update in step(), and the
/// Trainer sums its statistics through sum(). distributed/data_parallel.hpp implements it over
/// MPI; docs/distributed.md explains why the result equals one process training on the same
/// global batches.

#include <cstddef>
#include <optional>
#include <utility>

#include "retrograd/nn/callback.hpp"
#include "retrograd/nn/optimizer.hpp"

namespace retrograd::nn {

/// One process's view of the group (see the file comment). What the Trainer does with it:
///
/// - batch b of an epoch holds the same samples as without the group (one shuffle from the
///   shared seed); shard r computes the samples share() gives it, and the shards' shares of a
///   batch are its whole batch;
/// - each shard's mean loss is weighted by its share of the batch (shard samples / batch
///   samples) before backward, so that the SUM of the shards' gradients is the gradient of the
///   global batch's mean loss;
/// - after on_after_backward it sums the batch's loss, correct predictions and sample count
///   with sum(), so history, logs and progress hold the values of the whole batch, and then
///   calls step(optimizer), which must leave every shard with the weights of one update by the
///   summed gradient (the default: the group's on_after_backward has summed every gradient,
///   giving a parameter without a gradient, a shard with no sample, the sum too; step() is then
///   the optimizer's step). A group may instead split the update (distributed::DataParallel:
///   each shard updates its share of the weights and the shards exchange the results);
/// - before a checkpoint is written, and when fit ends, it calls synchronize(): a group that
///   keeps parts of the run's state on one shard only makes it whole on every shard there;
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
  /// One update of the optimizer's parameters by the gradient summed over the group (see the
  /// class comment), taken only if it leaves every parameter finite, like
  /// Optimizer::step_if_finite(): otherwise nothing changes on any shard and every shard
  /// returns the same index of a parameter the step would have made non-finite. Default:
  /// optimizer.step_if_finite().
  virtual std::optional<std::size_t> step(Optimizer& optimizer) {
    return optimizer.step_if_finite();
  }
  /// Makes the optimizer's state whole on every shard (see the class comment). Every process
  /// calls it at the same points. Default: nothing (every shard keeps all of it).
  virtual void synchronize(Optimizer& /*optimizer*/) {}

  /// This shard's samples [first, last) of a batch of `count` samples starting at `start`:
  /// shard r of R takes [start + count r / R, start + count (r + 1) / R), so shares differ by
  /// at most one sample and cover the batch in order.
  std::pair<std::size_t, std::size_t> share(std::size_t start, std::size_t count) const {
    return {start + count * rank() / size(), start + count * (rank() + 1) / size()};
  }
};

}  // namespace retrograd::nn
