// The Communicator (run under mpirun -np 2 and -np 3).

#include "../test_helpers.hpp"
#include "mpi_world.hpp"

using namespace retrograd;
using retrograd::testing::world;

TEST_CASE("the communicator numbers the processes of the job", "[distributed]") {
  distributed::Communicator& comm = world();
  REQUIRE(comm.size() >= 2);
  CHECK(comm.rank() >= 0);
  CHECK(comm.rank() < comm.size());
  CHECK(&distributed::Communicator::current() == &comm);
  // Every process sees every number once.
  int ranks = comm.rank(), sum = 0;
  distributed::check_mpi(MPI_Allreduce(&ranks, &sum, 1, MPI_INT, MPI_SUM, comm.native()),
                         "MPI_Allreduce");
  CHECK(sum == comm.size() * (comm.size() - 1) / 2);
  comm.barrier();
}

TEST_CASE("one communicator at a time", "[distributed][errors]") {
  world();
  CHECK_THROWS_WITH(distributed::Communicator(), Catch::Contains("already lives"));
}

TEST_CASE("a failing MPI call names itself and MPI's reason", "[distributed][errors]") {
  CHECK_THROWS_WITH(distributed::check_mpi(MPI_ERR_COUNT, "MPI_Bcast"),
                    Catch::StartsWith("MPI_Bcast failed: ") && Catch::Contains("count"));
}
