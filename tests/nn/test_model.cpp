// Functional models: graphs of layer calls and merges (nn/model.hpp).

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <retrograd/io/model_io.hpp>
#include <retrograd/io/onnx.hpp>
#include <retrograd/nn/layers.hpp>
#include <sstream>

using namespace retrograd;

namespace {

Tensor random_rows(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> normal(0, 1);
  Tensor x = Tensor::from_shape({rows, cols});
  for (float& v : x) v = normal(engine);
  return x;
}

}  // namespace

TEST_CASE("model: summary columns stay apart for 4-d shapes and long names", "[nn][model]") {
  auto x = nn::Input({1, 28, 28});
  nn::Layer conv = nn::Conv2D(1, 16, 3, nn::Conv2DOptions{1, 1, 1, true});
  nn::Layer wide = nn::Conv2D(16, 1000, 1);
  auto y = nn::add(conv(x), conv(x));
  nn::Model model({x}, {wide(y)});
  const std::string summary = model.summary();
  // each column's text is followed by at least two spaces, whatever its length
  CHECK_THAT(summary, !Catch::Contains("(None, 16, 28, 28)160"));
  CHECK_THAT(summary, Catch::Contains("(None, 1000, 28, 28)  17000"));
  CHECK_THAT(summary, Catch::Contains("conv2d_0#2 (Conv2D)  "));
  std::istringstream lines(summary);
  std::string line, rule;
  std::getline(lines, line);
  std::getline(lines, rule);
  std::size_t longest = 0;
  while (std::getline(lines, line)) longest = std::max(longest, line.size());
  CHECK(rule.size() >= longest);  // the rules span the widest row
}

TEST_CASE("model: a residual block computes relu(x W1 + b1) W2 + b2 + x", "[nn][model]") {
  auto x = nn::Input({4});
  nn::Layer d1 = nn::Dense(4, 6, nn::Activation::relu(), nn::Initializer::glorot_uniform(), 1);
  nn::Layer d2 = nn::Dense(6, 4, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 2);
  auto y = nn::add(d2(d1(x)), x);
  nn::Model model({x}, {y});
  CHECK(model.children().size() == 2);
  CHECK(model.children()[0]->name() == "dense_0");
  CHECK(model.output_shape({5, 4}) == Shape{5, 4});

  const Tensor input = random_rows(5, 4, 3);
  const Var in(input);
  const auto& l1 = dynamic_cast<nn::Dense&>(d1.module());
  const auto& l2 = dynamic_cast<nn::Dense&>(d2.module());
  const Var expected =
      matmul(relu(matmul(in, l1.weight()) + l1.bias()), l2.weight()) + l2.bias() + in;
  const Tensor got = model.forward(in).value();
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got.data()[i] == Approx(expected.value().data()[i]).margin(1e-6));
  }
}

TEST_CASE("model: a layer called twice shares its weights and sums its gradients", "[nn][model]") {
  auto x = nn::Input({3});
  nn::Layer d = nn::Dense(3, 3, nn::Activation::tanh(), nn::Initializer::glorot_uniform(), 4);
  nn::Model model({x}, {d(d(x))});
  REQUIRE(model.named_parameters().size() == 2);  // one layer

  const Var in(random_rows(4, 3, 5));
  sum(model.forward(in)).backward();
  const Tensor model_grad = model.named_parameters()[0].var.grad();

  auto& layer = dynamic_cast<nn::Dense&>(d.module());
  layer.zero_grad();
  // The same computation by hand: both uses of W feed backward, which sums them.
  const Var h = tanh(matmul(in, layer.weight()) + layer.bias());
  sum(tanh(matmul(h, layer.weight()) + layer.bias())).backward();
  const Tensor& hand = layer.weight().grad();
  for (std::size_t i = 0; i < hand.size(); ++i) {
    CHECK(model_grad.data()[i] == Approx(hand.data()[i]).margin(1e-6));
  }
}

