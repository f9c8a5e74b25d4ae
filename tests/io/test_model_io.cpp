// Model files: round trips with bit-identical predictions and optimizer state, resuming
// training, the errors for truncated, corrupt, foreign and newer-version files, a save
// interrupted before its rename, history CSV, and the Dataset batch source.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "retrograd/data/synthetic.hpp"
#include "retrograd/io/dataset_source.hpp"
#include "retrograd/io/model_io.hpp"
#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/regularization.hpp"

using namespace retrograd;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("retrograd_test_io_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

/// Dense + BatchNorm + Dropout + an activation layer: every layer type the format knows.
nn::Sequential make_model(bool dropout, std::unique_ptr<nn::Optimizer> optimizer) {
  nn::manual_seed(7);
  nn::Sequential m;
  m.add(nn::Dense(2, 16, nn::Activation::linear()).set_regularizer({0.0, 1e-4}));
  m.add(nn::BatchNorm(16, 0.2, 1e-4));
  m.add(nn::ActivationLayer(nn::Activation::leaky_relu(0.05)));
  if (dropout) m.add(nn::Dropout(0.25));
  m.add(nn::Dense(16, 3, nn::Activation::linear()));
  m.compile(nn::Loss::categorical_cross_entropy(true), std::move(optimizer), {"accuracy"});
  return m;
}

nn::FitOptions quiet(std::size_t epochs) {
  nn::FitOptions o;
  o.epochs = epochs;
  o.batch_size = 16;
  o.verbose = 0;
  // One order for every fit() call, so that 1 + 1 epochs can equal 2.
  o.shuffle = false;
  return o;
}

bool identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), 4 * a.size()) == 0;
}

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

