// The data-parallel checks' program (tests/distributed.cmake runs it under mpirun):
//
//   dp_check train OUT.rg [--samples N] [--epochs E] [--checkpoint-dir D] [--resume D]
//                         [--die-at STEP] [--throw-at STEP] [--no-sum] [--bucket-bytes B]
//                         [--no-overlap] [--allreduce]
//     Trains config (b) of bench/ (784-128-10 relu, softmax cross-entropy, SGD 0.1, batch 64)
//     on the first N Fashion-MNIST training images; with more than one process, as one
//     data-parallel run. Rank 0 saves the model. --die-at: the last rank kills itself (SIGKILL)
//     once STEP updates are done; --throw-at: it throws instead. --no-sum: the processes skip
//     the gradient sum (a broken run, to show the comparison can fail). --allreduce: every
//     gradient allreduced and the whole update on every process, instead of the sharded update.
//   dp_check compare A.rg B.rg (--below TOL | --above TOL)
//     Prints the largest weight difference and fails unless it is below (above) TOL.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <retrograd/distributed.hpp>
#include <retrograd/io/checkpoint.hpp>
#include <retrograd/retrograd.hpp>
#include <string>

using namespace retrograd;

namespace {

struct Args {
  std::string out;
  std::size_t samples = 2001;
  std::size_t epochs = 2;
  std::string checkpoint_dir;
  std::string resume;
  long die_at = -1;
  long throw_at = -1;
  bool sum = true;
  distributed::DataParallelOptions group;
};

/// The last rank leaves at a given step: killed, or by an exception.
class Leave : public nn::Callback {
 public:
  Leave(long die_at, long throw_at, bool last_rank)
      : die_at_(die_at), throw_at_(throw_at), last_rank_(last_rank) {}
  void on_batch_begin(nn::Trainer& trainer, std::size_t /*batch*/) override {
    if (!last_rank_) return;
    const auto step = static_cast<long>(trainer.state().step);
    if (step == die_at_) std::raise(SIGKILL);
    if (step == throw_at_)
      throw std::runtime_error("dp_check: leaving at step " + std::to_string(step));
  }

