// ONNX export and import inside retrograd: round trips, each operator import reads, what is
// refused. The checks against onnx.checker, OpenCV and PyTorch run in tests/onnx.cmake; the
// damaged files in the bad-input suite.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <retrograd/io/atomic_file.hpp>
#include <retrograd/io/model_io.hpp>
#include <retrograd/io/onnx.hpp>
#include <retrograd/nn/layers.hpp>

#include "onnx_craft.hpp"

using namespace retrograd;
namespace craft = onnx_craft;

namespace {

Tensor random_input(std::size_t rows, std::size_t cols, float scale, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<float> u(0, scale);
  Tensor x = Tensor::from_shape({rows, cols});
  for (float& v : x) v = u(engine);
  return x;
}

float max_difference(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  float d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a.data()[i] - b.data()[i]));
  return d;
}

// Every layer type that exports, with running statistics that are not the initial ones.
nn::Sequential every_layer() {
  nn::Sequential m;
  m.add(nn::FeatureScaling({1, 2, 3, 4, 5, 6}, {0.5f, 0.25f, 1, 2, 0.1f, 1}));
  m.add(nn::Dense(6, 8, nn::Activation::relu(), nn::Initializer::he_uniform(), 1));
  m.add(nn::BatchNorm(8, 0.2, 1e-3));
  m.add(nn::Dropout(0.3, 2));
  m.add(nn::Dense(8, 7, nn::Activation::tanh(), nn::Initializer::glorot_uniform(), 3));
  m.add(nn::Dense(7, 6, nn::Activation::leaky_relu(0.2), nn::Initializer::glorot_uniform(), 4));
  m.add(nn::Dense(6, 5, nn::Activation::sigmoid(), nn::Initializer::glorot_uniform(), 5));
  m.add(nn::Dense(5, 4, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 6));
  m.add(nn::ActivationLayer(nn::Activation::softmax()));
  auto& bn = dynamic_cast<nn::BatchNorm&>(m.layer(2));
  for (const auto& b : bn.named_buffers()) {
    for (std::size_t j = 0; j < 8; ++j) {
      (*b.tensor)(j) = b.name == "running_mean" ? 0.1f * j : 0.5f + 0.2f * j;
    }
  }
  return m;
}

struct Scale : nn::Module {
  Scale() : nn::Module("scale") {}
  Var forward(const Var& x) override { return x * 2.0f; }
  std::string type() const override { return "Scale"; }
};

}  // namespace

TEST_CASE("onnx: every exportable layer round-trips through import", "[io][onnx]") {
  nn::Sequential model = every_layer();
  const Tensor x = random_input(20, 6, 10, 1);
  const Tensor expected = model.predict(x);
  for (std::int64_t opset = io::onnx_min_opset; opset <= io::onnx_max_opset; ++opset) {
    INFO("opset " << opset);
    const nn::Sequential back = io::deserialize_onnx(io::serialize_onnx(model, {opset}));
    // Dropout becomes Identity, which import drops; the softmax after the linear Dense becomes
    // that Dense's activation.
    std::vector<std::string> types;
    for (nn::Module* layer : const_cast<nn::Sequential&>(back).children()) {
      types.push_back(layer->type());
    }
    CHECK(types == std::vector<std::string>{"FeatureScaling", "Dense", "BatchNorm", "Dense",
                                            "Dense", "Dense", "Dense"});
    CHECK(dynamic_cast<const nn::Dense&>(*const_cast<nn::Sequential&>(back).children().back())
              .activation() == nn::Activation::softmax());
    CHECK(max_difference(back.predict(x), expected) < 1e-6f);
  }
}

TEST_CASE("onnx: weights keep their names and values", "[io][onnx]") {
  nn::Sequential model = every_layer();
  const auto bytes = io::serialize_onnx(model);
  const std::string text(bytes.begin(), bytes.end());
  for (const char* name : {"feature_scaling_0.offset", "dense_1.W", "dense_1.b",
                           "batch_norm_2.running_var", "dense_7.W"}) {
    CHECK(text.find(name) != std::string::npos);
  }
  nn::Sequential back = io::deserialize_onnx(bytes);
  const auto& original = dynamic_cast<nn::Dense&>(model.layer(1));
  const auto& imported = dynamic_cast<nn::Dense&>(back.layer(1));
  CHECK(imported.weight().value() == original.weight().value());
  CHECK(imported.bias().value() == original.bias().value());
  CHECK(imported.activation() == nn::Activation::relu());
}

