// retrograd predict: one prediction per row of a data set, from a saved model.

#include <fstream>
#include <iostream>
#include <retrograd/data/mnist.hpp>
#include <retrograd/io/model_io.hpp>

#include "cli_checks.hpp"
#include "cli_data.hpp"
#include "commands.hpp"

namespace retrograd::cli {

namespace {

struct PredictArgs {
  std::string model = "model.rg";
  DataArgs data{std::string(data::fashion_mnist_dir), "auto"};
  std::string output;
  std::size_t batch_size = 256;
};

void run_predict(const PredictArgs& a) {
  nn::Sequential model = load_model_file(a.model);
  const std::size_t inputs = model.input_features();
  LoadedData loaded = load_data_for_model(a.data, inputs);
  data::Dataset& set = loaded.directory ? loaded.test : loaded.train;
  match_model_scaling(model, set);
  if (set.feature_count() != inputs) {
    throw UsageError("--data: " + a.data.path + " has " + std::to_string(set.feature_count()) +
                     " features, the model " + a.model + " takes " + std::to_string(inputs));
  }
  std::ofstream file;
  if (!a.output.empty()) {
    file.open(a.output);
    if (!file) throw std::runtime_error(a.output + ": cannot create");
  }
  std::ostream& out = a.output.empty() ? std::cout : file;
  // A regression model (mse with one output) prints its value; a classifier its class id.
  const bool regression =
      model.compiled() && !model.measures_accuracy() && model.output_shape({1, inputs})[1] == 1;
  out << "row,prediction\n";
  Tensor x;
  std::size_t row = 0;
  for (std::size_t b = 0; b < set.batch_count(a.batch_size); ++b) {
    const std::size_t rows = set.batch(b, a.batch_size, x);
    const Tensor pred = model.predict(x, a.batch_size);
    if (regression) {
      for (std::size_t i = 0; i < rows; ++i) out << row++ << "," << pred(i, 0) << "\n";
    } else {
      for (int c : argmax_rows(pred)) out << row++ << "," << c << "\n";
    }
  }
  if (!a.output.empty()) {
    file.close();
    if (!file) throw std::runtime_error(a.output + ": write failed");
    std::cout << "predictions: " << a.output << " (" << row << " rows)\n";
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "One prediction per row (the class id, or the value of a regression model)");
  cmd->add_option("--model", a->model,
                  "Model file written by retrograd train or import, or an .onnx file")
      ->capture_default_str();
  add_data_options(cmd, a->data,
                   "Rows to predict: an MNIST-format IDX directory (its t10k-* images) or a CSV "
                   "file ('auto' label column: dropped when the file is one column wider than "
                   "the model's input)");
  cmd->add_option("--output", a->output, "Write the predictions to this CSV file, not stdout");
  cmd->add_option("--batch-size", a->batch_size, "Rows per forward pass")
      ->capture_default_str()
      ->check(whole_number(1, max_batch_size));
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace retrograd::cli