/// zlib's CRC-32 (reflected polynomial 0xEDB88320), bit by bit: tests re-seal edited files.
std::uint32_t crc32_bitwise(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

/// Rewrites the trailing checksum so that only the edited content is wrong.
void reseal(std::vector<std::uint8_t>& bytes) {
  const std::uint32_t crc = crc32_bitwise(bytes.data(), bytes.size() - 4);
  for (int i = 0; i < 4; ++i)
    bytes[bytes.size() - 4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
}

/// Offset just past the first occurrence of the length-prefixed string `s`.
std::size_t after_string(const std::vector<std::uint8_t>& bytes, const std::string& s) {
  const std::string needle = std::string(1, static_cast<char>(s.size())) + std::string(3, '\0') + s;
  const auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  REQUIRE(it != bytes.end());
  return static_cast<std::size_t>(it - bytes.begin()) + needle.size();
}

std::string load_error(const fs::path& p) {
  try {
    io::load_model(p.string());
  } catch (const io::ModelFileError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("a saved model predicts bit-identically after loading, optimizer state included") {
  const data::Dataset blobs = data::make_blobs(96, 3, 2, 1.0, 3);
  const io::DatasetSource source(blobs);
  nn::Sequential model = make_model(true, std::make_unique<nn::Adam>(0.01));
  model.fit(source, quiet(2));
  const fs::path path = temp_dir("roundtrip") / "model.rg";
  io::save_model(model, path.string());
  CHECK(std::distance(fs::directory_iterator(path.parent_path()), fs::directory_iterator()) == 1);

  nn::Sequential loaded = io::load_model(path.string());
  REQUIRE(loaded.size() == model.size());
  for (std::size_t i = 0; i < model.size(); ++i) {
    CHECK(loaded.layer(i).type() == model.layer(i).type());
    CHECK(loaded.layer(i).name() == model.layer(i).name());
  }
  const Tensor x = blobs.features();
  CHECK(identical(loaded.predict(x), model.predict(x)));

  const auto a = model.named_buffers();
  const auto b = loaded.named_buffers();
  REQUIRE(a.size() == 2);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(identical(*a[i].tensor, *b[i].tensor));

  REQUIRE(loaded.compiled());
  CHECK(loaded.optimizer().name() == "Adam");
  CHECK(loaded.optimizer().learning_rate() == model.optimizer().learning_rate());
  CHECK(loaded.optimizer().iterations() == model.optimizer().iterations());
  CHECK(loaded.loss().name() == model.loss().name());
  const auto sa = model.optimizer().state();
  const auto sb = loaded.optimizer().state();
  REQUIRE(sa.size() == sb.size());
  REQUIRE(!sa.empty());
  for (std::size_t i = 0; i < sa.size(); ++i) {
    CHECK(sa[i].name == sb[i].name);
    CHECK(identical(*sa[i].tensor, *sb[i].tensor));
  }
  CHECK(loaded.evaluate(source).at("accuracy") == model.evaluate(source).at("accuracy"));
}

TEST_CASE("training one epoch after loading equals training two epochs straight") {
  const data::Dataset blobs = data::make_blobs(64, 3, 2, 1.0, 5);
  const io::DatasetSource source(blobs);
  const Tensor x = blobs.features();
  auto check = [&](auto make_optimizer) {
    nn::Sequential straight = make_model(false, make_optimizer());
    straight.fit(source, quiet(2));

    nn::Sequential first = make_model(false, make_optimizer());
    first.fit(source, quiet(1));
    nn::Sequential resumed = io::deserialize_model(io::serialize_model(first));
    resumed.fit(source, quiet(1));
    CHECK(identical(resumed.predict(x), straight.predict(x)));
    CHECK(resumed.optimizer().iterations() == straight.optimizer().iterations());
  };
  SECTION("Adam") {
    check([] { return std::make_unique<nn::Adam>(0.01); });
  }
  SECTION("SGD with Nesterov momentum") {
    check([] { return std::make_unique<nn::SGD>(0.05, 0.9, true); });
  }
  SECTION("RMSProp") {
    check([] { return std::make_unique<nn::RMSProp>(0.01, 0.9, 1e-8, 0.5); });
  }
}

TEST_CASE("an uncompiled model round-trips without loss or optimizer") {
  nn::manual_seed(1);
  nn::Sequential model;
  model.add(nn::Dense(3, 2, nn::Activation::tanh()));
  nn::Sequential loaded = io::deserialize_model(io::serialize_model(model));
  CHECK_FALSE(loaded.compiled());
  const Tensor x = {{0.1f, -0.2f, 0.3f}};
  CHECK(identical(loaded.predict(x), model.predict(x)));
}

TEST_CASE("loading a damaged model file names the file and the problem") {
  const fs::path dir = temp_dir("damaged");
  const data::Dataset blobs = data::make_blobs(32, 3, 2, 1.0, 1);
  nn::Sequential model = make_model(false, std::make_unique<nn::SGD>(0.1, 0.9));
  model.fit(io::DatasetSource(blobs), quiet(1));
  const fs::path good = dir / "good.rg";
  io::save_model(model, good.string());
  const std::vector<std::uint8_t> bytes = read_bytes(good);
  const fs::path bad = dir / "bad.rg";

  SECTION("missing") {
    CHECK_THAT(load_error(dir / "nope.rg"),
               Catch::Contains("nope.rg") && Catch::Contains("cannot open"));
  }
  SECTION("empty") {
    write_bytes(bad, {});
    CHECK_THAT(load_error(bad), Catch::Contains("bad.rg: truncated: the file is empty"));
  }
  SECTION("truncated in the payload") {
    write_bytes(bad, {bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2)});
    CHECK_THAT(load_error(bad),
               Catch::Contains("bad.rg: truncated: the header announces") &&
                   Catch::Contains("the file has " + std::to_string(bytes.size() / 2)));
  }
  SECTION("truncated in the header") {
    write_bytes(bad, {bytes.begin(), bytes.begin() + 10});
    CHECK_THAT(load_error(bad), Catch::Contains("bad.rg: truncated: 10 bytes"));
  }
  SECTION("one flipped bit") {
    std::vector<std::uint8_t> flipped = bytes;
    flipped[flipped.size() / 2] ^= 0x10;
    write_bytes(bad, flipped);
    CHECK_THAT(load_error(bad), Catch::Contains("bad.rg: corrupt: checksum mismatch"));
  }
  SECTION("trailing bytes") {
    std::vector<std::uint8_t> longer = bytes;
    longer.push_back(0);
    write_bytes(bad, longer);
    CHECK_THAT(load_error(bad), Catch::Contains("1 unexpected bytes after the checksum"));
  }
  SECTION("foreign") {
    write_bytes(bad, {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    CHECK_THAT(load_error(bad), Catch::Contains("bad.rg: not a retrograd model file (bad magic: "
                                                "starts with bytes 504b0304"));
  }
  SECTION("newer version") {
    std::vector<std::uint8_t> newer = bytes;
    newer[8] = static_cast<std::uint8_t>(io::model_format_version + 1);
    write_bytes(bad, newer);
    CHECK_THAT(load_error(bad), Catch::Contains("bad.rg: format version " +
                                                std::to_string(io::model_format_version + 1) +
                                                " is newer than this library reads (up to " +
                                                std::to_string(io::model_format_version) + ")"));
  }
}

TEST_CASE("a model file with a valid checksum but inconsistent content is a clear error") {
  nn::Sequential model;
  model.add(nn::Dense(2, 3));
  model.add(nn::Dropout(0.25));
  const std::vector<std::uint8_t> bytes = io::serialize_model(model);
  REQUIRE(io::deserialize_model(bytes, "ok.rg").size() == 2);

  SECTION("a bias that does not match its weights") {
    std::vector<std::uint8_t> edited = bytes;
    // W's dimensions [2, 3] become [3, 2]: the same bytes, a layer whose b should have 2.
    const std::size_t dims = after_string(edited, "W") + 2;  // past the tag and the rank
    edited[dims] = 3;
    edited[dims + 8] = 2;
    reseal(edited);
    CHECK_THROWS_WITH(io::deserialize_model(edited, "edited.rg"),
                      Catch::Contains("edited.rg: corrupt: layer 'dense_0' (Dense) tensors, "
                                      "record at byte offset") &&
                          Catch::Contains("tensor 'b' has shape [3], the layer needs [2]"));
  }
  SECTION("a setting out of range") {
    std::vector<std::uint8_t> edited = bytes;
    const double rate = 1.5;
    std::memcpy(&edited[after_string(edited, "rate") + 1], &rate, 8);  // little-endian host
    reseal(edited);
    CHECK_THROWS_WITH(io::deserialize_model(edited, "edited.rg"),
                      Catch::Contains("edited.rg: corrupt: layer 'dropout_1' (Dropout) config, "
                                      "record at byte offset") &&
                          Catch::Contains("invalid settings: Dropout: rate must be in [0, 1)"));
  }
  SECTION("a directory") {
    CHECK_THROWS_WITH(io::load_model(fs::temp_directory_path().string()),
                      Catch::Contains("is a directory, not a model file"));
  }
}

TEST_CASE("a save interrupted between write and rename leaves the previous file loadable") {
  const fs::path dir = temp_dir("interrupted");
  const fs::path path = dir / "model.rg";
  const data::Dataset blobs = data::make_blobs(32, 3, 2, 1.0, 2);
  const Tensor x = blobs.features();
  nn::Sequential model = make_model(false, std::make_unique<nn::Adam>(0.01));
  io::save_model(model, path.string());
  const Tensor before = model.predict(x);

  model.fit(io::DatasetSource(blobs), quiet(1));
  io::SaveOptions crash;
  std::string temp;
  crash.before_rename = [&](const std::string& tmp) {
    // The complete new file waits next to the old model under its own name.
    CHECK(fs::path(tmp).parent_path() == dir);
    CHECK(fs::exists(tmp));
    temp = tmp;
    throw std::runtime_error("simulated crash");
  };
  CHECK_THROWS_WITH(io::save_model(model, path.string(), crash), "simulated crash");
  CHECK_FALSE(temp.empty());
  CHECK_FALSE(fs::exists(temp));
  CHECK(identical(io::load_model(path.string()).predict(x), before));

  // A half-written temporary file left by a killed process does not matter either: the next
  // save picks another name.
  std::ofstream(temp, std::ios::binary) << std::string(100, 'x');
  CHECK(identical(io::load_model(path.string()).predict(x), before));
  io::save_model(model, path.string());
  CHECK(fs::exists(temp));
  CHECK(identical(io::load_model(path.string()).predict(x), model.predict(x)));
}

TEST_CASE("save_model into a missing directory is a clear error") {
  nn::Sequential model;
  model.add(nn::Dense(1, 1));
  CHECK_THROWS_WITH(io::save_model(model, "/nonexistent-dir/model.rg"),
                    "/nonexistent-dir/model.rg: cannot create a temporary file in "
                    "/nonexistent-dir: No such file or directory");
}

TEST_CASE("history CSV has one row per epoch and only the measured columns") {
  const fs::path dir = temp_dir("history");
  nn::History h;
  h.loss = {0.5, 0.25};
  h.accuracy = {0.75, 0.875};
  io::save_history_csv(h, (dir / "h.csv").string());
  std::ifstream in(dir / "h.csv");
  std::stringstream s;
  s << in.rdbuf();
  CHECK(s.str() == "epoch,loss,accuracy\n1,0.5,0.75\n2,0.25,0.875\n");

  h.val_loss = {0.625, 0.375};
  h.val_accuracy = {0.5, 1.0};
  io::save_history_csv(h, (dir / "h.csv").string());
  std::ifstream again(dir / "h.csv");
  std::string header;
  std::getline(again, header);
  CHECK(header == "epoch,loss,accuracy,val_loss,val_accuracy");
  CHECK_THROWS_WITH(io::save_history_csv(h, "/nonexistent-dir/h.csv"),
                    Catch::Contains("/nonexistent-dir/h.csv: cannot create"));
}

TEST_CASE("DatasetSource scales byte samples per batch and writes one-hot targets") {
  const data::Dataset set = data::Dataset::from_bytes({0, 255, 51, 102, 204, 0}, {2}, {1, 0, 2});
  const io::DatasetSource source(set);
  CHECK(source.size() == 3);
  Tensor x, y;
  const std::size_t indices[] = {2, 0};
  source.fill_batch(indices, 2, x, y);
  REQUIRE(x.shape() == Shape{2, 2});
  CHECK(x(0, 0) == Approx(0.8));
  CHECK(x(0, 1) == 0.0f);
  CHECK(x(1, 0) == 0.0f);
  CHECK(x(1, 1) == Approx(1.0));
  const Tensor one_hot = {{0.f, 0.f, 1.f}, {0.f, 1.f, 0.f}};
  CHECK(identical(y, one_hot));
  const std::size_t past[] = {3};
  CHECK_THROWS_WITH(source.fill_batch(past, 1, x, y), Catch::Contains("index 3"));
  const Tensor features = zeros<float>({1, 1});
  const data::Dataset unlabelled(features);
  CHECK_THROWS_AS(io::DatasetSource(unlabelled), std::invalid_argument);
}