TEST_CASE("model: concat and multiply", "[nn][model]") {
  auto x = nn::Input({2});
  nn::Layer a = nn::Dense(2, 3, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 6);
  nn::Layer b = nn::Dense(2, 3, nn::Activation::sigmoid(), nn::Initializer::glorot_uniform(), 7);
  auto joined = nn::concat({a(x), nn::multiply(a(x), b(x))});
  CHECK(joined.shape() == Shape{6});
  nn::Model model({x}, {joined});
  const Var in(random_rows(3, 2, 8));
  const Tensor out = model.forward(in).value();
  const Tensor ya = a.module().forward(in).value();
  const Tensor yb = b.module().forward(in).value();
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t j = 0; j < 3; ++j) {
      CHECK(out(r, j) == Approx(ya(r, j)));
      CHECK(out(r, 3 + j) == Approx(ya(r, j) * yb(r, j)));
    }
  }
  CHECK_THROWS_WITH(nn::add(a(x), x), Catch::Contains("shapes [3] and [2] differ"));
  CHECK_THROWS_WITH(nn::Model({x, nn::Input({2})}, {joined}),
                    Catch::Contains("no output depends on input 1"));
  CHECK_THROWS_WITH(nn::Model({nn::Input({2})}, {joined}),
                    Catch::Contains("not among the model's inputs"));
}

TEST_CASE("model: concat joins feature maps along their channels", "[nn][model]") {
  auto x = nn::Input({2, 5, 5});
  nn::Layer wide = nn::Conv2D(2, 3, 3, nn::Conv2DOptions{1, 1, 1, true});
  nn::Layer narrow = nn::Conv2D(2, 1, 1);
  nn::Layer head = nn::Conv2D(4, 2, 3);
  auto joined = nn::concat({wide(x), narrow(x)});
  CHECK(joined.shape() == Shape{4, 5, 5});
  nn::Model model({x}, {head(joined)});
  CHECK(model.output_shape({6, 2, 5, 5}) == Shape{6, 2, 3, 3});

  const Tensor rows = random_rows(6, 50, 12);
  Tensor images = Tensor::from_shape({6, 2, 5, 5});
  std::copy(rows.begin(), rows.end(), images.begin());
  const Var in(images);
  // the same network by hand: channels 0-2 from `wide`, channel 3 from `narrow`
  const Var by_hand = head.module().forward(
      concat(std::vector<Var>{wide.module().forward(in), narrow.module().forward(in)}, 1));
  const Var out = model.forward(in);
  REQUIRE(out.shape() == by_hand.shape());
  for (std::size_t i = 0; i < out.value().size(); ++i) {
    CHECK(out.value().data()[i] == Approx(by_hand.value().data()[i]).margin(1e-6));
  }
  // each part's gradient is its channels' share: narrow's weights get one
  sum(out * out).backward();
  const auto& narrow_conv = dynamic_cast<nn::Conv2D&>(narrow.module());
  REQUIRE(narrow_conv.weight().has_grad());
  const Tensor model_grad = narrow_conv.weight().grad();
  model.zero_grad();
  sum(by_hand * by_hand).backward();
  for (std::size_t i = 0; i < model_grad.size(); ++i) {
    CHECK(model_grad.data()[i] == Approx(narrow_conv.weight().grad().data()[i]).margin(1e-5));
  }

  // saved and loaded, and through ONNX (Concat on axis 1) and back
  const auto bytes = io::serialize_model(model);
  std::unique_ptr<nn::Module> loaded = io::deserialize_module(bytes);
  const Tensor reloaded = loaded->forward(in).value();
  CHECK(std::equal(reloaded.begin(), reloaded.end(), out.value().begin(), out.value().end()));
  std::unique_ptr<nn::Module> imported = io::deserialize_onnx_module(io::serialize_onnx(model));
  const Tensor from_onnx = imported->forward(in).value();
  REQUIRE(from_onnx.shape() == out.shape());
  for (std::size_t i = 0; i < from_onnx.size(); ++i) {
    CHECK(from_onnx.data()[i] == Approx(out.value().data()[i]).margin(1e-6));
  }

  nn::Layer pool = nn::MaxPool2D(5);
  CHECK_THROWS_WITH(nn::concat({wide(x), pool(x)}),
                    Catch::Contains("nn::concat: parts of shapes [3, 5, 5], [2, 1, 1]: concat "
                                    "joins samples along their first axis, so the parts must "
                                    "agree on every other axis"));
  CHECK_THROWS_WITH(nn::concat({wide(x), nn::Input({3})}),
                    Catch::Contains("parts of shapes [3, 5, 5], [3]"));
}

