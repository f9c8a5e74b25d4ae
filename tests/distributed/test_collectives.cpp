// broadcast_parameters and allreduce_gradients (run under mpirun -np 2 and -np 3).

#include "../test_helpers.hpp"
#include "mpi_world.hpp"

using namespace retrograd;
using retrograd::testing::world;

namespace {
nn::Sequential make_model(std::uint64_t seed, std::size_t hidden = 8) {
  nn::manual_seed(seed);
  nn::Sequential model;
  model.add(nn::Dense(3, hidden, nn::Activation::relu()));
  model.add(nn::BatchNorm(hidden));
  model.add(nn::Dense(hidden, 2));
  return model;
}

bool same_values(nn::Sequential& a, nn::Sequential& b) {
  const auto p = a.parameters(), q = b.parameters();
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!std::equal(p[i].value().begin(), p[i].value().end(), q[i].value().begin())) return false;
  }
  const auto s = a.named_buffers(), t = b.named_buffers();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!std::equal(s[i].tensor->begin(), s[i].tensor->end(), t[i].tensor->begin())) return false;
  }
  return true;
}
}  // namespace

TEST_CASE("broadcast_parameters gives every process the root's parameters and buffers",
          "[distributed]") {
  distributed::Communicator& comm = world();
  for (const int root : {0, comm.size() - 1}) {
    CAPTURE(root);
    nn::Sequential model = make_model(10 + comm.rank());
    for (const auto& b : model.named_buffers()) b.tensor->fill(static_cast<float>(comm.rank()));
    nn::Sequential roots = make_model(10 + root);
    for (const auto& b : roots.named_buffers()) b.tensor->fill(static_cast<float>(root));
    CHECK(same_values(model, roots) == (comm.rank() == root));
    distributed::broadcast_parameters(model, root);
    CHECK(same_values(model, roots));
  }
}

TEST_CASE("broadcast_parameters refuses a root outside the job and unlike modules",
          "[distributed][errors]") {
  distributed::Communicator& comm = world();
  nn::Sequential model = make_model(1);
  CHECK_THROWS_WITH(distributed::broadcast_parameters(model, comm.size()),
                    Catch::Contains("root " + std::to_string(comm.size())) &&
                        Catch::Contains("is not a process"));
  // The last process builds a wider hidden layer: every process must refuse, none may hang.
  nn::Sequential unlike = make_model(1, comm.rank() == comm.size() - 1 ? 9 : 8);
  CHECK_THROWS_WITH(distributed::broadcast_parameters(unlike, 0),
                    Catch::Contains("different modules") && Catch::Contains("parameter values"));
}

TEST_CASE("allreduce_gradients leaves the mean gradient on every process", "[distributed]") {
  distributed::Communicator& comm = world();
  nn::Sequential model = make_model(1);
  std::vector<Var> params = model.parameters();
  // Process r's gradient of every parameter is r + 1; the last process has none for the last
  // bias (it counts as zeros).
  for (Var& p : params) {
    p.zero_grad();
    p.node()->accumulate_grad(full<float>(p.shape(), static_cast<float>(comm.rank() + 1)), "test");
  }
  if (comm.rank() == comm.size() - 1) params.back().zero_grad();
  distributed::allreduce_gradients(model);
  const float n = static_cast<float>(comm.size());
  const float mean = (n + 1) / 2;
  const float mean_without_last = (n - 1) / 2;  // (1 + ... + (n - 1)) / n
  for (std::size_t i = 0; i < params.size(); ++i) {
    const float expected = i + 1 == params.size() ? mean_without_last : mean;
    REQUIRE(params[i].has_grad());
    for (const float g : params[i].grad()) CHECK(g == Approx(expected));
  }
}
