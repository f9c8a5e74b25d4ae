#include "retrograd/distributed/data_parallel.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "distributed/module_layout.hpp"
#include "retrograd/distributed/collectives.hpp"
#include "retrograd/engine.hpp"
#include "retrograd/nn/trainer.hpp"

namespace retrograd::distributed {

/// The gradient sums of one step, and with a sharded update the update itself. Buckets hold
/// parameters in reverse order of the module's list, the order in which backward completes
/// them for a stack of layers; every process starts the buckets' collectives in bucket order
/// (MPI needs the same order of collectives everywhere), each as soon as it and the buckets
/// before it are complete.
///
/// With overlap, every bucket but the last starts its sum during backward. The last one holds
/// the first layer's gradients, which backward completes with its very last node: nothing is
/// left to overlap it with, and Open MPI's blocking collectives are faster than its
/// non-blocking ones (docs/distributed.md). Without overlap, all are blocking, after backward.
/// The choice is made once per bucket, the same on every process: blocking and non-blocking
/// collectives do not match each other.
///
/// Summed (shard_update off): each bucket is allreduced, in place for a lone gradient.
/// Sharded: each bucket's elements are split over the processes as the batch is (process r of
/// R owns [E r / R, E (r + 1) / R) of its E elements); the bucket is reduce-scattered, so each
/// process receives the sum of its own elements only, updates those weights (and that part of
/// the optimizer's state), and an allgather brings every process the others' updated weights.
struct DataParallel::Reducer : BackwardObserver<float> {
  struct Bucket {
    /// Parameter indices.
    std::vector<std::size_t> members;
    std::size_t elements = 0;
    /// The fused gradients (then, sharded, the fused weights) of a bucket of several
    /// parameters; a lone one is reduced from and gathered into its own tensors.
    std::vector<float> buffer;
    /// Members whose gradient is not complete yet in this step.
    std::size_t waiting = 0;
    /// A non-blocking bucket's messages in flight: its allreduce, or its exchange with each
    /// peer (sharded).
    std::vector<MPI_Request> requests;
    /// Summed by a blocking collective after backward.
    bool blocking = true;
    /// Sharded: each process's elements of the bucket, and where they start.
    std::vector<int> counts, starts;
    /// Sharded: the sum of this process's elements.
    std::vector<float> shard;
    /// Sharded, non-blocking: the peers' values of this process's elements, peer after peer.
    std::vector<float> received;
    /// Sharded: this process's elements, as the optimizer's slices of its parameters.
    std::vector<nn::Optimizer::Slice> slices;

    bool fused() const { return members.size() > 1; }
    float* gradients(std::vector<Var>& params) {
      return fused() ? buffer.data() : params[members.front()].grad().data();
    }
  };

  Reducer(const Communicator& comm, std::vector<Var> parameters, std::size_t bucket_bytes,
          bool overlap, DataParallelStats& stats)
      : comm(comm), params(std::move(parameters)), stats(stats) {
    bucket_of.resize(params.size());
    offset_of.resize(params.size());
    complete.resize(params.size());
    std::optional<Bucket> open;
    const auto close = [&] {
      if (open) buckets.push_back(std::move(*open));
      open.reset();
    };
    const auto add = [&](Bucket& b, std::size_t i) {
      bucket_of[i] = buckets.size();
      offset_of[i] = b.elements;
      b.members.push_back(i);
      b.elements += params[i].size();
      if (b.elements > static_cast<std::size_t>(INT_MAX)) {
        throw std::invalid_argument(
            "DataParallel: a bucket of " + std::to_string(b.elements) +
            " gradient values exceeds MPI's count limit; lower bucket_bytes");
      }
    };
    for (std::size_t k = params.size(); k-- > 0;) {
      index_of[params[k].node().get()] = k;
      if (params[k].size() * sizeof(float) >= bucket_bytes) {
        close();
        Bucket alone;
        add(alone, k);
        buckets.push_back(std::move(alone));
        continue;
      }
      if (!open) open.emplace();
      add(*open, k);
      if (open->elements * sizeof(float) >= bucket_bytes) close();
    }
    close();
    for (Bucket& b : buckets) {
      if (b.fused()) b.buffer.resize(b.elements);
      b.blocking = !overlap || &b == &buckets.back();
    }
  }