TEST_CASE("onnx: a functional model round-trips as a functional model", "[io][onnx]") {
  auto x = nn::Input({6});
  nn::Layer scale = nn::FeatureScaling({0, 0, 0, 0, 0, 0}, {1, 2, 3, 4, 5, 6});
  nn::Layer d1 = nn::Dense(6, 6, nn::Activation::relu(), nn::Initializer::he_uniform(), 7);
  nn::Layer d2 = nn::Dense(12, 3, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 8);
  auto h = scale(x);
  h = nn::add(h, d1(h));
  h = nn::add(h, d1(h));  // shared: the exported graph reads one copy of its weights twice
  nn::Model model({x}, {d2(nn::concat({h, nn::multiply(h, h)}))});
  const auto bytes = io::serialize_onnx(model);
  const std::string text(bytes.begin(), bytes.end());
  CHECK(text.find("dense_1/Gemm_2") != std::string::npos);

  std::unique_ptr<nn::Module> back = io::deserialize_onnx_module(bytes);
  REQUIRE(back->type() == "Model");
  const Tensor input = random_input(9, 6, 1, 9);
  const Tensor expected = model.infer_tensor(input);
  CHECK(max_difference(back->infer_tensor(input), expected) < 1e-5f);
  // Import does not know the two calls shared a layer: each becomes a layer of its own; the
  // Sub and the Mul of the scaling become one FeatureScaling.
  CHECK(back->children().size() == 4);
  CHECK_THROWS_WITH(io::deserialize_onnx(bytes), Catch::Contains("io::import_onnx_module"));
  // A chain still comes back as a Sequential.
  nn::Sequential chain = every_layer();
  CHECK(io::deserialize_onnx_module(io::serialize_onnx(chain))->type() == "Sequential");
}

TEST_CASE("onnx: export refuses what has no ONNX form", "[io][onnx]") {
  nn::Sequential model;
  model.add(nn::Dense(3, 2));
  model.add(Scale());
  try {
    io::serialize_onnx(model);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("layer 'scale_1' of type Scale has no ONNX form"));
    CHECK_THAT(what, Catch::Contains(
                         "these export: Activation, AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, "
                         "FeatureScaling, Flatten, GlobalAvgPool2D, MaxPool2D, Model, Sequential"));
  }
  nn::Sequential ok;
  ok.add(nn::Dense(3, 2));
  CHECK_THROWS_WITH(io::serialize_onnx(ok, {12}), Catch::Contains("opset 12 is not supported"));
  CHECK_THROWS_WITH(io::serialize_onnx(ok, {18}), Catch::Contains("choose 13 to 17"));
  nn::Sequential empty;
  CHECK_THROWS_AS(io::serialize_onnx(empty), std::logic_error);
}

