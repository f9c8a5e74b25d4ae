// An outside project's data-parallel program: rank 0's weights reach every process.

#include <iostream>
#include <retrograd/distributed.hpp>
#include <retrograd/retrograd.hpp>
#include <vector>

int main(int argc, char** argv) {
  using namespace retrograd;
  distributed::Communicator comm(argc, argv);
  nn::manual_seed(static_cast<std::uint64_t>(comm.rank()) + 1);  // different on every process
  nn::Sequential model;
  model.add(nn::Dense(3, 4));
  distributed::broadcast_parameters(model, 0);
  std::vector<float> mine;
  for (const Var& p : model.parameters())
    mine.insert(mine.end(), p.value().begin(), p.value().end());
  std::vector<float> rank0 = mine;
  MPI_Bcast(rank0.data(), static_cast<int>(rank0.size()), MPI_FLOAT, 0, comm.native());
  int same = mine == rank0, all_same = 0;
  MPI_Allreduce(&same, &all_same, 1, MPI_INT, MPI_SUM, comm.native());
  if (comm.rank() == 0 && all_same == comm.size()) {
    std::cout << comm.size() << " processes: every weight equals rank 0's\n";
  }
  return all_same == comm.size() ? 0 : 1;
}
