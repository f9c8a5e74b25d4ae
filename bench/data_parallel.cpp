// Data-parallel training benchmark (built with RETROGRAD_MPI): configuration (c) of
// docs/performance.md, 784-512-512-10 relu, softmax cross-entropy, global batch 128, SGD
// momentum 0.9 lr 0.05, on Fashion-MNIST, run under `mpirun -n P`. With one process it trains
// without a group (the 1-process baseline); with more, every process takes its shard of every
// batch through distributed::DataParallel. Prints one line of key=value pairs
// (bench/data_parallel.sh collects them).
//
//   mpirun -n P bench_data_parallel [epochs=3] [threads=1] [overlap=1] [bucket_bytes=1048576]
//                                   [batch=128] [shard_update=1] [data-dir]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <retrograd/distributed.hpp>
#include <retrograd/retrograd.hpp>
#include <string>
#include <vector>

using namespace retrograd;

namespace {

/// PyTorch's nn.Linear initialization, as bench_mlp starts (c).
void initialize_like_torch(nn::Sequential& model, nn::Engine& engine) {
  for (std::size_t i = 0; i < model.size(); ++i) {
    auto* dense = dynamic_cast<nn::Dense*>(&model.layer(i));
    if (!dense) continue;
    const float bound = 1.0f / std::sqrt(static_cast<float>(dense->in_features()));
    std::uniform_real_distribution<float> uniform(-bound, bound);
    for (Var p : {dense->weight(), dense->bias()}) {
      for (float& v : p.value()) v = uniform(engine);
    }
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Median seconds of a blocking allreduce of `count` floats (what one step sends unfused).
double allreduce_seconds(const distributed::Communicator& comm, std::size_t count) {
  std::vector<float> data(count, 1.0f);
  std::vector<double> times;
  for (int i = 0; i < 60; ++i) {
    comm.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    distributed::check_mpi(MPI_Allreduce(MPI_IN_PLACE, data.data(), static_cast<int>(count),
                                         MPI_FLOAT, MPI_SUM, comm.native()),
                           "MPI_Allreduce");
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  times.erase(times.begin(), times.begin() + 10);  // warm-up
  return median(times);
}

/// Microseconds of a one-float round trip between ranks 0 and 1: how far apart the cores the
/// two processes run on are (the same L3 or not), which sets what every large message costs.
double round_trip_us(const distributed::Communicator& comm) {
  float value = 0;
  const int trips = 2000;
  comm.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < trips; ++i) {
    if (comm.rank() == 0) {
      distributed::check_mpi(MPI_Send(&value, 1, MPI_FLOAT, 1, 0, comm.native()), "MPI_Send");
      distributed::check_mpi(MPI_Recv(&value, 1, MPI_FLOAT, 1, 0, comm.native(), MPI_STATUS_IGNORE),
                             "MPI_Recv");
    } else if (comm.rank() == 1) {
      distributed::check_mpi(MPI_Recv(&value, 1, MPI_FLOAT, 0, 0, comm.native(), MPI_STATUS_IGNORE),
                             "MPI_Recv");
      distributed::check_mpi(MPI_Send(&value, 1, MPI_FLOAT, 0, 0, comm.native()), "MPI_Send");
    }
  }
  return 1e6 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / trips;
}

}  // namespace

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  distributed::Communicator comm(argc, argv);
  const std::size_t epochs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 3;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  distributed::DataParallelOptions group_options;
  group_options.overlap = argc > 3 ? std::atoi(argv[3]) != 0 : true;
  if (argc > 4) group_options.bucket_bytes = std::strtoull(argv[4], nullptr, 10);
  const std::size_t batch = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 128;
  group_options.shard_update = argc > 6 ? std::atoi(argv[6]) != 0 : true;
  const std::string dir = argc > 7 ? argv[7] : data::fashion_mnist_dir;
  set_blas_threads(threads);

  const data::Mnist mnist = data::load_mnist(dir);
  nn::manual_seed(1);
  nn::Sequential model;
  model.add(nn::Dense(784, 512, nn::Activation::relu()));
  model.add(nn::Dense(512, 512, nn::Activation::relu()));
  model.add(nn::Dense(512, 10));
  model.compile(nn::Loss::categorical_cross_entropy(true), nn::SGD(0.05, 0.9), {"accuracy"});
  nn::Engine engine(1);
  initialize_like_torch(model, engine);

  const io::DatasetSource train(mnist.train);
  std::optional<distributed::DataParallel> group;
  nn::FitOptions options;
  options.batch_size = batch;
  options.epochs = 1;
  options.verbose = 0;
  if (comm.size() > 1) options.shards = &group.emplace(comm, group_options);
  std::vector<double> seconds;
  nn::History last;
  for (std::size_t e = 0; e < epochs; ++e) {
    options.seed = 1 + e;
    comm.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    last = model.fit(train, options);
    comm.barrier();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const double epoch_s = median(seconds);
  const std::size_t steps = (mnist.train.size() + batch - 1) / batch;
  std::size_t parameters = 0;
  for (const Var& p : model.parameters()) parameters += p.size();
  const double allreduce_s = comm.size() > 1 ? allreduce_seconds(comm, parameters) : 0;
  const double round_trip = comm.size() > 1 ? round_trip_us(comm) : 0;
  // The whole optimizer update alone, on the last gradients (a sharded group does 1/P of it).
  std::vector<double> updates;
  for (int i = 0; i < 50; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    model.optimizer().step();
    updates.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  if (comm.rank() == 0) {
    std::printf(
        "impl=retrograd-dp config=c batch=%zu processes=%d threads=%d overlap=%d bucket_bytes=%zu "
        "shard_update=%d messages=%zu gradient_bytes=%zu epochs=%zu median_s=%.4f "
        "samples_per_s=%.0f step_ms=%.3f after_backward_ms=%.3f group_step_ms=%.3f "
        "started_in_backward=%zu allreduce_ms=%.3f round_trip_us=%.2f update_ms=%.3f loss=%.4f "
        "acc=%.4f blas=%s\n",
        batch, comm.size(), threads, group_options.overlap ? 1 : 0, group_options.bucket_bytes,
        group_options.shard_update ? 1 : 0, group ? group->messages_per_step() : 0,
        parameters * sizeof(float), epochs, epoch_s, mnist.train.size() / epoch_s,
        1e3 * epoch_s / steps,
        group ? 1e3 * group->stats().seconds_after_backward / group->stats().steps : 0.0,
        group ? 1e3 * group->stats().seconds_in_step / group->stats().steps : 0.0,
        group ? group->stats().messages_during_backward : 0, 1e3 * allreduce_s, round_trip,
        1e3 * median(updates), last.loss.back(), last.accuracy.back(), blas_core_name().c_str());
  }
  return 0;
}
