// retrograd predict: one prediction per row of a data set, from a saved model, with the class
// probabilities and the top k classes when asked (columns: docs/cli.md, "predict").

#include <algorithm>
#include <iostream>
#include <numeric>
#include <retrograd/data/mnist.hpp>
#include <retrograd/io/atomic_file.hpp>
#include <retrograd/io/model_io.hpp>
#include <sstream>

#include "cli_checks.hpp"
#include "cli_data.hpp"
#include "commands.hpp"
#include "output_path.hpp"

namespace retrograd::cli {

namespace {

struct PredictArgs {
  std::string model = "model.rg";
  DataArgs data{std::string(data::fashion_mnist_dir), "auto"};
  std::string output;
  std::size_t batch_size = 256;
  bool probabilities = false;
  std::size_t top_k = 0;
  bool overwrite = false;
};

/// What a model's outputs mean for the columns predict writes.
struct OutputKind {
  /// One output that is a value (a regression model, or a model saved without a loss).
  bool regression = false;
  /// One output that scores class 1 of 2 (binary cross-entropy with the accuracy metric).
  bool binary = false;
  /// Classes a row is predicted among.
  std::size_t classes = 0;
  /// A binary output above this is class 1 (0 for logits, 0.5 for a probability), as the
  /// accuracy metric counts it.
  float threshold = 0;
};

OutputKind output_kind(nn::Sequential& model) {
  const std::size_t outputs = model.output_shape({1, model.input_features()})[1];
  OutputKind kind;
  kind.binary = outputs == 1 && model.compiled() && model.measures_accuracy();
  kind.regression = outputs == 1 && !kind.binary;
  kind.classes = kind.binary ? 2 : outputs;
  kind.threshold = kind.binary && !model.loss().from_logits() ? 0.5f : 0.0f;
  return kind;
}

/// Throws UsageError, before any data is read, when the model has no class probabilities for
/// --probabilities or --top-k, or fewer classes than --top-k.
void check_probability_flags(const PredictArgs& a, nn::Sequential& model, const OutputKind& kind) {
  if (!a.probabilities && a.top_k == 0) return;
  const std::string flag = a.probabilities ? "--probabilities" : "--top-k";
  if (kind.regression) {
    throw UsageError(flag + ": the model " + a.model + " predicts a value per row (one output" +
                     (model.compiled() ? ", loss " + model.loss().name() : ", no loss") +
                     "), not classes");
  }
  try {
    // One row of zeros: the model's own error, when its loss gives no probabilities, comes
    // before any data is read.
    Tensor probe = Tensor::from_shape({1, model.input_features()});
    probe.fill(0);
    model.predict_proba(probe);
  } catch (const std::logic_error& e) {
    throw UsageError(flag + ": " + a.model + ": " + e.what());
  }
  if (a.top_k > kind.classes) {
    throw UsageError("--top-k " + std::to_string(a.top_k) + ": the model " + a.model + " has " +
                     std::to_string(kind.classes) + " classes");
  }
}

/// Row i's probability of each class: the row of predict_proba, or for a binary output P(0)
/// and P(1).
std::vector<float> class_probabilities(const Tensor& proba, std::size_t i, const OutputKind& kind) {
  if (kind.binary) return {1 - proba(i, 0), proba(i, 0)};
  return std::vector<float>(proba.data() + i * kind.classes, proba.data() + (i + 1) * kind.classes);
}

/// Row i's score of each class (the model's raw outputs), for the prediction and to order
/// classes whose probabilities round to the same float.
std::vector<float> class_scores(const Tensor& outputs, std::size_t i, const OutputKind& kind) {
  if (kind.binary) return {kind.threshold - outputs(i, 0), outputs(i, 0) - kind.threshold};
  return std::vector<float>(outputs.data() + i * kind.classes,
                            outputs.data() + (i + 1) * kind.classes);
}

std::string header(const PredictArgs& a, const OutputKind& kind) {
  std::string line = "row,prediction";
  if (a.probabilities) {
    for (std::size_t k = 0; k < kind.classes; ++k) line += ",p_" + std::to_string(k);
  }
  for (std::size_t r = 1; r <= a.top_k; ++r) {
    line += ",top_" + std::to_string(r) + ",p_top_" + std::to_string(r);
  }
  return line;
}

void run_predict(const PredictArgs& a) {
  check_output_path("--output", a.output, a.overwrite);
  nn::Sequential model = load_model_file(a.model);
  const OutputKind kind = output_kind(model);
  check_probability_flags(a, model, kind);
  const std::size_t inputs = model.input_features();
  DataArgs data_args = a.data;
  data_args.class_names = model.class_names();
  LoadedData loaded = load_data_for_model(data_args, inputs);
  data::Dataset& set = loaded.directory ? loaded.test : loaded.train;
  match_model_scaling(model, set);
  if (set.feature_count() != inputs) {
    throw UsageError("--data: " + a.data.path + " has " + std::to_string(set.feature_count()) +
                     " features, the model " + a.model + " takes " + std::to_string(inputs));
  }
  // A file gets the whole table at once, replaced atomically like every save.
  std::ostringstream file;
  std::ostream& out = a.output.empty() ? std::cout : file;
  out << header(a, kind) << "\n";
  const bool proba_columns = a.probabilities || a.top_k > 0;
  Tensor x;
  std::size_t row = 0;
  std::vector<std::size_t> order(kind.classes);
  // A class's name when the model was trained on named labels (a CSV of names), else its id.
  const std::vector<std::string>& names = model.class_names();
  const auto label = [&](std::ptrdiff_t c) {
    const auto k = static_cast<std::size_t>(c);
    return k < names.size() && !loaded.directory ? names[k] : std::to_string(k);
  };
  for (std::size_t b = 0; b < set.batch_count(a.batch_size); ++b) {
    const std::size_t rows = set.batch(b, a.batch_size, x);
    const Tensor outputs = model.predict(x, a.batch_size);
    if (kind.regression) {
      for (std::size_t i = 0; i < rows; ++i) out << row++ << "," << outputs(i, 0) << "\n";
      continue;
    }
    const Tensor proba = proba_columns ? model.predict_proba(x, a.batch_size) : Tensor();
    for (std::size_t i = 0; i < rows; ++i) {
      const std::vector<float> scores = class_scores(outputs, i, kind);
      out << row++ << "," << label(std::max_element(scores.begin(), scores.end()) - scores.begin());
      if (!proba_columns) {
        out << "\n";
        continue;
      }
      const std::vector<float> p = class_probabilities(proba, i, kind);
      if (a.probabilities) {
        for (float v : p) out << "," << v;
      }
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](std::size_t l, std::size_t r) {
        return p[l] != p[r] ? p[l] > p[r] : scores[l] > scores[r];
      });
      for (std::size_t r = 0; r < a.top_k; ++r) out << "," << label(order[r]) << "," << p[order[r]];
      out << "\n";
    }
  }
  if (!a.output.empty()) {
    const std::string text = std::move(file).str();
    io::write_file_atomically(a.output, text.data(), text.size());
    std::cout << "predictions: " << a.output << " (" << row << " rows)\n";
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand(
      "predict",
      "One prediction per row (the class id, or the value of a regression model), with class "
      "probabilities on request");
  cmd->add_option("--model", a->model,
                  "Model file written by retrograd train or import, or an .onnx file")
      ->capture_default_str();
  add_data_options(cmd, a->data,
                   "Rows to predict: an MNIST-format IDX directory (its t10k-* images) or a CSV "
                   "file ('auto' label column: dropped when the file is one column wider than "
                   "the model's input)");
  cmd->add_option("--output", a->output, "Write the predictions to this CSV file, not stdout");
  cmd->add_flag("--overwrite", a->overwrite, "Replace --output if it exists");
  cmd->add_option("--batch-size", a->batch_size, "Rows per forward pass")
      ->capture_default_str()
      ->check(whole_number(1, max_batch_size));
  cmd->add_flag("--probabilities", a->probabilities,
                "Add each class's probability, columns p_0 ... p_<C-1>: the softmax of the "
                "logits (the sigmoid for a single binary output, giving P(0) and P(1))");
  cmd->add_option("--top-k", a->top_k,
                  "Add the K most probable classes, most probable first, columns top_1, "
                  "p_top_1, ... top_K, p_top_K")
      ->check(whole_number(1, max_classes));
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace retrograd::cli
