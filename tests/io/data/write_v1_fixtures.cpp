// Wrote the model_v1_<optimizer>.rg fixtures with the round-1 library (commit 24d8411, the last
// to write format version 1); kept as the record of how they were made, not built by this tree.
// Built once against that commit's libraries (cmake -DRETROGRAD_BUILD_TESTS=OFF
// -DRETROGRAD_BUILD_TOOLS=OFF -DRETROGRAD_BUILD_EXAMPLES=OFF, then):
//   g++ -std=c++17 -O2 -march=native -DXTENSOR_USE_XSIMD -I<24d8411>/include
//     write_v1_fixtures.cpp <build>/libretrograd_{io,nn,data,core}.a -lopenblas -lz
// and run in tests/io/data (OPENBLAS_NUM_THREADS=1).
//
// Each model trains 5 epochs on v1_data.csv, is saved with its optimizer state, and then
// records its predictions (<name>_predictions.csv) and its predictions after one more
// full-batch step taken by the restored optimizer (<name>_resumed.csv).
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <memory>
#include <retrograd/retrograd.hpp>

using namespace retrograd;

namespace {

void write_predictions(const Tensor& p, const std::string& path) {
  std::ofstream out(path);
  out << std::setprecision(9);
  for (std::size_t i = 0; i < p.shape()[0]; ++i) {
    for (std::size_t j = 0; j < p.shape()[1]; ++j) out << (j ? "," : "") << p(i, j);
    out << "\n";
  }
}

void write_fixture(const std::string& name, std::unique_ptr<nn::Optimizer> optimizer) {
  const data::CsvData csv = data::read_csv("v1_data.csv");
  const Tensor x = csv.features;
  const Tensor y = data::one_hot(data::to_labels(csv.labels), 3);
  nn::Sequential model;
  model.add(nn::Dense(3, 6, nn::Activation::tanh(), nn::Initializer::glorot_uniform(), 7));
  model.add(nn::Dense(6, 3, nn::Activation::linear(), nn::Initializer::glorot_uniform(), 8));
  model.compile(nn::Loss::categorical_cross_entropy(true), std::move(optimizer), {"accuracy"});
  nn::FitOptions fit;
  fit.epochs = 5;
  fit.batch_size = 16;
  fit.verbose = 0;
  fit.seed = 11;
  model.fit(x, y, fit);
  io::save_model(model, "model_v1_" + name + ".rg");
  write_predictions(model.predict(x), "model_v1_" + name + "_predictions.csv");
  model.zero_grad();
  Var loss = model.compute_loss(model.forward(Var(x)), Var(y));
  loss.backward();
  model.optimizer().step();
  write_predictions(model.predict(x), "model_v1_" + name + "_resumed.csv");
}

}  // namespace

int main() {
  write_fixture("sgd", std::make_unique<nn::SGD>(0.1));
  write_fixture("momentum", std::make_unique<nn::SGD>(0.05, 0.9));
  write_fixture("nesterov", std::make_unique<nn::SGD>(0.05, 0.9, true));
  write_fixture("adam", std::make_unique<nn::Adam>(0.01));
  write_fixture("adamw", std::make_unique<nn::AdamW>(0.01, 0.9, 0.999, 1e-8, 0.01));
  write_fixture("adagrad", std::make_unique<nn::Adagrad>(0.1));
  write_fixture("rmsprop", std::make_unique<nn::RMSProp>(0.01, 0.9, 1e-8, 0.5));
}