TEST_CASE("onnx: export_onnx writes atomically", "[io][onnx]") {
  nn::Sequential model;
  model.add(nn::Dense(3, 2, nn::Activation::relu()));
  const auto dir =
      std::filesystem::temp_directory_path() / ("retrograd_onnx_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "m.onnx").string();
  io::export_onnx(model, path);
  CHECK(io::import_onnx(path).size() == 1);
  CHECK_THROWS_AS(io::export_onnx(model, (dir / "no" / "m.onnx").string()), io::FileWriteError);
  std::filesystem::remove_all(dir);
}

TEST_CASE("onnx: import reads Gemm with its activation, and trains further", "[io][onnx]") {
  nn::Sequential m = io::deserialize_onnx(craft::model(craft::dense_graph()));
  REQUIRE(m.size() == 1);
  auto& dense = dynamic_cast<nn::Dense&>(m.layer(0));
  CHECK(dense.activation() == nn::Activation::relu());
  // 0 or 7.45e-9: the compiler may fuse the crafted weight's multiply and subtract.
  CHECK(dense.weight().value()(1, 2) == Approx(0.1f * 5 - 0.5f).margin(1e-7));
  CHECK(dense.bias().value()(2) == 0.5f);

  m.compile(nn::Loss::mse(), nn::SGD(0.05));
  const Tensor x = random_input(16, 4, 1, 2);
  const Tensor y = random_input(16, 3, 1, 3);
  const double before = m.evaluate(x, y).at("loss");
  nn::FitOptions options;
  options.epochs = 20;
  options.verbose = 0;
  m.fit(x, y, options);
  CHECK(m.evaluate(x, y).at("loss") < before);
}

TEST_CASE("onnx: import reads each operator of its subset", "[io][onnx]") {
  using craft::node;
  using craft::tensor;
  const auto in = craft::value_info("x", {-1, 2});
  const std::vector<float> w = {1, 2, 3, 4, 5, 6};  // [2, 3] or, transposed, [3, 2]
  auto import = [&](std::vector<craft::Msg> nodes, std::vector<craft::Msg> inits,
                    std::int64_t out_width) {
    return io::deserialize_onnx(craft::model(craft::graph(
        std::move(nodes), std::move(inits), {in}, {craft::value_info("y", {-1, out_width})})));
  };
  Tensor x = Tensor::from_shape({1, 2});
  x(0, 0) = 1;
  x(0, 1) = -2;

  SECTION("Gemm with transB, alpha and beta") {
    nn::Sequential m =
        import({node("Gemm", {"x", "B", "C"}, {"y"}, "g",
                     {craft::int_attribute("transB", 1), craft::float_attribute("alpha", 2),
                      craft::float_attribute("beta", 0.5f)})},
               {tensor("B", {3, 2}, w), tensor("C", {1, 3}, {2, 4, 6})}, 3);
    // y_j = 2 (x . B[j]) + 0.5 C_j: B rows (1, 2), (3, 4), (5, 6)
    const Tensor y = m.predict(x);
    CHECK(y(0, 0) == 2 * (1 - 4) + 1);
    CHECK(y(0, 1) == 2 * (3 - 8) + 2);
    CHECK(y(0, 2) == 2 * (5 - 12) + 3);
  }
  SECTION("MatMul then Add, then LeakyRelu") {
    nn::Sequential m =
        import({node("MatMul", {"x", "W"}, {"h"}, "mm"), node("Add", {"bias", "h"}, {"z"}, "add"),
                node("LeakyRelu", {"z"}, {"y"}, "lr", {craft::float_attribute("alpha", 0.5f)})},
               {tensor("W", {2, 3}, w), tensor("bias", {3}, {1, 1, 100})}, 3);
    REQUIRE(m.size() == 1);
    CHECK(dynamic_cast<nn::Dense&>(m.layer(0)).activation() == nn::Activation::leaky_relu(0.5));
    const Tensor y = m.predict(x);  // x W = (1 - 8, 2 - 10, 3 - 12) = (-7, -8, -9)
    CHECK(y(0, 0) == Approx(-3));
    CHECK(y(0, 1) == Approx(-3.5));
    CHECK(y(0, 2) == Approx(91));
  }
  SECTION("Sub and Mul by constants become one FeatureScaling; Div another") {
    nn::Sequential m =
        import({node("Sub", {"x", "o"}, {"a"}, "sub"), node("Mul", {"a", "s"}, {"b"}, "mul"),
                node("Div", {"b", "d"}, {"c"}, "div"), node("Identity", {"c"}, {"y"}, "id")},
               {tensor("o", {2}, {1, 2}), tensor("s", {1, 2}, {3, 4}), tensor("d", {}, {2})}, 2);
    REQUIRE(m.size() == 2);
    CHECK(m.layer(0).type() == "FeatureScaling");
    const Tensor y = m.predict(x);
    CHECK(y(0, 0) == 0);
    CHECK(y(0, 1) == -8);
  }
  SECTION("BatchNormalization, Dropout, Flatten, Softmax; a Constant node as a weight") {
    const auto constant = node("Constant", {}, {"k"}, "const");
    craft::Msg with_value = constant;
    with_value.msg(5, craft::Msg().str(1, "value").msg(5, tensor("", {2}, {0, 0})).varint(20, 4));
    nn::Sequential m = import(
        {with_value, node("Flatten", {"x"}, {"f"}, "flat"),
         node(
             "BatchNormalization", {"f", "g", "k", "mean", "var"}, {"n"}, "bn",
             {craft::float_attribute("epsilon", 1e-6f), craft::float_attribute("momentum", 0.75f)}),
         node("Dropout", {"n", "ratio"}, {"d", "mask"}, "drop"),
         node("Softmax", {"d"}, {"y"}, "softmax", {craft::int_attribute("axis", 1)})},
        {tensor("g", {2}, {1, 2}), tensor("mean", {2}, {1, 0}), tensor("var", {2}, {4, 1}),
         tensor("ratio", {}, {0.25f})},
        2);
    REQUIRE(m.size() == 3);
    auto& bn = dynamic_cast<nn::BatchNorm&>(m.layer(0));
    CHECK(bn.momentum() == Approx(0.25));
    CHECK(dynamic_cast<nn::Dropout&>(m.layer(1)).rate() == 0.25);
    CHECK(m.layer(2).type() == "Activation");
    // bn: ((1 - 1) / 2, -2 * 2) = (0, -4) (up to epsilon); softmax
    const Tensor y = m.predict(x);
    CHECK(y(0, 0) == Approx(1 / (1 + std::exp(-4.0))));
  }
  SECTION("an operator outside the subset is refused by name, listing the subset") {
    CHECK_THROWS_WITH(
        import({node("Relu", {"x"}, {"r"}, "relu"), node("Erf", {"r"}, {"y"}, "erf")}, {}, 2),
        Catch::Contains("node 'erf' (Erf) is not supported; import reads: Add") &&
            Catch::Contains("Gemm"));
  }
  SECTION("a branching graph is refused") {
    CHECK_THROWS_WITH(import({node("Relu", {"x"}, {"a"}, "r1"), node("Sigmoid", {"x"}, {"b"}, "r2"),
                              node("Mul", {"a", "b"}, {"y"}, "mul")},
                             {}, 2),
                      Catch::Contains("value 'x' feeds node 'r1' (Relu), node 'r2' (Sigmoid)"));
  }
}

TEST_CASE("onnx: a CNN round-trips as a Sequential of images, its padded AvgPool2D through a Pad",
          "[io][onnx]") {
  nn::Engine engine(1);
  nn::Sequential cnn;
  cnn.set_input_shape({2, 9, 9});
  cnn.add(
      nn::Conv2D(2, 4, 3, nn::Conv2DOptions{1, 1, 1, true}, nn::Initializer::he_uniform(), engine));
  cnn.add(nn::BatchNorm(4, 0.1, 1e-3));
  cnn.add(nn::ActivationLayer(nn::Activation::relu()));
  cnn.add(nn::MaxPool2D(2, 1, 1));
  cnn.add(nn::AvgPool2D(3, 2, 1));
  cnn.add(nn::Conv2D(4, 3, {2, 3}, nn::Conv2DOptions{{2, 1}, {0, 1}, 1, false},
                     nn::Initializer::he_uniform(), engine));
  cnn.add(nn::GlobalAvgPool2D());
  cnn.add(nn::Dense(3, 2, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 3));
  Tensor x = Tensor::from_shape({5, 2, 9, 9});
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(engine);
  const auto bytes = io::serialize_onnx(cnn);
  const std::string text(bytes.begin(), bytes.end());
  CHECK(text.find("avg_pool2d_4/Pad") != std::string::npos);

  nn::Sequential back = io::deserialize_onnx(bytes);
  CHECK(back.input_shape() == Shape{2, 9, 9});
  std::vector<std::string> types;
  for (nn::Module* layer : back.children()) types.push_back(layer->type());
  CHECK(types == std::vector<std::string>{"Conv2D", "BatchNorm", "Activation", "MaxPool2D",
                                          "AvgPool2D", "Conv2D", "GlobalAvgPool2D", "Dense"});
  const auto& pool = dynamic_cast<const nn::AvgPool2D&>(back.layer(4));
  CHECK(pool.padding().h == 1);
  CHECK(pool.stride().w == 2);
  const auto& conv = dynamic_cast<const nn::Conv2D&>(back.layer(5));
  CHECK(!conv.bias().defined());
  CHECK(conv.options().stride.h == 2);
  CHECK(conv.options().padding.w == 1);
  CHECK(max_difference(back.predict(x), cnn.predict(x)) < 1e-5f);
}

TEST_CASE("onnx: import joins feature maps along their channels, and only those", "[io][onnx]") {
  using craft::node;
  using craft::tensor;
  // x [N, 2, 4, 4]; a = Conv 1x1 to 3 channels; b = MaxPool 2x2 or x itself; y = Concat(a, b)
  const std::vector<float> w = {1, 0, 0, 1, 1, 1};
  auto import = [&](const std::string& b_op, std::int64_t axis) {
    std::vector<craft::Msg> nodes = {node("Conv", {"x", "W"}, {"a"}, "conv")};
    nodes.push_back(b_op == "MaxPool" ? node("MaxPool", {"x"}, {"b"}, "pool",
                                             {craft::ints_attribute("kernel_shape", {2, 2}),
                                              craft::ints_attribute("strides", {2, 2})})
                                      : node("Relu", {"x"}, {"b"}, "relu"));
    nodes.push_back(
        node("Concat", {"a", "b"}, {"y"}, "join", {craft::int_attribute("axis", axis)}));
    return io::deserialize_onnx_module(craft::model(craft::graph(
        std::move(nodes), {tensor("W", {3, 2, 1, 1}, w)}, {craft::value_info("x", {-1, 2, 4, 4})},
        {craft::value_info("y", {-1, 5, 4, 4})})));
  };
  Tensor x = Tensor::from_shape({1, 2, 4, 4});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i % 7) - 3;

  for (const std::int64_t axis : {1, -3}) {
    std::unique_ptr<nn::Module> m = import("Relu", axis);
    const Tensor y = m->forward(Var(x)).value();
    REQUIRE(y.shape() == Shape{1, 5, 4, 4});
    for (std::size_t p = 0; p < 16; ++p) {
      const float c0 = x.data()[p], c1 = x.data()[16 + p];
      CHECK(y.data()[p] == c0);                       // W row (1, 0)
      CHECK(y.data()[16 + p] == c1);                  // W row (0, 1)
      CHECK(y.data()[32 + p] == c0 + c1);             // W row (1, 1)
      CHECK(y.data()[48 + p] == std::max(c0, 0.0f));  // relu(x), channel 0
      CHECK(y.data()[64 + p] == std::max(c1, 0.0f));  // relu(x), channel 1
    }
  }
  CHECK_THROWS_WITH(import("MaxPool", 1),
                    Catch::Contains("node 'join' (Concat): parts of shapes [3, 4, 4], [2, 2, 2]: "
                                    "concat joins samples along their first axis"));
  CHECK_THROWS_WITH(import("Relu", 2),
                    Catch::Contains("node 'join' (Concat): import reads a Concat of computed "
                                    "values along axis 1 (features or channels)"));
}