  /// Splits every bucket's elements over the processes for `optimizer`'s sharded update.
  void plan_shards(nn::Optimizer& optimizer) {
    sharded = true;
    std::unordered_map<const Node<float>*, std::size_t> in_optimizer;
    const auto& updated = optimizer.parameters();
    for (std::size_t j = 0; j < updated.size(); ++j) in_optimizer[updated[j].node().get()] = j;
    for (const Var& p : params) in_optimizer.erase(p.node().get());
    if (!in_optimizer.empty()) {
      throw std::invalid_argument(
          "DataParallel: the optimizer updates " + std::to_string(in_optimizer.size()) +
          " parameters that are not the model's; a sharded update needs the model's (set "
          "DataParallelOptions::shard_update to false)");
    }
    for (std::size_t j = 0; j < updated.size(); ++j) in_optimizer[updated[j].node().get()] = j;
    const auto size = static_cast<std::size_t>(comm.size());
    const auto rank = static_cast<std::size_t>(comm.rank());
    for (Bucket& b : buckets) {
      b.counts.resize(size);
      b.starts.resize(size);
      for (std::size_t r = 0; r < size; ++r) {
        b.starts[r] = static_cast<int>(b.elements * r / size);
        b.counts[r] = static_cast<int>(b.elements * (r + 1) / size) - b.starts[r];
      }
      const std::size_t own_first = b.starts[rank];
      const std::size_t own_last = own_first + b.counts[rank];
      b.shard.resize(b.counts[rank]);
      if (!b.blocking) b.received.resize((size - 1) * b.shard.size());
      b.slices.clear();
      for (const std::size_t i : b.members) {
        const auto found = in_optimizer.find(params[i].node().get());
        if (found == in_optimizer.end()) continue;  // not trained, as without the group
        const std::size_t first = std::max(own_first, offset_of[i]);
        const std::size_t last = std::min(own_last, offset_of[i] + params[i].size());
        if (first >= last) continue;
        b.slices.push_back({found->second, first - offset_of[i], last - first,
                            b.shard.data() + first - own_first});
      }
      slices.insert(slices.end(), b.slices.begin(), b.slices.end());
    }
  }

  void begin_step() {
    std::fill(complete.begin(), complete.end(), false);
    for (Bucket& b : buckets) {
      b.waiting = b.members.size();
      b.requests.clear();
    }
    next = 0;
  }

  void on_step(const BackwardStep<float>& /*step*/) override {
    // Open MPI moves a non-blocking collective only inside MPI calls: test the oldest one
    // between backward's nodes so that the started buckets travel while backward computes.
    for (std::size_t i = 0; i < next; ++i) {
      std::vector<MPI_Request>& requests = buckets[i].requests;
      if (std::all_of(requests.begin(), requests.end(),
                      [](MPI_Request r) { return r == MPI_REQUEST_NULL; })) {
        continue;
      }
      int done = 0;
      check_mpi(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done,
                            MPI_STATUSES_IGNORE),
                "MPI_Testall");
      break;
    }
  }

  void on_gradient_ready(const Node<float>& leaf) override {
    const auto found = index_of.find(&leaf);
    if (found != index_of.end()) mark_complete(found->second);
  }

  void mark_complete(std::size_t i) {
    if (complete[i]) return;
    complete[i] = true;
    Bucket& b = buckets[bucket_of[i]];
    if (b.fused()) {
      const Tensor& g = params[i].grad();
      std::copy(g.data(), g.data() + g.size(), b.buffer.data() + offset_of[i]);
    }
    --b.waiting;
    while (next < buckets.size() && buckets[next].waiting == 0 && !buckets[next].blocking) {
      start(buckets[next++]);
    }
  }

