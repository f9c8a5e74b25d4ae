#include "retrograd/distributed/collectives.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "distributed/module_layout.hpp"

namespace retrograd::distributed {

namespace detail {

void require_same_layout(const Communicator& comm, nn::Module& module, const char* caller) {
  const auto params = module.named_parameters();
  const auto buffers = module.named_buffers();
  // FNV-1a over names and shapes: equal modules give equal digests on every process.
  std::uint64_t digest = 1469598103934665603ull;
  const auto mix = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      digest = (digest ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ull;
    }
  };
  const auto mix_text = [&](const std::string& text) {
    for (const char c : text) mix(static_cast<unsigned char>(c));
    mix(text.size());
  };
  std::int64_t param_scalars = 0, buffer_scalars = 0;
  for (const auto& p : params) {
    mix_text(p.name);
    for (const auto d : p.var.shape()) mix(d);
    param_scalars += static_cast<std::int64_t>(p.var.size());
  }
  for (const auto& b : buffers) {
    mix_text(b.name);
    for (const auto d : b.tensor->shape()) mix(d);
    buffer_scalars += static_cast<std::int64_t>(b.tensor->size());
  }
  const char* names[] = {"parameters", "parameter values", "buffers", "buffer values",
                         "parameter names and shapes (digest)"};
  // Each value beside its negation: one MAX gives the largest and (negated) the smallest.
  const std::int64_t values[] = {static_cast<std::int64_t>(params.size()), param_scalars,
                                 static_cast<std::int64_t>(buffers.size()), buffer_scalars,
                                 static_cast<std::int64_t>(digest >> 2)};
  constexpr int n = 5;
  std::int64_t extremes[2 * n];
  for (int i = 0; i < n; ++i) {
    extremes[i] = values[i];
    extremes[n + i] = -values[i];
  }
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, extremes, 2 * n, MPI_INT64_T, MPI_MAX, comm.native()),
            "MPI_Allreduce");
  for (int i = 0; i < n; ++i) {
    if (extremes[i] != -extremes[n + i]) {
      throw std::invalid_argument(
          std::string(caller) + ": the processes hold different modules: their " + names[i] +
          " range from " + std::to_string(-extremes[n + i]) + " to " + std::to_string(extremes[i]) +
          " (this process, rank " + std::to_string(comm.rank()) + ": " + std::to_string(values[i]) +
          "); build the same model on every process");
    }
  }
}

void allreduce_sum(const Communicator& comm, float* data, std::size_t count) {
  // MPI counts are ints: large tensors go in pieces.
  constexpr std::size_t piece = std::size_t{1} << 30;
  for (std::size_t start = 0; start < count; start += piece) {
    const int n = static_cast<int>(std::min(piece, count - start));
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, data + start, n, MPI_FLOAT, MPI_SUM, comm.native()),
              "MPI_Allreduce");
  }
}

}  // namespace detail

namespace {
void broadcast(const Communicator& comm, float* data, std::size_t count, int root) {
  constexpr std::size_t piece = std::size_t{1} << 30;
  for (std::size_t start = 0; start < count; start += piece) {
    const int n = static_cast<int>(std::min(piece, count - start));
    check_mpi(MPI_Bcast(data + start, n, MPI_FLOAT, root, comm.native()), "MPI_Bcast");
  }
}
}  // namespace

void broadcast_parameters(const Communicator& comm, nn::Module& module, int root) {
  if (root < 0 || root >= comm.size()) {
    throw std::invalid_argument("broadcast_parameters: root " + std::to_string(root) +
                                " is not a process of this job (0 to " +
                                std::to_string(comm.size() - 1) + ")");
  }
  detail::require_same_layout(comm, module, "broadcast_parameters");
  for (auto& p : module.named_parameters()) {
    Tensor& value = p.var.value();
    broadcast(comm, value.data(), value.size(), root);
  }
  for (const auto& b : module.named_buffers())
    broadcast(comm, b.tensor->data(), b.tensor->size(), root);
}

void allreduce_gradients(const Communicator& comm, nn::Module& module) {
  detail::require_same_layout(comm, module, "allreduce_gradients");
  std::vector<Var> params = module.parameters();
  std::size_t total = 0;
  for (const Var& p : params) total += p.size();
  // One message for all: per-message latency dominates small tensors.
  thread_local std::vector<float> fused;
  fused.resize(total);
  std::size_t offset = 0;
  for (const Var& p : params) {
    if (p.has_grad()) {
      std::copy(p.grad().begin(), p.grad().end(), fused.begin() + offset);
    } else {
      std::fill_n(fused.begin() + offset, p.size(), 0.0f);
    }
    offset += p.size();
  }
  detail::allreduce_sum(comm, fused.data(), total);
  const float scale = 1.0f / static_cast<float>(comm.size());
  offset = 0;
  for (Var& p : params) {
    if (!p.has_grad()) p.node()->accumulate_grad(zeros<float>(p.shape()), "allreduce_gradients");
    Tensor& g = p.grad();
    for (std::size_t i = 0; i < g.size(); ++i) g.data()[i] = fused[offset + i] * scale;
    offset += p.size();
  }
}

void broadcast_parameters(nn::Module& module, int root) {
  broadcast_parameters(Communicator::current("broadcast_parameters"), module, root);
}

void allreduce_gradients(nn::Module& module) {
  allreduce_gradients(Communicator::current("allreduce_gradients"), module);
}

}  // namespace retrograd::distributed