 private:
  long die_at_, throw_at_;
  bool last_rank_;
};

/// A group that does not sum the gradients: each process follows its own shard.
class NoSum : public distributed::DataParallel {
 public:
  using DataParallel::DataParallel;
  void on_batch_begin(nn::Trainer&, std::size_t) override {}
  void on_after_backward(nn::Trainer&, std::size_t) override {}
  std::optional<std::size_t> step(nn::Optimizer& optimizer) override {
    return optimizer.step_if_finite();
  }
  void synchronize(nn::Optimizer&) override {}
};

int train(const Args& a, const distributed::Communicator& comm) {
  const data::Mnist mnist = data::load_mnist(std::string(data::fashion_mnist_dir));
  if (a.samples > mnist.train.size()) throw std::invalid_argument("--samples: too many");
  std::vector<std::size_t> first(a.samples);
  for (std::size_t i = 0; i < a.samples; ++i) first[i] = i;
  const data::Dataset slice = mnist.train.subset(first);
  const io::DatasetSource source(slice);

  nn::Sequential model;
  std::optional<io::LoadedCheckpoint> checkpoint;
  if (!a.resume.empty()) {
    const std::optional<std::string> latest = io::latest_checkpoint(a.resume);
    if (!latest) throw std::invalid_argument("--resume: no checkpoint in " + a.resume);
    model = checkpoint.emplace(*latest).take_model();
  } else {
    nn::manual_seed(1);
    model.add(nn::Dense(784, 128, nn::Activation::relu()));
    model.add(nn::Dense(128, 10));
    model.compile(nn::Loss::categorical_cross_entropy(true), nn::SGD(0.1), {"accuracy"});
  }
  nn::FitOptions options;
  options.epochs = a.epochs;
  options.batch_size = 64;
  options.seed = 3;
  options.verbose = 0;
  std::optional<distributed::DataParallel> group;
  std::optional<NoSum> no_sum;
  if (comm.size() > 1) {
    if (a.sum) {
      options.shards = &group.emplace(comm, a.group);
    } else {
      options.shards = &no_sum.emplace(comm, a.group);
    }
  }
  std::optional<io::Checkpoint> checkpoints;
  if (!a.checkpoint_dir.empty())
    options.callbacks.push_back(&checkpoints.emplace(a.checkpoint_dir, 5));
  Leave leave(a.die_at, a.throw_at, comm.rank() == comm.size() - 1);
  options.callbacks.push_back(&leave);
  nn::Trainer trainer(model, model.loss(), model.optimizer(), options, true);
  if (checkpoint) io::restore_checkpoint(trainer, *checkpoint);
  const nn::History history = trainer.fit(source);
  if (comm.rank() == 0) {
    io::save_model(model, a.out);
    std::cout << "processes " << comm.size() << ", steps " << trainer.state().step << ", loss "
              << history.loss.back() << ", accuracy " << history.accuracy.back();
    if (group) {
      std::cout << ", " << group->messages_per_step() << " messages of " << group->bytes_per_step()
                << " bytes per step";
    }
    std::cout << "\n";
  }
  return 0;
}

int compare(const std::string& a, const std::string& b, bool below, double tolerance) {
  const nn::Sequential first = io::load_model(a), second = io::load_model(b);
  const auto p = first.parameters(), q = second.parameters();
  if (p.size() != q.size()) throw std::invalid_argument("different models");
  double worst = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    for (std::size_t k = 0; k < p[i].size(); ++k) {
      worst = std::max(
          worst, static_cast<double>(std::abs(p[i].value().data()[k] - q[i].value().data()[k])));
    }
    count += p[i].size();
  }
  std::printf("max |difference| = %.3g over %zu weights (%s %.3g)\n", worst, count,
              below ? "tolerance" : "must exceed", tolerance);
  return (below ? worst <= tolerance : worst > tolerance) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 5 && args[0] == "compare") {
    try {
      return compare(args[1], args[2], args[3] == "--below", std::stod(args[4]));
    } catch (const std::exception& e) {
      std::cerr << "dp_check compare: " << e.what() << "\n";
      return 2;
    }
  }
  if (args.size() < 2 || args[0] != "train") {
    std::cerr << "usage: dp_check train OUT [options] | compare A B --below|--above TOL\n";
    return 2;
  }
  Args a;
  a.out = args[1];
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& flag = args[i];
    const auto value = [&] {
      if (i + 1 >= args.size()) throw std::invalid_argument(flag + " needs a value");
      return args[++i];
    };
    if (flag == "--samples")
      a.samples = std::stoul(value());
    else if (flag == "--epochs")
      a.epochs = std::stoul(value());
    else if (flag == "--checkpoint-dir")
      a.checkpoint_dir = value();
    else if (flag == "--resume")
      a.resume = value();
    else if (flag == "--die-at")
      a.die_at = std::stol(value());
    else if (flag == "--throw-at")
      a.throw_at = std::stol(value());
    else if (flag == "--no-sum")
      a.sum = false;
    else if (flag == "--bucket-bytes")
      a.group.bucket_bytes = std::stoul(value());
    else if (flag == "--no-overlap")
      a.group.overlap = false;
    else if (flag == "--allreduce")
      a.group.shard_update = false;
    else {
      std::cerr << "dp_check: unknown flag " << flag << "\n";
      return 2;
    }
  }
  distributed::Communicator comm(argc, argv);
  try {
    return train(a, comm);
  } catch (const std::exception& e) {
    // One write: the other process may be reporting on the same stderr.
    std::cerr << "dp_check (process " + std::to_string(comm.rank()) + " of " +
                     std::to_string(comm.size()) + "): error: " + e.what() + "\n";
    comm.abort(1);
  }
}
