// DatasetSource: a Dataset as batches of one-hot rows or of class ids, for fit and evaluate.

#include "../test_helpers.hpp"

using namespace retrograd;
using retrograd::testing::TensorEquals;

TEST_CASE("DatasetSource writes one-hot rows or class ids", "[io][dataset_source]") {
  const data::Dataset set(Tensor{{0.f, 1.f}, {2.f, 3.f}, {4.f, 5.f}}, {2, 0, 1}, 3);
  const std::size_t indices[] = {2, 0};
  Tensor x, y;
  io::DatasetSource(set).fill_batch(indices, 2, x, y);
  CHECK_THAT(x, TensorEquals<float>(Tensor{{4.f, 5.f}, {0.f, 1.f}}));
  CHECK_THAT(y, TensorEquals<float>(Tensor{{0.f, 1.f, 0.f}, {0.f, 0.f, 1.f}}));

  const io::DatasetSource ids(set, io::Targets::class_ids);
  ids.fill_batch(indices, 2, x, y);
  CHECK_THAT(x, TensorEquals<float>(Tensor{{4.f, 5.f}, {0.f, 1.f}}));
  CHECK_THAT(y, TensorEquals<float>(Tensor{1.f, 2.f}));
  const std::size_t past[] = {3};
  REQUIRE_THROWS_WITH(ids.fill_batch(past, 1, x, y), Catch::Contains("index 3"));

  const data::Dataset regression(Tensor{{0.f, 1.f}}, Tensor{{0.5f, 1.5f}});
  REQUIRE_THROWS_WITH(io::DatasetSource(regression, io::Targets::class_ids),
                      Catch::Contains("class ids asked of a dataset without labels"));
}

TEST_CASE("a sparse loss trains on class ids from a DatasetSource", "[io][dataset_source]") {
  const data::Dataset blobs = data::make_blobs(60, 3, 2, 0.5, 7);
  nn::Sequential model;
  model.add(nn::Dense(2, 3, nn::Activation::linear(), nn::Initializer::glorot_uniform(),
                      std::uint64_t{2}));
  model.compile(nn::Loss::sparse_categorical_cross_entropy(true), nn::SGD(0.5), {"accuracy"});
  nn::FitOptions options;
  options.epochs = 20;
  options.batch_size = 10;
  options.seed = 1;
  options.verbose = 0;
  const io::DatasetSource source(blobs, io::Targets::class_ids);
  const nn::History history = model.fit(source, options);
  CHECK(history.accuracy.back() > 0.9);
  // The loss on the ids equals the categorical one on one-hot rows.
  const Tensor logits = model.predict(blobs.features());
  const double on_rows =
      nn::Loss::categorical_cross_entropy(true)(Var(logits), Var(data::one_hot(blobs.labels(), 3)))
          .item();
  CHECK(model.evaluate(source).at("loss") == Approx(on_rows).epsilon(1e-5));
}
