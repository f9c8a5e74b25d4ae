#pragma once
// How the process was started: alone, or as one of the N processes of an MPI job (mpirun).

#include <cstddef>

namespace retrograd::cli {

/// The job this process belongs to, as the MPI launcher's environment tells it (Open MPI's
/// OMPI_COMM_WORLD_*, or PMI_* of MPICH and Intel MPI); one process of one without a launcher.
struct Launch {
  /// Processes in the job.
  std::size_t size = 1;
  /// This process's number, from 0.
  std::size_t rank = 0;
  /// Processes of the job on this machine.
  std::size_t local_size = 1;
};

/// Reads the launcher's environment.
Launch detect_launch();

}  // namespace retrograd::cli
