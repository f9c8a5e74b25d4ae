#pragma once
/// @file csv.hpp
/// Reading numeric CSV files into feature tensors and labels.

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "retrograd/tensor.hpp"

namespace retrograd::data {

/// Thrown for an unreadable or malformed CSV file. `what()` reads
/// "<file>:<line>:<column>: <problem>" (line and column 1-based; column and line omitted when
/// they do not apply), and the parts are available separately.
class CsvError : public std::runtime_error {
 public:
  /// An error at `line`, `column` of `path` (0 for "not applicable").
  CsvError(const std::string& path, std::size_t line, std::size_t column,
           const std::string& message);
  /// The file.
  const std::string& path() const { return path_; }
  /// 1-based line, 0 if the error is not about one line.
  std::size_t line() const { return line_; }
  /// 1-based column (field number), 0 if the error is not about one field.
  std::size_t column() const { return column_; }

 private:
  std::string path_;
  std::size_t line_;
  std::size_t column_;
};

/// How to read a CSV file.
struct CsvOptions {
  /// The first line holds column names.
  bool header = true;
  /// Field separator (',' ';' tab ...).
  char delimiter = ',';
  /// 0-based column holding the label; negative counts from the end (-1: the last column);
  /// std::nullopt: no label, every column is a feature.
  std::optional<long> label_column = -1;
  /// If not empty, the label is the column with this header name (overrides label_column;
  /// requires `header`).
  std::string label_name;
  /// When not 0, the label column holds class ids: every label must be a whole number below
  /// `max_classes`, or read_csv throws naming its line and column (so that a bad label is
  /// found in the file, before any training, and a label of 1e6 cannot ask for a million
  /// classes). 0 accepts any finite value (regression targets).
  std::size_t max_classes = 0;
  /// Why `max_classes` is the bound, added to that error (e.g. "the model has 3 outputs").
  std::string max_classes_reason;
  /// The longest line read, in bytes: a longer one (a file with no line ends, /dev/zero, an
  /// endless pipe) is refused naming the line and this limit after reading at most this many
  /// bytes of it. The default is far above any real row (MNIST's 785 columns take 4 KB).
  std::size_t max_line_bytes = std::size_t(8) << 20;
  /// A label column whose first label is a name (no number, starting with a letter:
  /// "setosa") holds class names. Given here (a
  /// model's class_names(), in class-id order), every name must be one of them and takes its
  /// position as id; when empty, the classes are the column's distinct names, sorted.
  std::vector<std::string> class_names;
};

/// What read_csv() returns: the numeric table split into features and label.
struct CsvData {
  /// Feature columns, [rows, feature columns], as floats.
  Tensor features;
  /// The label column's values, [rows]; shape [0] when no label column was chosen. Convert
  /// class ids with to_labels() (labels.hpp), or use the values as regression targets.
  Tensor labels;
  /// Names of the feature columns (from the header, or "column 1", "column 2", ...).
  std::vector<std::string> feature_names;
  /// Name of the label column (empty when there is none).
  std::string label_name;
  /// When the label column held class names: the names, in class-id order (`labels` then
  /// holds each row's class id). Empty for numeric labels.
  std::vector<std::string> class_names;
  /// True when a label column was read.
  bool has_labels() const { return !label_name.empty(); }
};

/// Reads a numeric CSV file. Fields may be surrounded by spaces or double quotes; blank lines
/// are skipped; CR LF line ends and a UTF-8 byte-order mark are accepted. A number may start
/// with one '+'; one too small for a float reads as the nearest subnormal or zero. Throws
/// CsvError (naming file, line and column) for a missing file, a gzip or IDX file, an empty
/// file (or a header with no data rows), a missing (empty) field, a non-numeric, non-finite or
/// too large (above 3.4e38) field, a row with a different number of fields than the first, a
/// label column that does not exist or is the only column, a label that is not a class id
/// below `options.max_classes` (or, for class names, not one of `options.class_names`), or a
/// line longer than `options.max_line_bytes`. A label column whose first label is a name
/// holds class names (see CsvOptions::class_names and CsvData::class_names). Field text in
/// messages is quoted with control bytes escaped.
CsvData read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace retrograd::data