TEST_CASE("model: saves and loads with its graph; summary shows inputs", "[nn][model]") {
  auto x = nn::Input({5});
  nn::Layer d1 = nn::Dense(5, 5, nn::Activation::relu(), nn::Initializer::he_uniform(), 9);
  nn::Layer bn = nn::BatchNorm(5);
  nn::Layer out = nn::Dense(10, 2, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 10);
  auto h = nn::add(bn(d1(x)), x);
  nn::Model model({x}, {out(nn::concat({h, d1(h)}))});
  const std::string summary = model.summary();
  CHECK_THAT(summary, Catch::Contains("dense_0#2 (Dense)"));
  CHECK_THAT(summary, Catch::Contains("add_3"));
  CHECK_THAT(summary, Catch::Contains("concat_5"));
  CHECK_THAT(summary, Catch::Contains("add_3, dense_0#2"));

  const Tensor input = random_rows(7, 5, 11);
  model.eval();
  const Tensor before = model.forward(Var(input)).value();
  const auto bytes = io::serialize_model(model);
  std::unique_ptr<nn::Module> loaded = io::deserialize_module(bytes);
  REQUIRE(loaded->type() == "Model");
  loaded->eval();
  const Tensor after = loaded->forward(Var(input)).value();
  CHECK(std::equal(after.begin(), after.end(), before.begin(), before.end()));
  CHECK(dynamic_cast<nn::Model&>(*loaded).summary() == summary);
}

TEST_CASE("model: trains with the Trainer", "[nn][model]") {
  auto x = nn::Input({2});
  nn::Layer d1 = nn::Dense(2, 8, nn::Activation::tanh(), nn::Initializer::glorot_uniform(), 12);
  nn::Layer d2 = nn::Dense(8, 2, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 13);
  nn::Model model({x}, {nn::add(d2(d1(x)), x)});
  const Tensor features = random_rows(64, 2, 14);
  Tensor targets = features;
  for (std::size_t r = 0; r < 64; ++r) targets(r, 0) += std::sin(features(r, 1));
  nn::TensorBatchSource data(features, targets);
  nn::SGD sgd(0.1);
  nn::FitOptions options;
  options.epochs = 30;
  options.batch_size = 16;
  options.seed = 1;
  options.verbose = 0;
  nn::Trainer trainer(model, nn::Loss::mse(), sgd, options);
  const nn::History history = trainer.fit(data);
  CHECK(history.loss.back() < 0.5 * history.loss.front());
}

