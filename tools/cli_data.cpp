#include "cli_data.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <retrograd/data/csv.hpp>
#include <retrograd/data/idx.hpp>
#include <retrograd/data/labels.hpp>
#include <retrograd/data/mnist.hpp>
#include <retrograd/nn/model.hpp>

#include "commands.hpp"

namespace retrograd::cli {

namespace {
std::optional<long> parse_label_column(const std::string& text) {
  if (text == "none") return std::nullopt;
  try {
    std::size_t used = 0;
    const long v = std::stol(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
    // Reported below with the flag's name.
  }
  throw UsageError("--label-column: expected an integer or 'none', got '" + text + "'");
}
}  // namespace

void add_data_options(CLI::App* cmd, DataArgs& args, const std::string& data_help) {
  cmd->add_option("--data", args.path, data_help)->capture_default_str();
  cmd->add_option("--label-column", args.label_column,
                  "CSV: 0-based column of the class label, negative counts from the end "
                  "(-1: last), or 'none'; evaluate and predict also take 'auto' (the last column "
                  "when the file is one column wider than the model's input, else none)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (text == "auto") return "";
            try {
              parse_label_column(text);
            } catch (const UsageError&) {
              return "expected an integer, 'none' or 'auto', got '" + text + "'";
            }
            return "";
          },
          "INT|none|auto"));
  cmd->add_flag("--no-header", args.no_header, "CSV: the first line is data, not column names");
  cmd->add_option("--delimiter", args.delimiter, "CSV: field separator")->capture_default_str();
  cmd->add_option("--max-line-bytes", args.max_line_bytes,
                  "CSV: the longest line read; a longer one (no line end) is refused")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

LoadedData load_data(const DataArgs& args) {
  namespace fs = std::filesystem;
  LoadedData out;
  if (args.path.empty()) throw UsageError("--data: no data given (an IDX directory or a CSV file)");
  if (!fs::exists(args.path)) {
    throw UsageError("--data: " + args.path +
                     " does not exist (expected an MNIST-format IDX "
                     "directory or a CSV file)");
  }
  if (fs::is_directory(args.path)) {
    data::Mnist m = data::load_mnist(args.path);
    out.train = std::move(m.train);
    out.test = std::move(m.test);
    out.directory = true;
    out.description = "IDX directory " + args.path + " (" + std::to_string(out.train.size()) +
                      " train, " + std::to_string(out.test.size()) + " test images)";
    return out;
  }
  if (const std::optional<std::uint32_t> magic = data::idx_magic(args.path)) {
    const std::string dir = fs::path(args.path).parent_path().string();
    throw UsageError("--data: " + args.path + " is an IDX file (" +
                     data::describe_idx_magic(*magic) +
                     "), not CSV; --data takes the directory that holds the IDX files "
                     "(train-images-idx3-ubyte, train-labels-idx1-ubyte and the t10k-* test "
                     "files, each raw or .gz): --data " +
                     (dir.empty() ? "." : dir));
  }
  data::CsvOptions options;
  options.header = !args.no_header;
  options.delimiter = args.delimiter;
  options.label_column = parse_label_column(args.label_column);
  options.max_classes = args.max_classes;
  options.max_classes_reason = args.max_classes_reason;
  options.max_line_bytes = args.max_line_bytes;
  options.class_names = args.class_names;
  data::CsvData csv = data::read_csv(args.path, options);
  out.class_names = csv.class_names;
  const std::size_t rows = csv.features.shape()[0];
  if (csv.has_labels()) {
    out.train = data::Dataset(std::move(csv.features),
                              data::to_labels(csv.labels, args.path + " label column"));
  } else {
    out.train = data::Dataset(std::move(csv.features));
  }
  out.description = "CSV " + args.path + " (" + std::to_string(rows) + " rows)";
  return out;
}

LoadedData load_data_for_model(const DataArgs& args, std::size_t inputs) {
  if (args.label_column != "auto") return load_data(args);
  DataArgs plain = args;
  plain.label_column = "none";
  DataArgs labelled = args;
  labelled.label_column = "-1";
  LoadedData loaded;
  try {
    loaded = load_data(plain);
  } catch (const data::CsvError&) {
    return load_data(labelled);  // a last column of class names is no feature
  }
  if (loaded.directory || loaded.train.feature_count() != inputs + 1) return loaded;
  return load_data(labelled);
}

std::vector<int> argmax_rows(const Tensor& predictions) {
  const std::size_t n = predictions.shape()[0];
  const std::size_t c = predictions.shape()[1];
  std::vector<int> out(n);
  const float* p = predictions.data();
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t best = 0;
    for (std::size_t k = 1; k < c; ++k) {
      if (p[i * c + k] > p[i * c + best]) best = k;
    }
    out[i] = static_cast<int>(best);
  }
  return out;
}

}  // namespace retrograd::cli

namespace retrograd::cli {

std::vector<std::string> guess_class_names(const DataArgs& data, bool directory,
                                           std::size_t classes) {
  std::string lower = data.path;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::vector<std::string> names;
  const bool fashion = directory && classes == 10 && lower.find("fashion") != std::string::npos;
  for (std::size_t k = 0; k < classes; ++k) {
    names.push_back(fashion ? std::to_string(k) + " " + data::fashion_mnist_classes()[k]
                            : std::to_string(k));
  }
  return names;
}

namespace {

// True when `first` scales its own input: a FeatureScaling, or a functional model whose
// input only FeatureScaling layers read.
bool scales_its_input(nn::Module& first) {
  auto* functional = dynamic_cast<nn::Model*>(&first);
  if (!functional) return first.type() == "FeatureScaling";
  const std::vector<nn::Module*> layers = functional->children();
  bool read = false;
  for (const nn::ModelStep& s : functional->steps()) {
    if (std::find(s.inputs.begin(), s.inputs.end(), functional->input_steps().front()) ==
        s.inputs.end()) {
      continue;
    }
    if (s.kind != "layer" || layers[s.layer]->type() != "FeatureScaling") return false;
    read = true;
  }
  return read;
}

}  // namespace

void match_model_scaling(nn::Sequential& model, data::Dataset& set) {
  if (model.size() > 0 && scales_its_input(model.layer(0))) {
    set.set_scaler(data::FeatureScaler::identity(set.feature_count()));
  }
  // A model that takes images gets each sample in its input shape ([n, 1, 28, 28]).
  if (model.input_shape().size() > 1) {
    try {
      set.set_batch_sample_shape(model.input_shape());
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--data: ") + e.what());
    }
  }
}

}  // namespace retrograd::cli
