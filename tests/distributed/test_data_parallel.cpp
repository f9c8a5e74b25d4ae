// DataParallel: the Trainer on every process as one run (under mpirun -np 2 and -np 3). Each
// process also trains the one-process reference itself, on the same data, to compare.

#include <filesystem>
#include <limits>
#include <retrograd/io/checkpoint.hpp>
#include <retrograd/io/dataset_source.hpp>
#include <sstream>

#include "../nn/data_parallel_model.hpp"
#include "mpi_world.hpp"

using namespace retrograd;
using retrograd::testing::data_parallel_model;
using retrograd::testing::max_difference;
using retrograd::testing::weights_of;
using retrograd::testing::world;

namespace {

struct Run {
  std::vector<Tensor> weights;
  nn::History history;
  std::string output;
};

Run train(const nn::BatchSource& data, nn::FitOptions options, nn::ShardGroup* group,
          std::uint64_t model_seed = 7) {
  nn::Sequential model = data_parallel_model(model_seed);
  std::ostringstream out;
  options.out = &out;
  options.shards = group;
  nn::Trainer trainer(model, model.loss(), model.optimizer(), options, true);
  Run run;
  run.history = trainer.fit(data);
  run.weights = weights_of(model);
  run.output = out.str();
  return run;
}

/// The largest difference of `weights` from rank 0's (0 on every process when all agree).
float spread_over_processes(const std::vector<Tensor>& weights) {
  std::vector<float> flat;
  for (const Tensor& w : weights) flat.insert(flat.end(), w.begin(), w.end());
  std::vector<float> first = flat;
  distributed::check_mpi(
      MPI_Bcast(first.data(), static_cast<int>(first.size()), MPI_FLOAT, 0, world().native()),
      "MPI_Bcast");
  float worst = 0;
  for (std::size_t i = 0; i < flat.size(); ++i)
    worst = std::max(worst, std::abs(flat[i] - first[i]));
  distributed::check_mpi(
      MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_FLOAT, MPI_MAX, world().native()),
      "MPI_Allreduce");
  return worst;
}

/// Twelve samples of four ones, one-hot targets over three classes, trained as one unshuffled
/// batch: the last process's shard holds the last samples.
struct OneBatch {
  Tensor x = xt::ones<float>({12, 4});
  Tensor y = xt::zeros<float>({12, 3});
  nn::FitOptions options;
  OneBatch() {
    for (std::size_t i = 0; i < 12; ++i) y(i, i % 3) = 1;
    options.verbose = 0;
    options.shuffle = false;
    options.batch_size = 12;
  }
};

}  // namespace

TEST_CASE("DataParallel trains like one process on the same global batches", "[distributed]") {
  distributed::Communicator& comm = world();
  // 203 samples, 10 % held out: batches of 20 and a last one of 3 (uneven over 2 processes,
  // one sample each over 3); batches of 2 leave a process without a sample when there are 3.
  const data::Dataset blobs = data::make_blobs(203, 3, 4, 1.5, 11);
  const io::DatasetSource source(blobs);
  for (const std::size_t batch : {20, 2}) {
    nn::FitOptions options;
    options.epochs = 3;
    options.batch_size = batch;
    options.validation_split = 0.1;
    options.seed = 5;
    options.verbose = 2;
    const Run one = train(source, options, nullptr);
    for (const bool shard_update : {true, false}) {
      for (const bool overlap : {true, false}) {
        for (const std::size_t bucket_bytes :
             {std::size_t{0}, std::size_t{200}, std::numeric_limits<std::size_t>::max()}) {
          CAPTURE(batch, shard_update, overlap, bucket_bytes);
          distributed::DataParallel group(comm, {overlap, bucket_bytes, shard_update});
          // Each process starts from other weights: the group starts them all from rank 0's.
          const Run run = train(source, options, &group, comm.rank() == 0 ? 7 : 100 + comm.rank());
          // Float sums in another order: a few ulps per step, over up to 276 steps.
          CHECK(max_difference(run.weights, one.weights) < 1e-5f);
          CHECK(spread_over_processes(run.weights) == 0.0f);
          for (std::size_t e = 0; e < 3; ++e) {
            CHECK(run.history.loss[e] == Approx(one.history.loss[e]).epsilon(1e-5));
            CHECK(run.history.val_loss[e] == Approx(one.history.val_loss[e]).epsilon(1e-5));
            CHECK(std::abs(run.history.accuracy[e] - one.history.accuracy[e]) <= 1.0 / 183);
          }
          CHECK((run.output.find("Epoch 3/3") != std::string::npos) == (comm.rank() == 0));
          CHECK(group.stats().steps == 3 * ((183 + batch - 1) / batch));
          if (overlap && bucket_bytes == 0 && batch == 20) {
            CHECK(group.stats().messages_during_backward > 0);
          }
          if (!overlap) CHECK(group.stats().messages_during_backward == 0);
        }
      }
    }
  }
}