TEST_CASE("model: two inputs and two outputs, one loss and one weight per output", "[nn][model]") {
  auto a = nn::Input({3});
  auto b = nn::Input({2, 2});  // rows of 4 values once packed
  nn::Layer da = nn::Dense(3, 4, nn::Activation::tanh(), nn::Initializer::glorot_uniform(), 21);
  nn::Layer flat = nn::Flatten();
  nn::Layer classes =
      nn::Dense(8, 3, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 22);
  nn::Layer value =
      nn::Dense(8, 1, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 23);
  auto h = nn::concat({da(a), flat(b)});
  nn::Model model({a, b}, {classes(h), value(h)});
  CHECK(model.input_features() == 7);
  CHECK(model.output_shape({5, 7}) == Shape{5, 4});
  const std::string summary = model.summary();
  CHECK_THAT(summary, Catch::Contains("input_0 (Input)"));
  CHECK_THAT(summary, Catch::Contains("input_1 (Input)"));
  CHECK_THAT(summary, Catch::Contains("Outputs (side by side): dense_2, dense_3"));

  const Tensor xa = random_rows(6, 3, 24);
  Tensor xb = random_rows(6, 4, 25);
  xb.reshape({6, 2, 2});
  const Tensor x = model.pack({xa, xb});
  REQUIRE(x.shape() == Shape{6, 7});
  CHECK(x(2, 1) == xa(2, 1));
  CHECK(x(4, 5) == xb(4, 1, 0));
  CHECK_THROWS_WITH(model.pack({xa}), Catch::Contains("pack of 1 tensors for 2 inputs"));

  // Targets side by side: class ids for the sparse loss (one column), then the value.
  Tensor y = Tensor::from_shape({6, 2});
  for (std::size_t r = 0; r < 6; ++r) {
    y(r, 0) = static_cast<float>(r % 3);
    y(r, 1) = xa(r, 0) - xb(r, 1, 1);
  }
  const nn::Loss sparse = nn::Loss::sparse_categorical_cross_entropy(true);
  const nn::Loss loss = model.loss({{sparse, 1.0}, {nn::Loss::mse(), 0.5}});
  CHECK(loss.name() == "per_output(sparse_categorical_cross_entropy(from_logits) * 1, mse * 0.5)");

  // The packed loss and its gradients are those of the two losses on the unpacked outputs.
  const Var packed = loss(model.forward(Var(x)), Var(y));
  packed.backward();
  std::vector<Tensor> grads;
  for (const Var& p : model.parameters()) grads.push_back(p.grad());
  model.zero_grad();
  const Var out = model.forward(Var(x));
  const std::vector<Tensor> parts = model.unpack(out.value());
  REQUIRE(parts.size() == 2);
  CHECK(parts[1].shape() == Shape{6, 1});
  Tensor ids = Tensor::from_shape({6, 1}), values = Tensor::from_shape({6, 1});
  for (std::size_t r = 0; r < 6; ++r) {
    ids(r, 0) = y(r, 0);
    values(r, 0) = y(r, 1);
  }
  const Var by_hand = sparse(slice(out, 1, 0, 3), Var(ids)) +
                      nn::Loss::mse()(slice(out, 1, 3, 4), Var(values)) * 0.5f;
  CHECK(packed.value()() == Approx(by_hand.value()()));
  by_hand.backward();
  const std::vector<Var> params = model.parameters();
  for (std::size_t k = 0; k < params.size(); ++k) {
    for (std::size_t i = 0; i < grads[k].size(); ++i) {
      CHECK(params[k].grad().data()[i] == Approx(grads[k].data()[i]).margin(1e-6));
    }
  }
  CHECK_THROWS_WITH(loss(out, Var(values)), Catch::Contains("it reads [n, 4] and [n, 2]"));

  // It trains with the Trainer on the packed rows, and saves and loads its graph.
  nn::TensorBatchSource data(x, y);
  nn::Adam adam(0.02);
  nn::FitOptions options;
  options.epochs = 40;
  options.batch_size = 6;
  options.verbose = 0;
  const nn::History history = nn::Trainer(model, loss, adam, options).fit(data);
  CHECK(history.loss.back() < 0.5 * history.loss.front());
  model.eval();
  std::unique_ptr<nn::Module> loaded = io::deserialize_module(io::serialize_model(model));
  auto& back = dynamic_cast<nn::Model&>(*loaded);
  CHECK(back.input_shapes() == model.input_shapes());
  CHECK(back.output_shapes() == model.output_shapes());
  CHECK(back.summary() == model.summary());
  const Tensor before = model.infer_tensor(x), after = back.infer_tensor(x);
  CHECK(std::equal(after.begin(), after.end(), before.begin(), before.end()));
  CHECK_THROWS_WITH(io::serialize_onnx(model),
                    Catch::Contains("has 2 inputs and 2 outputs; export writes models of one"));
}

TEST_CASE("model: inputs it cannot take are refused", "[nn][model]") {
  auto a = nn::Input({3});
  auto b = nn::Input({3});
  nn::Layer d = nn::Dense(3, 2);
  CHECK_THROWS_WITH(nn::Model({a}, {d(b)}), Catch::Contains("not among the model's inputs"));
  CHECK_THROWS_WITH(nn::Model({a, b}, {d(a)}), Catch::Contains("no output depends on input 1"));
  CHECK_THROWS_WITH(nn::Model({a, a}, {d(a)}), Catch::Contains("input 1 is listed twice"));
  CHECK_THROWS_WITH(nn::Model({a}, {}), Catch::Contains("at least one of each"));
}
