#include "retrograd/distributed/communicator.hpp"

#include <cstdlib>
#include <exception>

namespace retrograd::distributed {

namespace {
Communicator* live = nullptr;
}  // namespace

void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char reason[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, reason, &length) != MPI_SUCCESS) length = 0;
  throw MpiError(std::string(call) + " failed: " +
                 (length > 0 ? std::string(reason, length) : "error " + std::to_string(code)));
}

Communicator::Communicator() { start(nullptr, nullptr); }

Communicator::Communicator(int& argc, char**& argv) { start(&argc, &argv); }

void Communicator::start(int* argc, char*** argv) {
  if (live) {
    throw std::logic_error("Communicator: one already lives in this process; share it");
  }
  int initialized = 0;
  check_mpi(MPI_Initialized(&initialized), "MPI_Initialized");
  if (!initialized) {
#ifdef OPEN_MPI
    // Open MPI's non-blocking allreduce (libnbc) picks, for the megabytes of a gradient bucket
    // between two processes, an algorithm 1.7x slower than its blocking allreduce; Rabenseifner's
    // (reduce-scatter, then allgather) matches the blocking one (docs/distributed.md). The
    // environment still decides when it sets the parameter.
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", 0);
#endif
    // Only the thread that made the Communicator calls MPI; OpenBLAS's threads never do.
    int provided = 0;
    check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    owns_mpi_ = true;
  }
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  // Failures come back as codes that become MpiError, instead of MPI ending the process.
  check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  exceptions_at_start_ = std::uncaught_exceptions();
  live = this;
}

Communicator::~Communicator() {
  live = nullptr;
  if (std::uncaught_exceptions() > exceptions_at_start_) return;  // see the header
  MPI_Comm_free(&comm_);
  if (owns_mpi_) MPI_Finalize();
}

void Communicator::barrier() const { check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); }

void Communicator::abort(int code) const {
  MPI_Abort(comm_, code);
  std::terminate();  // MPI_Abort does not return; this only tells the compiler so
}

Communicator& Communicator::current(const char* caller) {
  if (!live) {
    throw std::logic_error(std::string(caller) +
                           ": no distributed::Communicator lives in this process; make one "
                           "first (it initializes MPI)");
  }
  return *live;
}

}  // namespace retrograd::distributed