  void start(Bucket& b) {
    if (sharded) {
      exchange(b);
    } else {
      b.requests.assign(1, MPI_REQUEST_NULL);
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, b.gradients(params), static_cast<int>(b.elements),
                               MPI_FLOAT, MPI_SUM, comm.native(), &b.requests[0]),
                "MPI_Iallreduce");
    }
    ++stats.messages;
    if (watching) ++stats.messages_during_backward;
  }

  /// Sharded, non-blocking: a reduce-scatter of point-to-point messages. Each process sends
  /// every peer the elements that peer owns and receives the peers' values of its own, summed
  /// by sum_received() once they arrive. Open MPI's MPI_Ireduce_scatter (libnbc) has no
  /// algorithm to choose and ran training at 0.51x the ceiling against 0.65-0.76x for the
  /// blocking one after backward (docs/performance.md, "Data-parallel training"); these
  /// messages move the same bytes as an optimal reduce-scatter, (P - 1) / P of the bucket.
  void exchange(Bucket& b) {
    const int rank = comm.rank();
    const int tag = static_cast<int>(&b - buckets.data());
    const float* gradients = b.gradients(params);
    const std::size_t own = b.shard.size();
    b.requests.assign(2 * static_cast<std::size_t>(comm.size() - 1), MPI_REQUEST_NULL);
    std::size_t slot = 0;
    for (int peer = 0; peer < comm.size(); ++peer) {
      if (peer == rank) continue;
      check_mpi(MPI_Irecv(b.received.data() + slot * own, static_cast<int>(own), MPI_FLOAT, peer,
                          tag, comm.native(), &b.requests[2 * slot]),
                "MPI_Irecv");
      check_mpi(MPI_Isend(gradients + b.starts[peer], b.counts[peer], MPI_FLOAT, peer, tag,
                          comm.native(), &b.requests[2 * slot + 1]),
                "MPI_Isend");
      ++slot;
    }
  }

  /// Sharded, non-blocking, once its messages arrived: this process's elements summed, its own
  /// values first and then each peer's in rank order.
  void sum_received(Bucket& b) {
    const float* own = b.gradients(params) + b.starts[comm.rank()];
    std::copy(own, own + b.shard.size(), b.shard.begin());
    for (std::size_t start = 0; start < b.received.size(); start += b.shard.size()) {
      const float* peer = b.received.data() + start;
      for (std::size_t j = 0; j < b.shard.size(); ++j) b.shard[j] += peer[j];
    }
  }

  void reduce_blocking(Bucket& b) {
    if (sharded) {
      check_mpi(MPI_Reduce_scatter(b.gradients(params), b.shard.data(), b.counts.data(), MPI_FLOAT,
                                   MPI_SUM, comm.native()),
                "MPI_Reduce_scatter");
    } else {
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, b.gradients(params), static_cast<int>(b.elements),
                              MPI_FLOAT, MPI_SUM, comm.native()),
                "MPI_Allreduce");
    }
    ++stats.messages;
  }

  /// After backward: every bucket reduced (summed: the sums copied into the gradients).
  void finish() {
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (complete[i]) continue;
      // A shard without samples, a parameter the loss does not use, or no overlap.
      if (!params[i].has_grad()) {
        params[i].node()->accumulate_grad(zeros<float>(params[i].shape()), "DataParallel");
      }
      mark_complete(i);
    }
    for (; next < buckets.size(); ++next) reduce_blocking(buckets[next]);
    for (Bucket& b : buckets) {
      check_mpi(
          MPI_Waitall(static_cast<int>(b.requests.size()), b.requests.data(), MPI_STATUSES_IGNORE),
          "MPI_Waitall");
      if (sharded && !b.blocking) sum_received(b);
      if (sharded || !b.fused()) continue;
      for (const std::size_t i : b.members) {
        Tensor& g = params[i].grad();
        const float* sum = b.buffer.data() + offset_of[i];
        std::copy(sum, sum + g.size(), g.data());
      }
    }
  }

  /// Sharded: this process's update, then every process's weights gathered on all; or, when
  /// the update is not finite on some process, the parameter the group names and no change.
  std::optional<std::size_t> update(nn::Optimizer& optimizer) {
    float scale = 1;
    if (optimizer.clip_norm() > 0) {
      // The global norm from each process's share of the summed gradients.
      double squares = 0;
      for (const Bucket& b : buckets) {
        for (const float g : b.shard) squares += static_cast<double>(g) * g;
      }
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, &squares, 1, MPI_DOUBLE, MPI_SUM, comm.native()),
                "MPI_Allreduce");
      const double norm = std::sqrt(squares);
      if (norm > optimizer.clip_norm()) scale = static_cast<float>(optimizer.clip_norm() / norm);
    }
    // Every process learns whether any refused its share, before any commits: the step is
    // then undone on all (the highest index found names the parameter on every process).
    const auto agree = [&](std::optional<std::size_t> bad) -> std::optional<std::size_t> {
      long long worst = bad ? static_cast<long long>(*bad) : -1;
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_LONG_LONG, MPI_MAX, comm.native()),
                "MPI_Allreduce");
      if (worst < 0) return std::nullopt;
      return static_cast<std::size_t>(worst);
    };
    if (const std::optional<std::size_t> bad = optimizer.step_slices(slices, scale, agree)) {
      gather_rejected(optimizer, *bad);
      return bad;
    }
    for (Bucket& b : buckets) {
      gather(b, [&](std::size_t i) { return params[i].value().data(); });
      ++stats.messages;
    }
    return std::nullopt;
  }

  /// Sharded, after a refused step: each process's share of the refused value of optimizer
  /// parameter `bad` gathered on all, so that every process reports the same element.
  void gather_rejected(nn::Optimizer& optimizer, std::size_t bad) {
    const Node<float>* node = optimizer.parameters()[bad].node().get();
    float* rejected = optimizer.rejected_value(bad).data();
    for (Bucket& b : buckets) {
      const bool holds = std::any_of(b.members.begin(), b.members.end(),
                                     [&](std::size_t i) { return params[i].node().get() == node; });
      if (!holds) continue;
      // The other members' shares go to scratch: only the refused value is wanted.
      std::vector<float> untouched;
      gather(b, [&](std::size_t i) -> float* {
        if (params[i].node().get() == node) return rejected;
        untouched.resize(params[i].size());
        return untouched.data();
      });
    }
  }

  /// Sharded: the optimizer's state, each process's part of it gathered on all.
  void synchronize(nn::Optimizer& optimizer) {
    // state() names each tensor "<kind>.<parameter index in the optimizer>".
    std::unordered_map<std::size_t, std::vector<float*>> state_of;
    for (const nn::NamedState<float>& s : optimizer.state()) {
      const std::size_t index = std::stoul(s.name.substr(s.name.rfind('.') + 1));
      state_of[index].push_back(s.tensor->data());
    }
    std::unordered_map<const Node<float>*, std::size_t> in_optimizer;
    const auto& updated = optimizer.parameters();
    for (std::size_t j = 0; j < updated.size(); ++j) in_optimizer[updated[j].node().get()] = j;
    const std::size_t kinds = state_of.empty() ? 0 : state_of.begin()->second.size();
    for (std::size_t k = 0; k < kinds; ++k) {
      for (Bucket& b : buckets) {
        // A parameter the optimizer does not update has no state: its part stays untouched.
        std::vector<float> untouched;
        gather(b, [&](std::size_t i) -> float* {
          const auto found = in_optimizer.find(params[i].node().get());
          if (found != in_optimizer.end()) return state_of.at(found->second)[k];
          untouched.resize(params[i].size());
          return untouched.data();
        });
      }
    }
  }

  /// Gathers the bucket's elements, each process's own from the tensors data_of(parameter)
  /// into the same tensors on every process.
  template <class DataOf>
  void gather(Bucket& b, const DataOf& data_of) {
    const int rank = comm.rank();
    if (!b.fused()) {
      check_mpi(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data_of(b.members.front()),
                               b.counts.data(), b.starts.data(), MPI_FLOAT, comm.native()),
                "MPI_Allgatherv");
      return;
    }
    const std::size_t own_first = b.starts[rank], own_last = own_first + b.counts[rank];
    for (const std::size_t i : b.members) {
      const std::size_t first = std::max(own_first, offset_of[i]);
      const std::size_t last = std::min(own_last, offset_of[i] + params[i].size());
      if (first >= last) continue;
      const float* data = data_of(i);
      std::copy(data + (first - offset_of[i]), data + (last - offset_of[i]),
                b.buffer.data() + first);
    }
    check_mpi(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, b.buffer.data(), b.counts.data(),
                             b.starts.data(), MPI_FLOAT, comm.native()),
              "MPI_Allgatherv");
    for (const std::size_t i : b.members) {
      const float* from = b.buffer.data() + offset_of[i];
      std::copy(from, from + params[i].size(), data_of(i));
    }
  }

  const Communicator& comm;
  std::vector<Var> params;
  DataParallelStats& stats;
  std::unordered_map<const Node<float>*, std::size_t> index_of;
  std::vector<std::size_t> bucket_of;
  std::vector<std::size_t> offset_of;
  std::vector<bool> complete;
  std::vector<Bucket> buckets;
  /// The next bucket to start.
  std::size_t next = 0;
  std::optional<ObserverScope<float>> watching;
  /// The update is split over the processes (plan_shards).
  bool sharded = false;
  /// Every bucket's slices, for the optimizer.
  std::vector<nn::Optimizer::Slice> slices;
};

