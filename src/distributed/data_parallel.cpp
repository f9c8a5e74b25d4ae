#include "retrograd/distributed/data_parallel.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
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

/// The gradient sums of one step. Buckets hold parameters in reverse order of the module's
/// list, the order in which backward completes them for a stack of layers; every process
/// starts the buckets' allreduces in bucket order (MPI needs the same order of collectives
/// everywhere), each as soon as it and the buckets before it are complete.
///
/// With overlap, every bucket but the last starts a non-blocking allreduce. The last one holds
/// the first layer's gradients, which backward completes at its very end: nothing is left to
/// overlap it with, and Open MPI's blocking allreduce is faster than its non-blocking one
/// (docs/distributed.md). Without overlap, all are blocking, after backward. The choice is made
/// once per bucket, the same on every process: blocking and non-blocking collectives do not
/// match each other.
struct DataParallel::Reducer : BackwardObserver<float> {
  struct Bucket {
    /// Parameter indices.
    std::vector<std::size_t> members;
    std::size_t elements = 0;
    /// The fused gradients of a bucket of several parameters; a lone one is summed in place.
    std::vector<float> buffer;
    /// Members whose gradient is not complete yet in this step.
    std::size_t waiting = 0;
    MPI_Request request = MPI_REQUEST_NULL;
    /// Summed by a blocking allreduce after backward.
    bool blocking = true;
    bool fused() const { return members.size() > 1; }
    float* data(std::vector<Var>& params) {
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

  void begin_step() {
    std::fill(complete.begin(), complete.end(), false);
    for (Bucket& b : buckets) {
      b.waiting = b.members.size();
      b.request = MPI_REQUEST_NULL;
    }
    next = 0;
  }

  void on_step(const BackwardStep<float>& /*step*/) override {
    // Open MPI moves a non-blocking collective only inside MPI calls: test the oldest one
    // between backward's nodes so that the started buckets travel while backward computes.
    for (std::size_t i = 0; i < next; ++i) {
      if (buckets[i].request == MPI_REQUEST_NULL) continue;
      int done = 0;
      check_mpi(MPI_Test(&buckets[i].request, &done, MPI_STATUS_IGNORE), "MPI_Test");
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
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, b.data(params), static_cast<int>(b.elements), MPI_FLOAT,
                             MPI_SUM, comm.native(), &b.request),
              "MPI_Iallreduce");
    ++stats.messages;
    if (watching) ++stats.messages_during_backward;
  }

  void finish() {
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (complete[i]) continue;
      // A shard without samples, a parameter the loss does not use, or no overlap.
      if (!params[i].has_grad()) {
        params[i].node()->accumulate_grad(zeros<float>(params[i].shape()), "DataParallel");
      }
      mark_complete(i);
    }
    for (; next < buckets.size(); ++next) {
      Bucket& b = buckets[next];
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, b.data(params), static_cast<int>(b.elements), MPI_FLOAT,
                              MPI_SUM, comm.native()),
                "MPI_Allreduce");
      ++stats.messages;
    }
    for (Bucket& b : buckets) {
      check_mpi(MPI_Wait(&b.request, MPI_STATUS_IGNORE), "MPI_Wait");
      if (!b.fused()) continue;
      for (const std::size_t i : b.members) {
        Tensor& g = params[i].grad();
        const float* sum = b.buffer.data() + offset_of[i];
        std::copy(sum, sum + g.size(), g.data());
      }
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

void DataParallel::on_train_end(nn::Trainer& /*trainer*/) {
  if (reducer_) reducer_->watching.reset();
}

std::size_t DataParallel::messages_per_step() const {
  return reducer_ ? reducer_->buckets.size() : 0;
}

std::size_t DataParallel::bytes_per_step() const {
  std::size_t bytes = 0;
  if (reducer_) {
    for (const auto& b : reducer_->buckets) bytes += b.elements * sizeof(float);
  }
  return bytes;
}

}  // namespace retrograd::distributed
