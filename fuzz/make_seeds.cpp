// Writes the seed corpora of the fuzz targets (committed under fuzz/corpus/):
//   fuzz_make_seeds fuzz/corpus
// Rerun it when a format changes (a new model format version, say) and commit the result.

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <retrograd/retrograd.hpp>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace retrograd;

namespace {

void write(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

void write(const fs::path& path, const std::string& text) {
  write(path, std::vector<std::uint8_t>(text.begin(), text.end()));
}

void idx_seeds(const fs::path& dir) {
  data::IdxImages images;
  images.count = 3;
  images.rows = 4;
  images.cols = 2;
  for (std::size_t i = 0; i < 24; ++i) images.pixels.push_back(static_cast<std::uint8_t>(i * 11));
  data::write_idx_images((dir / "images").string(), images);
  data::write_idx_images((dir / "images.gz").string(), images);
  data::write_idx_labels((dir / "labels").string(), {0, 9, 4});
  data::write_idx_labels((dir / "labels.gz").string(), {1, 2, 3, 4, 5, 6, 7});
}

void csv_seeds(const fs::path& dir) {
  // The first byte chooses the options (fuzz_csv.cpp): bit 0 header, bits 1-2 delimiter
  // (tab , ; |), bits 3-4 label (last, first, none, named y), bit 5 class labels below 10.
  write(dir / "header_last", std::string("\x03") + "a,b,label\n1.5,-2,0\n3e2,+4,1\n");
  write(dir / "no_header", std::string("\x02") + "1,2,3\n4,5,6\n\n7,8,9\r\n");
  write(dir / "semicolons_first", std::string("\x0D") + "y;x1;x2\n1;0.5;0.25\n0;1e-3;-7\n");
  write(dir / "named_classes", std::string("\x3B") + "x,y,z\n1,2,3\n4,5,6\n");
  write(dir / "quoted_tabs", std::string("\x11") + "\"a\"\t\"b\"\n\"1\"\t 2 \n");
  write(dir / "bom", std::string("\x03") + "\xEF\xBB\xBF" + "x,label\n0.5,1\n");
}

std::vector<std::uint8_t> model_bytes(int variant) {
  nn::manual_seed(static_cast<std::uint64_t>(variant));
  nn::Sequential model;
  model.add(nn::Dense(3, 4, nn::Activation::relu()));
  if (variant == 1) model.add(nn::BatchNorm(4));
  if (variant == 2) model.add(nn::Dropout(0.25));
  if (variant == 3) model.add(nn::ActivationLayer(nn::Activation::tanh()));
  model.add(nn::Dense(4, 2, nn::Activation::linear()));
  switch (variant) {
    case 0:
      model.compile(nn::Loss::categorical_cross_entropy(true), nn::Adam(0.01));
      break;
    case 1:
      model.compile(nn::Loss::mse(), nn::SGD(0.1, 0.9));
      break;
    case 2:
      model.compile(nn::Loss::binary_cross_entropy(), nn::RMSProp(0.01));
      break;
    case 3:
      model.compile(nn::Loss::sparse_categorical_cross_entropy(), nn::Adagrad(0.1));
      break;
    default:
      break;  // saved without a loss
  }
  return io::serialize_model(model);
}

void model_seeds(const fs::path& dir) {
  for (int variant = 0; variant < 5; ++variant) {
    write(dir / ("model_" + std::to_string(variant) + ".rg"), model_bytes(variant));
  }
}

void onnx_seeds(const fs::path& dir) {
  for (int variant = 0; variant < 4; ++variant) {
    nn::manual_seed(static_cast<std::uint64_t>(variant));
    nn::Sequential model;
    if (variant == 0) model.add(nn::FeatureScaling({0, 1, 2}, {1, 0.5f, 0.25f}));
    model.add(nn::Dense(3, 4, nn::Activation::relu()));
    if (variant == 1) model.add(nn::BatchNorm(4));
    if (variant == 2) model.add(nn::Dropout(0.25));
    if (variant == 3) model.add(nn::ActivationLayer(nn::Activation::tanh()));
    model.add(nn::Dense(4, 2, variant == 2 ? nn::Activation::softmax() : nn::Activation::linear()));
    write(dir / ("model_" + std::to_string(variant) + ".onnx"),
          io::serialize_onnx(model, {13 + variant}));
  }
}

void expression_seeds(const fs::path& dir) {
  const std::vector<std::string> expressions = {
      "(x + y) * z",
      "max(x, y) * sigmoid(z) - pow(x, 2) / 4 + relu(-y) + min(x, 1)",
      "log(x * x + 1) - exp(-y / 10)",
      "tanh(abs(x - z)) / (1 + sigmoid(y))",
      "pow(y, 0.5) * -(-x)",
  };
  for (std::size_t i = 0; i < expressions.size(); ++i) {
    write(dir / ("expression_" + std::to_string(i)), expressions[i]);
  }
}

void gradient_seeds(const fs::path& dir) {
  // Random programs: 36 bytes of points, 6 of weights, a length, then 6 bytes per instruction.
  std::mt19937 engine(11);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int seed = 0; seed < 8; ++seed) {
    std::vector<std::uint8_t> bytes(36 + 6 + 1 + 6 * 12);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(byte(engine));
    bytes[42] = static_cast<std::uint8_t>(3 + seed);  // program length 4 to 11
    write(dir / ("program_" + std::to_string(seed)), bytes);
  }
  // One seed per case of every op of the op table: "OPTB", the row, the case, then values.
  const std::vector<OpRow>& table = op_table();
  for (std::size_t r = 0; r < table.size(); ++r) {
    for (std::size_t c = 0; c < table[r].checks.size(); ++c) {
      std::vector<std::uint8_t> bytes = {'O',
                                         'P',
                                         'T',
                                         'B',
                                         static_cast<std::uint8_t>(r & 255),
                                         static_cast<std::uint8_t>(r >> 8),
                                         static_cast<std::uint8_t>(c)};
      for (int k = 0; k < 96; ++k) bytes.push_back(static_cast<std::uint8_t>(byte(engine)));
      write(dir / ("op_" + std::string(table[r].name) + "_" + std::to_string(c)), bytes);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds CORPUS_DIR (fuzz/corpus)\n";
    return 2;
  }
  const fs::path root = argv[1];
  for (const char* target : {"idx", "csv", "model", "expression", "gradient", "onnx"}) {
    fs::create_directories(root / target);
  }
  idx_seeds(root / "idx");
  csv_seeds(root / "csv");
  model_seeds(root / "model");
  expression_seeds(root / "expression");
  gradient_seeds(root / "gradient");
  onnx_seeds(root / "onnx");
  std::cout << "seeds: " << root.string() << "\n";
  return 0;
}
