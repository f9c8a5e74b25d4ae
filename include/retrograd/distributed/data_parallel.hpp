#pragma once
/// @file data_parallel.hpp
/// `DataParallel`: the Trainer on every process of an MPI job, as one run. Set it as the
/// options' shard group and each process trains on its shard of every global batch:
///
///     distributed::Communicator comm(argc, argv);
///     distributed::DataParallel group(comm);
///     nn::FitOptions options;
///     options.batch_size = 128;        // the global batch, split over the processes
///     options.shards = &group;
///     nn::Trainer(model, loss, optimizer, options).fit(data);   // on every process
///
/// It starts every process from rank 0's parameters, and sums the gradients over the processes
/// between backward and the optimizer step (nn/shard_group.hpp says why a sum). Each bucket of
/// gradients starts its non-blocking reduction as soon as backward has completed the last
/// gradient in it, while backward goes on through the earlier layers; small gradients travel
/// fused in one bucket, large ones alone. By default the update is sharded: each process
/// receives the sum of its share of every bucket only (reduce-scatter), updates that share of
/// the weights, and the processes exchange the updated weights (allgather).
/// docs/distributed.md explains the scheme.

#include <cstddef>
#include <memory>
#include <optional>

#include "retrograd/distributed/communicator.hpp"
#include "retrograd/nn/shard_group.hpp"

namespace retrograd::distributed {

/// How DataParallel moves the gradients.
struct DataParallelOptions {
  /// Start each bucket's allreduce during backward, as soon as its gradients are complete.
  /// False: start them all after backward.
  bool overlap = true;
  /// Gradients smaller than this many bytes are fused into buckets of about this size (a
  /// bucket closes once it holds this much, or when a large gradient comes between); larger
  /// gradients travel alone, reduced in place. 0: every gradient alone (no fusion).
  std::size_t bucket_bytes = std::size_t{1} << 20;
  /// Split the update over the processes: each bucket is reduce-scattered, each process updates
  /// its share of the weights (keeping its share of the optimizer's state current) and the
  /// weights are allgathered. False: every gradient is allreduced and every process applies
  /// the whole update. docs/distributed.md compares the two.
  bool shard_update = true;
};

/// What DataParallel did so far (since construction).
struct DataParallelStats {
  /// Steps whose gradients were summed.
  std::size_t steps = 0;
  /// Allreduce messages started.
  std::size_t messages = 0;
  /// Of those, the ones started while backward was still running (overlap).
  std::size_t messages_during_backward = 0;
  /// Time spent after backward finishing the sums: the communication backward did not hide.
  double seconds_after_backward = 0;
  /// Sharded update: time spent in step(), this process's update and the weights' allgather.
  double seconds_in_step = 0;
};

/// The processes of the living Communicator as the Trainer's shard group (see the file
/// comment). Rank r of the communicator computes shard r.
class DataParallel : public nn::ShardGroup {
 public:
  /// A group over `comm` (not owned; must outlive this object).
  explicit DataParallel(const Communicator& comm, DataParallelOptions options = {});
  ~DataParallel() override;
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  /// The communicator's rank.
  std::size_t rank() const override;
  /// The communicator's size.
  std::size_t size() const override;
  /// Sums over the processes (MPI_Allreduce).
  void sum(double* values, std::size_t count) override;

  /// Checks that every process has the same model, copies rank 0's parameters and buffers to
  /// all, and plans the buckets.
  void on_train_begin(nn::Trainer& trainer) override;
  /// With overlap, watches this batch's backward.
  void on_batch_begin(nn::Trainer& trainer, std::size_t batch) override;
  /// Completes the sums: every parameter then holds the sum of the processes' gradients.
  void on_after_backward(nn::Trainer& trainer, std::size_t batch) override;
  /// Stops watching backward.
  void on_train_end(nn::Trainer& trainer) override;
  /// Sharded update: updates this process's share of the weights and gathers the others', unless
  /// the update leaves a NaN or an infinity on any process: then the processes agree on the
  /// parameter to name (one allreduce) and none of them changes anything. Otherwise
  /// optimizer.step_if_finite() (every process computes the same update from the same sums).
  std::optional<std::size_t> step(nn::Optimizer& optimizer) override;
  /// Sharded update: gathers every process's share of the optimizer's state on all (each
  /// process keeps the whole state, current on its share between synchronizations).
  void synchronize(nn::Optimizer& optimizer) override;

  /// Messages (collective calls) per step in the current plan: one per bucket, two with a
  /// sharded update (reduce-scatter and allgather).
  std::size_t messages_per_step() const;
  /// Gradient bytes summed per step.
  std::size_t bytes_per_step() const;
  /// Counts and time so far.
  const DataParallelStats& stats() const { return stats_; }

 private:
  struct Reducer;
  const Communicator& comm_;
  DataParallelOptions options_;
  std::unique_ptr<Reducer> reducer_;
  DataParallelStats stats_;
};

}  // namespace retrograd::distributed