DataParallel::DataParallel(const Communicator& comm, DataParallelOptions options)
    : comm_(comm), options_(options) {}

DataParallel::~DataParallel() = default;

std::size_t DataParallel::rank() const { return static_cast<std::size_t>(comm_.rank()); }

std::size_t DataParallel::size() const { return static_cast<std::size_t>(comm_.size()); }

void DataParallel::sum(double* values, std::size_t count) {
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, values, static_cast<int>(count), MPI_DOUBLE, MPI_SUM,
                          comm_.native()),
            "MPI_Allreduce");
}

void DataParallel::on_train_begin(nn::Trainer& trainer) {
  reducer_.reset();
  nn::Module& model = trainer.model();
  broadcast_parameters(comm_, model, 0);
  reducer_ = std::make_unique<Reducer>(comm_, model.parameters(), options_.bucket_bytes,
                                       options_.overlap, stats_);
  if (options_.shard_update) reducer_->plan_shards(trainer.optimizer());
}

void DataParallel::on_batch_begin(nn::Trainer& /*trainer*/, std::size_t /*batch*/) {
  if (!reducer_) throw std::logic_error("DataParallel: on_batch_begin before on_train_begin");
  reducer_->watching.reset();
  reducer_->begin_step();
  if (options_.overlap) reducer_->watching.emplace(*reducer_);
}

