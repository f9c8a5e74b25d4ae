// Test helper of the .npz checks in Python (tests/tools/check_npz.py): prints a saved model's
// tensors as text, after loading (strictly) the weights of an .npz file when one is given.
//   weights_probe MODEL.rg OUT.txt [WEIGHTS.npz]
// OUT.txt has one line per parameter, then per buffer: name, rank, dimensions, values (%.9g,
// which a float32 survives exactly).

#include <fstream>
#include <iomanip>
#include <iostream>
#include <retrograd/io/model_io.hpp>
#include <retrograd/io/weights.hpp>

using namespace retrograd;

namespace {

void print(std::ostream& out, const std::string& name, const Tensor& t) {
  out << name << ' ' << t.dimension();
  for (std::size_t d : t.shape()) out << ' ' << d;
  for (float v : t) out << ' ' << v;
  out << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: weights_probe MODEL.rg OUT.txt [WEIGHTS.npz]\n";
    return 2;
  }
  try {
    nn::Sequential model = io::load_model(argv[1]);
    if (argc == 4) io::load_weights(model, argv[3]);
    std::ofstream out(argv[2]);
    out << std::setprecision(9);
    for (const auto& p : model.named_parameters()) print(out, p.name, p.var.value());
    for (const auto& b : model.named_buffers()) print(out, b.name, *b.tensor);
    out.close();
    if (!out) throw std::runtime_error(std::string(argv[2]) + ": write failed");
  } catch (const std::exception& e) {
    std::cerr << "weights_probe: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
