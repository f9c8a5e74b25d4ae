// Writes the small data sets the command-line tests train on, so they need no real data:
//   make_cli_fixtures OUT  ->  OUT/idx/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
//                              OUT/blobs.csv (x1,x2,label; 3 classes)
// The IDX images are 6 x 6: class k lights row band k, with seeded noise, so a small MLP learns
// them in a few epochs. Only classes 0-2 occur; the IDX loader still counts 10 (MNIST's layout).

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <retrograd/data/idx.hpp>
#include <retrograd/data/synthetic.hpp>

using namespace retrograd;

namespace {

void write_idx_split(const std::filesystem::path& dir, const std::string& prefix, std::size_t count,
                     std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_int_distribution<int> noise(0, 80);
  data::IdxImages images;
  images.count = count;
  images.rows = 6;
  images.cols = 6;
  images.pixels.resize(count * 36);
  std::vector<std::uint8_t> labels(count);
  for (std::size_t i = 0; i < count; ++i) {
    labels[i] = static_cast<std::uint8_t>(i % 3);
    for (std::size_t p = 0; p < 36; ++p) {
      const bool lit = p / 12 == labels[i];
      images.pixels[i * 36 + p] = static_cast<std::uint8_t>((lit ? 170 : 0) + noise(engine));
    }
  }
  data::write_idx_images((dir / (prefix + "-images-idx3-ubyte.gz")).string(), images);
  data::write_idx_labels((dir / (prefix + "-labels-idx1-ubyte.gz")).string(), labels);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_cli_fixtures OUT_DIR\n";
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out / "idx");
  write_idx_split(out / "idx", "train", 300, 1);
  write_idx_split(out / "idx", "t10k", 60, 2);

  const data::Dataset blobs = data::make_blobs(150, 3, 2, 0.5, 4);
  const Tensor x = blobs.features();
  std::ofstream csv(out / "blobs.csv");
  csv << "x1,x2,label\n";
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    csv << x(i, 0) << "," << x(i, 1) << "," << blobs.labels()[i] << "\n";
  }
  std::ofstream features(out / "features.csv");
  features << "x1,x2\n";
  for (std::size_t i = 0; i < 5; ++i) features << x(i, 0) << "," << x(i, 1) << "\n";
  std::cout << "fixtures: " << out.string() << "\n";
  return 0;
}
