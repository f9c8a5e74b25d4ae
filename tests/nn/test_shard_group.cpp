// Data-parallel training as the Trainer sees it (FitOptions::shards), without MPI: a group of
// threads, each training its own model on its shard, summing through shared memory. The MPI
// group (tests/distributed) runs the same protocol across processes.

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <retrograd/io/checkpoint.hpp>
#include <sstream>
#include <thread>

#include "data_parallel_model.hpp"

using namespace retrograd;
using retrograd::testing::data_parallel_model;
using retrograd::testing::max_difference;
using retrograd::testing::weights_of;

namespace {

/// What the threads of a group share: a barrier and one slot per thread.
class Exchange {
 public:
  explicit Exchange(std::size_t size) : size_(size), slots_(size) {}
  std::size_t size() const { return size_; }

  /// Every thread's `mine`, in rank order, on every thread.
  std::vector<std::vector<double>> gather(std::size_t rank, std::vector<double> mine) {
    slots_[rank] = std::move(mine);
    barrier();
    std::vector<std::vector<double>> all = slots_;
    barrier();  // nobody writes the next round's slot before all have read this one
    return all;
  }

 private:
  void barrier() {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::size_t generation = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      ++generation_;
      changed_.notify_all();
    } else {
      changed_.wait(lock, [&] { return generation_ != generation; });
    }
  }

  std::size_t size_;
  std::vector<std::vector<double>> slots_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t arrived_ = 0;
  std::size_t generation_ = 0;
};

/// One thread's member of the group: the protocol of nn/shard_group.hpp over an Exchange.
class ThreadShard : public nn::ShardGroup {
 public:
  ThreadShard(Exchange& exchange, std::size_t rank) : exchange_(exchange), rank_(rank) {}
  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return exchange_.size(); }

  void sum(double* values, std::size_t count) override {
    const auto all = exchange_.gather(rank_, std::vector<double>(values, values + count));
    for (std::size_t i = 0; i < count; ++i) {
      values[i] = 0;
      for (const auto& part : all) values[i] += part[i];
    }
  }

  void on_train_begin(nn::Trainer& trainer) override {
    std::vector<double> mine;
    for (const Var& p : trainer.model().parameters())
      mine.insert(mine.end(), p.value().begin(), p.value().end());
    const auto all = exchange_.gather(rank_, mine);
    std::size_t at = 0;
    for (Var p : trainer.model().parameters()) {
      for (float& v : p.value()) v = static_cast<float>(all[0][at++]);
    }
  }

  void on_after_backward(nn::Trainer& trainer, std::size_t /*batch*/) override {
    std::vector<double> mine;
    std::vector<Var> params = trainer.model().parameters();
    for (const Var& p : params) {
      if (p.has_grad()) {
        mine.insert(mine.end(), p.grad().begin(), p.grad().end());
      } else {
        mine.insert(mine.end(), p.size(), 0.0);
      }
    }
    const auto all = exchange_.gather(rank_, mine);
    std::size_t at = 0;
    for (Var& p : params) {
      if (!p.has_grad()) p.node()->accumulate_grad(zeros<float>(p.shape()), "test");
      for (float& g : p.grad()) {
        // Float sums in rank order, as an allreduce of floats adds them.
        float total = 0;
        for (const auto& part : all) total += static_cast<float>(part[at]);
        g = total;
        ++at;
      }
    }
  }

 private:
  Exchange& exchange_;
  std::size_t rank_;
};

struct Run {
  std::vector<Tensor> weights;
  nn::History history;
  std::string output;
  std::uint64_t seed = 0;
};

