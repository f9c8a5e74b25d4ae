#pragma once
// The test processes' Communicator: made by the first test that needs it, finalized at exit
// (MPI starts once per process). The tests run under mpirun with 2 or more processes.

#include <retrograd/distributed.hpp>

namespace retrograd::testing {

inline distributed::Communicator& world() {
  static distributed::Communicator comm;
  return comm;
}

}  // namespace retrograd::testing
