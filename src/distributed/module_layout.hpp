#pragma once
// Internal to the distributed component: what collectives.cpp and data_parallel.cpp share.

#include <cstddef>

#include "retrograd/distributed/communicator.hpp"
#include "retrograd/nn/module.hpp"

namespace retrograd::distributed::detail {

/// Throws std::invalid_argument on every process, naming `caller` and what differs, unless
/// every process's `module` has the same parameter and buffer names and shapes. Collective.
void require_same_layout(const Communicator& comm, nn::Module& module, const char* caller);

/// Sums data[0..count) over the processes, in place (blocking).
void allreduce_sum(const Communicator& comm, float* data, std::size_t count);

}  // namespace retrograd::distributed::detail