TEST_CASE("DataParallel fuses small gradients into buckets and sends large ones alone",
          "[distributed]") {
  distributed::Communicator& comm = world();
  const data::Dataset blobs = data::make_blobs(40, 3, 4, 1.5, 1);
  const io::DatasetSource source(blobs);
  nn::FitOptions options;
  options.verbose = 0;
  options.seed = 1;
  options.batch_size = 40;
  // Parameters, last first: b1 12 bytes, W1 192, b0 64, W0 256 (524 in all).
  const std::vector<std::pair<std::size_t, std::size_t>> plans = {
      {0, 4},                                         // every gradient alone
      {200, 3},                                       // [b1 W1] [b0] [W0]
      {std::numeric_limits<std::size_t>::max(), 1}};  // one bucket
  for (const auto& [bucket_bytes, buckets] : plans) {
    for (const bool shard_update : {true, false}) {
      CAPTURE(bucket_bytes, shard_update);
      distributed::DataParallel group(comm, {true, bucket_bytes, shard_update});
      train(source, options, &group);
      // Sharded, each bucket is reduce-scattered and its weights allgathered.
      const std::size_t messages = shard_update ? 2 * buckets : buckets;
      CHECK(group.messages_per_step() == messages);
      CHECK(group.bytes_per_step() == 524);
      CHECK(group.stats().messages == messages);
    }
  }
}

TEST_CASE("a NaN loss on one process stops every process at the same batch",
          "[distributed][errors]") {
  distributed::Communicator& comm = world();
  OneBatch data;
  data.y(11, 0) = std::numeric_limits<float>::quiet_NaN();  // in the last process's shard
  const nn::TensorBatchSource source(data.x, data.y);
  distributed::DataParallel group(comm);
  CHECK_THROWS_WITH(train(source, data.options, &group),
                    Catch::Contains("the loss is NaN at epoch 1/1, batch 1/1"));
}

TEST_CASE("a NaN weight after the averaged update stops every process at the same step",
          "[distributed][errors]") {
  distributed::Communicator& comm = world();
  OneBatch data;
  // In the last process's shard; relu hides it from the loss, the averaged gradient of the
  // first layer's weights carries it to every process.
  data.x(11, 2) = std::numeric_limits<float>::quiet_NaN();
  const nn::TensorBatchSource source(data.x, data.y);
  distributed::DataParallel group(comm);
  CHECK_THROWS_WITH(train(source, data.options, &group),
                    Catch::Contains("parameter dense_0.W (shape [4, 16]) holds NaN at [2, 0] "
                                    "after the update of epoch 1/1, batch 1/1 (step 1)"));
}

namespace {

/// 4-16-3 relu with Adam and gradient clipping: two state tensors per parameter.
nn::Sequential adam_model() {
  nn::manual_seed(3);
  nn::Sequential model;
  model.add(nn::Dense(4, 16, nn::Activation::relu()));
  model.add(nn::Dense(16, 3));
  nn::Adam adam(0.01);
  adam.set_clip_norm(0.5);
  model.compile(nn::Loss::categorical_cross_entropy(true), adam, {"accuracy"});
  return model;
}

std::vector<Tensor> state_of(nn::Sequential& model) {
  std::vector<Tensor> out;
  for (const nn::NamedState<float>& s : model.optimizer().state()) out.push_back(*s.tensor);
  return out;
}

/// Throws on every process once `at` steps are done (after the checkpoint hook).
class StopAt : public nn::Callback {
 public:
  explicit StopAt(std::uint64_t at) : at_(at) {}
  void on_checkpoint(nn::Trainer& trainer, bool) override {
    if (trainer.state().step == at_) throw std::runtime_error("stopped");
  }

 private:
  std::uint64_t at_;
};

}  // namespace