/// Trains on `shards` threads (0: without a group) and returns every thread's result.
std::vector<Run> train(std::size_t shards, const nn::BatchSource& data, nn::FitOptions options,
                       bool different_starts = false) {
  const std::size_t threads = std::max<std::size_t>(shards, 1);
  std::vector<nn::Sequential> models;
  for (std::size_t r = 0; r < threads; ++r)
    models.push_back(data_parallel_model(different_starts ? 7 + r : 7));
  Exchange exchange(threads);
  std::vector<Run> runs(threads);
  std::vector<std::ostringstream> outs(threads);
  std::vector<std::unique_ptr<ThreadShard>> members;
  std::vector<std::unique_ptr<nn::Trainer>> trainers;
  for (std::size_t r = 0; r < threads; ++r) {
    nn::FitOptions o = options;
    o.out = &outs[r];
    if (shards > 0) {
      members.push_back(std::make_unique<ThreadShard>(exchange, r));
      o.shards = members.back().get();
    }
    trainers.push_back(
        std::make_unique<nn::Trainer>(models[r], models[r].loss(), models[r].optimizer(), o, true));
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(threads);
  for (std::size_t r = 0; r < threads; ++r) {
    pool.emplace_back([&, r] {
      try {
        runs[r].history = trainers[r]->fit(data);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : pool) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  for (std::size_t r = 0; r < threads; ++r) {
    runs[r].weights = weights_of(models[r]);
    runs[r].output = outs[r].str();
    runs[r].seed = trainers[r]->state().seed;
  }
  return runs;
}

}  // namespace

TEST_CASE("a group of shards trains like one process on the same global batches", "[nn][shards]") {
  // 203 samples, 10 % held out: 183 to train in batches of 20, the last of 3. Two shards split
  // 20 as 10/10 and 3 as 1/2; three as 6/7/7 and 1/1/1; four leave a shard of the last batch
  // empty. Every split must give the weights and history of one process.
  const data::Dataset blobs = data::make_blobs(203, 3, 4, 1.5, 11);
  const io::DatasetSource source(blobs);
  nn::FitOptions options;
  options.epochs = 3;
  options.batch_size = 20;
  options.validation_split = 0.1;
  options.seed = 5;
  options.verbose = 2;
  const Run one = train(0, source, options).front();
  for (const std::size_t shards : {1, 2, 3, 4}) {
    CAPTURE(shards);
    const std::vector<Run> group = train(shards, source, options);
    for (const Run& run : group) {
      // Float sums in another order: a few ulps per step, over 30 steps of SGD with momentum.
      CHECK(max_difference(run.weights, one.weights) < 1e-5f);
      CHECK(max_difference(run.weights, group[0].weights) == 0.0f);  // every shard alike
      REQUIRE(run.history.epochs() == 3);
      for (std::size_t e = 0; e < 3; ++e) {
        CHECK(run.history.loss[e] == Approx(one.history.loss[e]).epsilon(1e-5));
        CHECK(run.history.val_loss[e] == Approx(one.history.val_loss[e]).epsilon(1e-5));
        CHECK(std::abs(run.history.accuracy[e] - one.history.accuracy[e]) <= 1.0 / 183);
        CHECK(std::abs(run.history.val_accuracy[e] - one.history.val_accuracy[e]) <= 1.0 / 20);
      }
    }
    // Shard 0 prints the progress of the whole run; the others stay silent.
    CHECK(group[0].output.find("Epoch 3/3") != std::string::npos);
    for (std::size_t r = 1; r < group.size(); ++r) CHECK(group[r].output.empty());
  }
}

TEST_CASE("shards start from shard 0's weights and seed", "[nn][shards]") {
  const data::Dataset blobs = data::make_blobs(60, 3, 4, 1.5, 3);
  const io::DatasetSource source(blobs);
  nn::FitOptions options;
  options.epochs = 2;
  options.batch_size = 16;
  options.verbose = 0;
  // No seed given: each trainer draws its own from its thread's engine, and models start
  // from different weights; the group makes them one run.
  const std::vector<Run> group = train(3, source, options, true);
  for (const Run& run : group) {
    CHECK(run.seed == group[0].seed);
    CHECK(max_difference(run.weights, group[0].weights) == 0.0f);
  }
}

TEST_CASE("shards that do not train alike stop with a clear error on every shard",
          "[nn][shards][errors]") {
  const data::Dataset small = data::make_blobs(40, 3, 4, 1.5, 3);
  const data::Dataset large = data::make_blobs(41, 3, 4, 1.5, 3);
  const io::DatasetSource small_source(small), large_source(large);
  Exchange exchange(2);
  std::vector<nn::Sequential> models;
  models.push_back(data_parallel_model(1));
  models.push_back(data_parallel_model(1));
  ThreadShard first(exchange, 0), second(exchange, 1);
  nn::FitOptions options;
  options.verbose = 0;
  options.seed = 1;
  std::vector<std::string> errors(2);
  std::vector<std::thread> pool;
  for (std::size_t r = 0; r < 2; ++r) {
    pool.emplace_back([&, r] {
      nn::FitOptions o = options;
      o.shards = r == 0 ? static_cast<nn::ShardGroup*>(&first) : &second;
      nn::Trainer trainer(models[r], models[r].loss(), models[r].optimizer(), o);
      try {
        trainer.fit(r == 0 ? small_source : large_source);
      } catch (const std::invalid_argument& e) {
        errors[r] = e.what();
      }
    });
  }
  for (auto& t : pool) t.join();
  CHECK_THAT(errors[0], Catch::Contains("do not train alike") &&
                            Catch::Contains("another shard differs from shard 0"));
  CHECK_THAT(errors[1], Catch::Contains("training samples is 41 on shard 1 and 40 on shard 0"));
}

TEST_CASE("only shard 0 writes checkpoints", "[nn][shards][io]") {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / "retrograd_test_shard_checkpoints";
  fs::remove_all(root);
  const data::Dataset blobs = data::make_blobs(40, 3, 4, 1.5, 3);
  const io::DatasetSource source(blobs);
  Exchange exchange(2);
  std::vector<nn::Sequential> models;
  models.push_back(data_parallel_model(1));
  models.push_back(data_parallel_model(1));
  std::vector<std::thread> pool;
  for (std::size_t r = 0; r < 2; ++r) {
    pool.emplace_back([&, r] {
      ThreadShard member(exchange, r);
      io::Checkpoint checkpoints((root / std::to_string(r)).string(), 1);
      nn::FitOptions o;
      o.verbose = 0;
      o.seed = 1;
      o.batch_size = 10;
      o.shards = &member;
      o.callbacks.push_back(&checkpoints);
      nn::Trainer(models[r], models[r].loss(), models[r].optimizer(), o).fit(source);
    });
  }
  for (auto& t : pool) t.join();
  CHECK(io::list_checkpoints((root / "0").string()).size() == 3);
  CHECK(io::list_checkpoints((root / "1").string()).empty());
  fs::remove_all(root);
}

TEST_CASE("a shard group without processes is refused", "[nn][shards][errors]") {
  struct Empty : nn::ShardGroup {
    std::size_t rank() const override { return 0; }
    std::size_t size() const override { return 0; }
    void sum(double*, std::size_t) override {}
  } empty;
  nn::Sequential model = data_parallel_model(1);
  nn::FitOptions options;
  options.shards = &empty;
  CHECK_THROWS_WITH(nn::Trainer(model, model.loss(), model.optimizer(), options),
                    Catch::Contains("no process"));
}
