#pragma once
// Data loading shared by train, evaluate and predict: an MNIST-format IDX directory or a CSV
// file, chosen by what --data names.

#include <CLI/CLI.hpp>
#include <optional>
#include <retrograd/data/csv.hpp>
#include <retrograd/data/dataset.hpp>
#include <retrograd/nn/sequential.hpp>
#include <string>

#include "cli_checks.hpp"

namespace retrograd::cli {

/// The --data source and the flags that say how to read a CSV file.
struct DataArgs {
  /// An MNIST-format IDX directory or a CSV file.
  std::string path;
  /// CSV: 0-based label column, negative from the end, "none", or (for a model's data, see
  /// load_data_for_model) "auto".
  std::string label_column = "-1";
  /// CSV: the first line is data, not column names.
  bool no_header = false;
  /// CSV: field separator.
  char delimiter = ',';
  /// CSV: labels must be class ids below this (checked while reading, with line and column).
  std::size_t max_classes = cli::max_classes;
  /// Why `max_classes` is the bound, for that error.
  std::string max_classes_reason =
      "retrograd takes at most " + std::to_string(cli::max_classes) + " classes";
  /// CSV: the longest line read (--max-line-bytes).
  std::size_t max_line_bytes = data::CsvOptions().max_line_bytes;
  /// CSV: the model's class names, for a label column of names (empty: sorted names).
  std::vector<std::string> class_names{};
};

/// Adds --data and the CSV flags to `cmd`; `data_help` describes --data for this command.
void add_data_options(CLI::App* cmd, DataArgs& args, const std::string& data_help);

/// What --data held: for a directory its training and test sets, for a CSV file one set.
struct LoadedData {
  /// The training images of a directory, or the CSV rows.
  data::Dataset train;
  /// The test images of a directory; empty for a CSV file.
  data::Dataset test;
  /// True when --data was a directory (train and test are both set).
  bool directory = false;
  /// "Fashion-MNIST-format directory DIR (60000 train, 10000 test)" or "CSV FILE (150 rows)".
  std::string description;
  /// A CSV label column of names: the class names, in class-id order.
  std::vector<std::string> class_names{};
};

/// Reads --data. Throws UsageError for a missing path or an IDX file given instead of its
/// directory, and lets the readers' errors (which name file, line, offset) through.
LoadedData load_data(const DataArgs& args);

/// Reads --data for a model with `inputs` features. With --label-column auto a CSV file has a
/// label column only when it is one column wider than the model's input (the file train read);
/// a file exactly as wide has no labels.
LoadedData load_data_for_model(const DataArgs& args, std::size_t inputs);

/// Class ids of the rows of `predictions` ([n, classes]): the index of each row's maximum.
std::vector<int> argmax_rows(const Tensor& predictions);

/// Fashion-MNIST's class names ("0 T-shirt/top", ...) for a directory whose path says it holds
/// Fashion-MNIST; the class ids otherwise (plain MNIST has the same layout and ten classes).
std::vector<std::string> guess_class_names(const DataArgs& data, bool directory,
                                           std::size_t classes);

/// Makes `set` give the features `model` expects: raw, when the model scales its input itself
/// (a FeatureScaling first layer, as retrograd train makes since format version 2); the
/// loader's default scaling (pixels / 255) for older models. A model with an image input shape
/// gets each sample in that shape; UsageError when the rows do not hold one.
void match_model_scaling(nn::Sequential& model, data::Dataset& set);

}  // namespace retrograd::cli
