// retrograd evaluate: loss, accuracy, per-class accuracy and the confusion matrix of a saved
// model on labelled data.

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <optional>
#include <retrograd/data/mnist.hpp>
#include <retrograd/io/dataset_source.hpp>
#include <retrograd/io/model_io.hpp>

#include "cli_checks.hpp"
#include "cli_data.hpp"
#include "commands.hpp"

namespace retrograd::cli {

namespace {

struct EvaluateArgs {
  std::string model = "model.rg";
  DataArgs data{std::string(data::fashion_mnist_dir), "auto"};
  std::size_t batch_size = 256;
};

void run_evaluate(const EvaluateArgs& a) {
  nn::Sequential model = load_model_file(a.model);
  if (!model.compiled()) {
    throw UsageError(a.model +
                     ": the model was saved without a loss (not compiled); "
                     "evaluate needs one");
  }
  const std::size_t inputs = model.input_features();
  const std::size_t classes = model.output_shape({1, inputs})[1];
  DataArgs data_args = a.data;
  data_args.max_classes = classes;
  data_args.max_classes_reason =
      "the model " + a.model + " has " + std::to_string(classes) + " outputs";
  data_args.class_names = model.class_names();
  LoadedData loaded = load_data_for_model(data_args, inputs);
  data::Dataset& set = loaded.directory ? loaded.test : loaded.train;
  match_model_scaling(model, set);
  if (!set.has_labels()) {
    // An unlabelled file as wide as the model's input: its last column is a feature, not a label.
    throw UsageError("--data: " + a.data.path + " has no label column" +
                     (set.feature_count() == inputs
                          ? ": its " + std::to_string(inputs) + " columns are the model's " +
                                std::to_string(inputs) + " inputs"
                          : "") +
                     " (evaluate needs class labels: a last column of class ids, one column "
                     "more than the model's inputs, or name it with --label-column)");
  }
  if (set.feature_count() != inputs) {
    throw UsageError("--data: " + a.data.path + " has " + std::to_string(set.feature_count()) +
                     " features, the model " + a.model + " takes " + std::to_string(inputs));
  }
  if (set.num_classes() > classes) {
    throw UsageError("--data: " + a.data.path + " has " + std::to_string(set.num_classes()) +
                     " classes, the model predicts " + std::to_string(classes));
  }
  std::cout << "model: " << a.model << "\n"
            << "data: " << loaded.description << (loaded.directory ? ", test set" : "") << "\n";

  // evaluate() needs one-hot targets as wide as the model's output (class ids for a sparse
  // loss): a set that lacks the last classes is copied once with the model's class count.
  std::optional<data::Dataset> widened;
  if (set.num_classes() != classes) widened.emplace(set.features(), set.labels(), classes);
  const nn::Logs logs = model.evaluate(
      io::DatasetSource(widened ? *widened : set,
                        model.loss().sparse() ? io::Targets::class_ids : io::Targets::rows),
      a.batch_size);

  std::vector<std::vector<std::size_t>> confusion(classes, std::vector<std::size_t>(classes));
  data::Batch batch;
  for (std::size_t b = 0; b < set.batch_count(a.batch_size); ++b) {
    set.batch(b, a.batch_size, batch);
    const std::vector<int> predicted = argmax_rows(model.predict(batch.x, a.batch_size));
    for (std::size_t i = 0; i < batch.size; ++i)
      ++confusion[static_cast<std::size_t>(batch.labels[i])][predicted[i]];
  }
  std::size_t correct = 0;
  for (std::size_t k = 0; k < classes; ++k) correct += confusion[k][k];

  std::printf("loss: %.4f\n", logs.at("loss"));
  std::printf("accuracy: %.2f %% (%zu/%zu)\n", 100.0 * correct / set.size(), correct, set.size());
  const std::vector<std::string> names = model.class_names().size() == classes
                                             ? model.class_names()
                                             : guess_class_names(a.data, loaded.directory, classes);
  std::size_t width = 5;
  for (const auto& n : names) width = std::max(width, n.size());
  std::printf("\nper-class accuracy:\n");
  for (std::size_t k = 0; k < classes; ++k) {
    std::size_t total = 0;
    for (std::size_t p = 0; p < classes; ++p) total += confusion[k][p];
    if (total == 0) {
      std::printf("  %-*s      -  (0 samples)\n", static_cast<int>(width), names[k].c_str());
    } else {
      std::printf("  %-*s %6.2f %% (%zu/%zu)\n", static_cast<int>(width), names[k].c_str(),
                  100.0 * confusion[k][k] / total, confusion[k][k], total);
    }
  }
  std::printf("\nconfusion matrix (rows: true class, columns: predicted class):\n");
  std::printf("  %*s", static_cast<int>(width), "");
  for (std::size_t p = 0; p < classes; ++p) std::printf(" %6zu", p);
  std::printf("\n");
  for (std::size_t k = 0; k < classes; ++k) {
    std::printf("  %-*s", static_cast<int>(width), names[k].c_str());
    for (std::size_t p = 0; p < classes; ++p) std::printf(" %6zu", confusion[k][p]);
    std::printf("\n");
  }
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto a = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "evaluate", "Loss, accuracy, per-class accuracy and confusion matrix of a saved model");
  cmd->add_option("--model", a->model,
                  "Model file written by retrograd train or import, or an .onnx file")
      ->capture_default_str();
  add_data_options(cmd, a->data,
                   "Labelled data: an MNIST-format IDX directory (its t10k-* test files) or a "
                   "CSV file with a label column ('auto' label column: the last one when the "
                   "file is one column wider than the model's input; a file as wide as the "
                   "input has no labels and is an error)");
  cmd->add_option("--batch-size", a->batch_size, "Rows per forward pass")
      ->capture_default_str()
      ->check(whole_number(1, max_batch_size));
  cmd->callback([a] { run_evaluate(*a); });
}

}  // namespace retrograd::cli