TEST_CASE("a sharded update keeps Adam's state and clipping, and resumes bit for bit",
          "[distributed][checkpoint]") {
  namespace fs = std::filesystem;
  distributed::Communicator& comm = world();
  const data::Dataset blobs = data::make_blobs(150, 3, 4, 1.5, 2);
  const io::DatasetSource source(blobs);
  nn::FitOptions options;
  options.epochs = 2;
  options.batch_size = 16;
  options.seed = 4;
  options.verbose = 0;

  nn::Sequential alone = adam_model();
  nn::Trainer(alone, alone.loss(), alone.optimizer(), options, true).fit(source);

  // 10 steps per epoch; bucket_bytes 200 fuses [b1 W1] and sends b0 and W0 alone.
  const distributed::DataParallelOptions sharded{true, 200, true};
  nn::Sequential whole = adam_model();
  distributed::DataParallel group(comm, sharded);
  nn::FitOptions o = options;
  o.shards = &group;
  nn::Trainer(whole, whole.loss(), whole.optimizer(), o, true).fit(source);
  CHECK(max_difference(weights_of(whole), weights_of(alone)) < 1e-5f);
  // fit ends with the whole state on every process: each one's shares, gathered.
  CHECK(max_difference(state_of(whole), state_of(alone)) < 1e-4f);
  CHECK(spread_over_processes(state_of(whole)) == 0.0f);
  CHECK(whole.optimizer().iterations() == alone.optimizer().iterations());

  // Stopped after step 13 (checkpoint of step 12 written), resumed: bit for bit.
  const fs::path dir = fs::temp_directory_path() / "retrograd_test_dp_resume";
  if (comm.rank() == 0) fs::remove_all(dir);
  comm.barrier();
  {
    nn::Sequential model = adam_model();
    distributed::DataParallel stopped_group(comm, sharded);
    io::Checkpoint checkpoints(dir.string(), 4);
    StopAt stop(13);
    nn::FitOptions run = options;
    run.shards = &stopped_group;
    run.callbacks = {&checkpoints, &stop};
    nn::Trainer trainer(model, model.loss(), model.optimizer(), run, true);
    CHECK_THROWS_WITH(trainer.fit(source), "stopped");
  }
  comm.barrier();
  const auto latest = io::latest_checkpoint(dir.string());
  REQUIRE(latest);
  CHECK(fs::path(*latest).filename() == "checkpoint-12.rg");
  io::LoadedCheckpoint saved(*latest);
  nn::Sequential resumed = saved.take_model();
  distributed::DataParallel resumed_group(comm, sharded);
  io::Checkpoint checkpoints(dir.string(), 4);
  nn::FitOptions run = options;
  run.shards = &resumed_group;
  run.callbacks = {&checkpoints};
  nn::Trainer trainer(resumed, resumed.loss(), resumed.optimizer(), run, true);
  io::restore_checkpoint(trainer, saved);
  trainer.fit(source);
  CHECK(max_difference(weights_of(resumed), weights_of(whole)) == 0.0f);
  CHECK(max_difference(state_of(resumed), state_of(whole)) == 0.0f);
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(dir);
}

TEST_CASE("DataParallel trains a functional model of two inputs, two outputs and a shared layer",
          "[distributed][model]") {
  distributed::Communicator& comm = world();
  // Inputs of 2 and 2 features (the blobs' 4, packed side by side), a Dense both inputs go
  // through, the class logits and one regression output, each with its loss and weight.
  auto make = [](std::uint64_t seed) {
    nn::manual_seed(seed);
    auto a = nn::Input({2}), b = nn::Input({2});
    nn::Layer shared = nn::Dense(2, 8, nn::Activation::tanh());
    nn::Layer classes = nn::Dense(16, 3);
    nn::Layer value = nn::Dense(16, 1);
    auto h = nn::concat({shared(a), shared(b)});
    return nn::Model({a, b}, {classes(h), value(h)});
  };
  const data::Dataset blobs = data::make_blobs(120, 3, 4, 1.5, 13);
  const Tensor x = blobs.features();
  Tensor y = Tensor::from_shape({blobs.size(), 4});
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    for (std::size_t k = 0; k < 3; ++k)
      y(i, k) = static_cast<std::size_t>(blobs.labels()[i]) == k ? 1.0f : 0.0f;
    y(i, 3) = x(i, 0) * x(i, 1);
  }
  const nn::TensorBatchSource source(x, y);
  nn::FitOptions options;
  options.epochs = 3;
  options.batch_size = 16;
  options.seed = 5;
  options.verbose = 0;
  auto run = [&](nn::ShardGroup* group, std::uint64_t seed) {
    nn::Model model = make(seed);
    const nn::Loss loss =
        model.loss({{nn::Loss::categorical_cross_entropy(true), 1.0}, {nn::Loss::mse(), 0.25}});
    nn::Adam adam(0.01);
    nn::FitOptions o = options;
    o.shards = group;
    const nn::History history = nn::Trainer(model, loss, adam, o, true).fit(source);
    return std::make_pair(weights_of(model), history);
  };
  const auto one = run(nullptr, 7);
  distributed::DataParallel group(comm, {});
  const auto many = run(&group, comm.rank() == 0 ? 7 : 100 + comm.rank());
  CHECK(max_difference(many.first, one.first) < 1e-5f);
  CHECK(spread_over_processes(many.first) == 0.0f);
  for (std::size_t e = 0; e < 3; ++e) {
    CHECK(many.second.loss[e] == Approx(one.second.loss[e]).epsilon(1e-5));
  }
}
