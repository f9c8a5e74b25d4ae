#pragma once
/// @file communicator.hpp
/// `Communicator`: the processes of an MPI job (started by Open MPI's `mpirun -np N`, or any
/// MPI launcher), from MPI's initialization to its finalization. Part of the optional
/// distributed component (CMake option RETROGRAD_MPI, target retrograd::distributed);
/// docs/distributed.md shows how to run it on one machine and on several.

#include <mpi.h>

#include <stdexcept>
#include <string>

namespace retrograd::distributed {

/// An MPI call failed; the message names the call and MPI's reason.
class MpiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws MpiError naming `call` unless `code` is MPI_SUCCESS.
void check_mpi(int code, const char* call);

/// MPI for the life of the object, and this library's own copy of MPI_COMM_WORLD (so that its
/// messages never meet the application's). One may live at a time in a process. Every
/// process of the job makes one at the same point; all collective calls go through the
/// thread that made it.
class Communicator {
 public:
  /// Initializes MPI unless the program already did. Throws std::logic_error when another
  /// Communicator lives and MpiError when MPI fails.
  Communicator();
  /// Same, handing MPI the program's arguments (as MPI_Init does).
  Communicator(int& argc, char**& argv);
  /// Finalizes MPI when this object initialized it. When destroyed by an exception in flight,
  /// it leaves MPI initialized instead: the process then exits without finalizing, which makes
  /// the launcher end every process of the job rather than leave the others waiting in a
  /// collective for one that is gone.
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  /// This process's number, from 0.
  int rank() const { return rank_; }
  /// Number of processes.
  int size() const { return size_; }
  /// The MPI communicator (this library's copy of MPI_COMM_WORLD).
  MPI_Comm native() const { return comm_; }
  /// Waits until every process arrives here.
  void barrier() const;
  /// Ends every process of the job with exit code `code` (MPI_Abort).
  [[noreturn]] void abort(int code) const;

  /// The Communicator alive in this process. Throws std::logic_error naming `caller` when
  /// there is none.
  static Communicator& current(const char* caller = "distributed");

 private:
  void start(int* argc, char*** argv);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  bool owns_mpi_ = false;
  int exceptions_at_start_ = 0;
};

}  // namespace retrograd::distributed