void DataParallel::on_after_backward(nn::Trainer& /*trainer*/, std::size_t /*batch*/) {
  const auto start = std::chrono::steady_clock::now();
  reducer_->watching.reset();
  reducer_->finish();
  ++stats_.steps;
  stats_.seconds_after_backward +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::optional<std::size_t> DataParallel::step(nn::Optimizer& optimizer) {
  if (!reducer_ || !reducer_->sharded) return optimizer.step_if_finite();
  const auto start = std::chrono::steady_clock::now();
  const std::optional<std::size_t> bad = reducer_->update(optimizer);
  stats_.seconds_in_step +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return bad;
}

void DataParallel::synchronize(nn::Optimizer& optimizer) {
  if (reducer_ && reducer_->sharded) reducer_->synchronize(optimizer);
}

void DataParallel::on_train_end(nn::Trainer& /*trainer*/) {
  if (reducer_) reducer_->watching.reset();
}

std::size_t DataParallel::messages_per_step() const {
  if (!reducer_) return 0;
  return reducer_->buckets.size() * (reducer_->sharded ? 2 : 1);
}

std::size_t DataParallel::bytes_per_step() const {
  std::size_t bytes = 0;
  if (reducer_) {
    for (const auto& b : reducer_->buckets) bytes += b.elements * sizeof(float);
  }
  return bytes;
}

}  // namespace retrograd::distributed