TEST_CASE("onnx: grouped and depthwise convolutions export, import and save with their groups",
          "[io][onnx]") {
  nn::Sequential model;
  model.set_input_shape({4, 6, 6});
  nn::Conv2DOptions grouped;
  grouped.padding = 1;
  grouped.groups = 2;
  nn::Engine engine(1);
  model.add(nn::Conv2D(4, 6, 3, grouped, nn::Initializer::he_uniform(), engine));
  nn::Conv2DOptions depthwise;
  depthwise.groups = 6;
  model.add(nn::Conv2D(6, 6, 3, depthwise, nn::Initializer::he_uniform(), engine));
  Tensor x = Tensor::from_shape({3, 4, 6, 6});
  const Tensor rows = random_input(3, 4 * 6 * 6, 1, 3);
  std::copy(rows.begin(), rows.end(), x.begin());
  const Tensor expected = model.predict(x);

  nn::Sequential back = io::deserialize_onnx(io::serialize_onnx(model));
  const auto& first = dynamic_cast<const nn::Conv2D&>(back.layer(0));
  const auto& second = dynamic_cast<const nn::Conv2D&>(back.layer(1));
  CHECK(first.options().groups == 2);
  CHECK(first.weight().shape() == Shape{6, 2, 3, 3});
  CHECK(second.options().groups == 6);
  CHECK(max_difference(back.predict(x), expected) < 1e-6f);

  nn::Sequential loaded = io::deserialize_model(io::serialize_model(model));
  CHECK(dynamic_cast<const nn::Conv2D&>(loaded.layer(1)).options().groups == 6);
  const Tensor reloaded = loaded.predict(x);
  CHECK(std::equal(reloaded.begin(), reloaded.end(), expected.begin(), expected.end()));
}

TEST_CASE("onnx: a node the importer would fold into a layer must have an output", "[io][onnx]") {
  using craft::node;
  // Gemm then a Relu with no output: the fuzzer's finding (it read past the Relu's outputs).
  const craft::Msg g =
      craft::graph({node("Gemm", {"x", "B", "C"}, {"h"}, "gemm"), node("Relu", {"h"}, {}, "relu")},
                   {craft::tensor("B", {4, 3}, std::vector<float>(12, 0.5f)),
                    craft::tensor("C", {3}, {0, 0, 0})},
                   {craft::value_info("x", {-1, 4})}, {craft::value_info("h", {-1, 3})});
  CHECK_THROWS_WITH(io::deserialize_onnx_module(craft::model(g)),
                    Catch::Contains("node 'relu' (Relu) has no output"));
}
