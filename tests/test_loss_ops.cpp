// The fused loss ops: values and gradients against their unfused compositions, stability for
// large logits, and the messages for bad shapes and labels.

#include <cmath>

#include "test_helpers.hpp"

using namespace retrograd;
using retrograd::testing::require_gradcheck;

namespace {
TensorD logits_3x4() {
  TensorD z = TensorD::from_shape({3, 4});
  const double values[] = {0.3, -1.2, 2.0, 0.5, 1.1, 0.0, -0.7, 0.9, -2.0, 1.5, 0.2, -0.4};
  std::copy(std::begin(values), std::end(values), z.begin());
  return z;
}

TensorD soft_targets_3x4() {
  TensorD t = TensorD::from_shape({3, 4});
  const double values[] = {0, 0, 1, 0, 0.2, 0.3, 0.1, 0.4, 0, 1, 0, 0};
  std::copy(std::begin(values), std::end(values), t.begin());
  return t;
}

VarD unfused_softmax_ce(const VarD& z, const VarD& t) { return -mean(sum(t * log_softmax(z), 1)); }
}  // namespace

TEST_CASE("softmax_cross_entropy matches -mean(sum(t log_softmax(z)))", "[ops][loss]") {
  const VarD z(logits_3x4()), t(soft_targets_3x4());
  CHECK(softmax_cross_entropy(z, t).item() ==
        Approx(unfused_softmax_ce(z, t).item()).epsilon(1e-12));

  require_gradcheck([](const std::vector<VarD>& in) { return softmax_cross_entropy(in[0], in[1]); },
                    {logits_3x4(), soft_targets_3x4()});
  require_gradcheck([](const std::vector<VarD>& in) { return unfused_softmax_ce(in[0], in[1]); },
                    {logits_3x4(), soft_targets_3x4()});
}

TEST_CASE("sparse_softmax_cross_entropy equals the one-hot version", "[ops][loss]") {
  TensorD labels = {2, 3, 1};
  TensorD one_hot = zeros<double>({3, 4});
  for (std::size_t i = 0; i < 3; ++i) one_hot(i, static_cast<std::size_t>(labels(i))) = 1;
  const VarD z(logits_3x4());
  CHECK(sparse_softmax_cross_entropy(z, labels).item() ==
        Approx(softmax_cross_entropy(z, VarD(one_hot)).item()).epsilon(1e-12));

  require_gradcheck(
      [&](const std::vector<VarD>& in) { return sparse_softmax_cross_entropy(in[0], labels); },
      {logits_3x4()});

  SECTION("labels as a [n, 1] column") {
    TensorD column = labels;
    column.reshape({3, 1});
    CHECK(sparse_softmax_cross_entropy(z, column).item() ==
          Approx(sparse_softmax_cross_entropy(z, labels).item()));
  }
}

TEST_CASE("sigmoid_binary_cross_entropy matches its composition", "[ops][loss]") {
  TensorD z = {{0.3, -1.2}, {2.0, 0.5}, {-0.7, 0.9}};
  TensorD t = {{1.0, 0.0}, {1.0, 1.0}, {0.0, 0.3}};
  const auto unfused = [](const VarD& zv, const VarD& tv) {
    const VarD p = sigmoid(zv);
    return -mean(tv * log(p) + (1.0 - tv) * log(1.0 - p));
  };
  CHECK(sigmoid_binary_cross_entropy(VarD(z), VarD(t)).item() ==
        Approx(unfused(VarD(z), VarD(t)).item()).epsilon(1e-12));
  require_gradcheck(
      [](const std::vector<VarD>& in) { return sigmoid_binary_cross_entropy(in[0], in[1]); },
      {z, t});
  require_gradcheck([&](const std::vector<VarD>& in) { return unfused(in[0], in[1]); }, {z, t});
}

TEST_CASE("fused losses stay finite for large logits", "[ops][loss]") {
  Var z(Tensor{{1000.f, -1000.f}, {-500.f, 800.f}}, requires_grad);
  Var t(Tensor{{0.f, 1.f}, {1.f, 0.f}});
  const Var ce = softmax_cross_entropy(z, t);
  CHECK(ce.item() == Approx(1650.f));
  ce.backward();
  CHECK(std::isfinite(z.grad()(0, 0)));
  CHECK(z.grad()(0, 0) == Approx(0.5f));

  Var zb(Tensor{-200.f, 200.f, 0.f}, requires_grad);
  Var tb(Tensor{1.f, 1.f, 0.f});
  const Var bce = sigmoid_binary_cross_entropy(zb, tb);
  CHECK(bce.item() == Approx((200.f + 0.f + std::log(2.f)) / 3.f));
  bce.backward();
  CHECK(zb.grad()(0) == Approx(-1.f / 3.f));
}

TEST_CASE("fused losses reject bad shapes and labels", "[ops][loss]") {
  const Var z(Tensor::from_shape({4, 3}));
  REQUIRE_THROWS_WITH(softmax_cross_entropy(z, Var(Tensor::from_shape({4, 2}))),
                      Catch::Contains("softmax_cross_entropy") && Catch::Contains("[4, 2]") &&
                          Catch::Contains("[4, 3]"));
  REQUIRE_THROWS_WITH(sparse_softmax_cross_entropy(z, Tensor{0.f, 1.f, 3.f, 2.f}),
                      Catch::Contains("label 3 at row 2") && Catch::Contains("[0, 3)"));
  REQUIRE_THROWS_WITH(sparse_softmax_cross_entropy(z, Tensor{0.f, -1.f, 1.f, 2.f}),
                      Catch::Contains("label -1 at row 1"));
  REQUIRE_THROWS_WITH(sparse_softmax_cross_entropy(z, Tensor{0.f, 0.5f, 1.f, 2.f}),
                      Catch::Contains("label 0.5 at row 1"));
  REQUIRE_THROWS_WITH(sparse_softmax_cross_entropy(z, Tensor{0.f, 1.f}),
                      Catch::Contains("labels of shape [2]") && Catch::Contains("[4, 3]"));
  REQUIRE_THROWS_WITH(sparse_softmax_cross_entropy(Var(Tensor{1.f, 2.f}), Tensor{0.f}),
                      Catch::Contains("must be a non-empty [n, classes] matrix"));
  REQUIRE_THROWS_WITH(sigmoid_binary_cross_entropy(Var(Tensor{1.f, 2.f}), Var(Tensor{1.f})),
                      Catch::Contains("sigmoid_binary_cross_entropy") && Catch::Contains("[1]"));
}
