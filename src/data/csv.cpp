#include "retrograd/data/csv.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>

namespace retrograd::data {

namespace {

std::string location(const std::string& path, std::size_t line, std::size_t column) {
  std::string s = path;
  if (line) s += ":" + std::to_string(line);
  if (line && column) s += ":" + std::to_string(column);
  return s;
}

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  std::string t = s.substr(b, e - b);
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
  return t;
}

std::vector<std::string> split_fields(const std::string& line, char delimiter) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    if (c == delimiter && !quoted) {
      fields.push_back(trim(field));
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(trim(field));
  return fields;
}

bool blank(const std::string& line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

}  // namespace

CsvError::CsvError(const std::string& path, std::size_t line, std::size_t column,
                   const std::string& message)
    : std::runtime_error(location(path, line, column) + ": " + message),
      path_(path),
      line_(line),
      column_(column) {}

CsvData read_csv(const std::string& path, const CsvOptions& options) {
  errno = 0;
  std::ifstream in(path);
  if (!in) {
    throw CsvError(path, 0, 0,
                   std::string("cannot open file: ") + (errno ? std::strerror(errno) : "error"));
  }
  std::vector<std::string> names;
  std::size_t columns = 0;
  std::size_t label = 0;
  bool has_label = false;
  std::vector<float> feature_values, label_values;
  std::size_t rows = 0;

  auto pick_label = [&](std::size_t line_no) {
    if (!options.label_name.empty()) {
      if (!options.header) {
        throw CsvError(path, 0, 0, "label_name '" + options.label_name + "' needs a header");
      }
      for (std::size_t c = 0; c < names.size(); ++c) {
        if (names[c] == options.label_name) {
          label = c;
          has_label = true;
          return;
        }
      }
      throw CsvError(path, line_no, 0,
                     "no column named '" + options.label_name + "' in the header");
    }
    if (!options.label_column) return;
    const long c = *options.label_column;
    const long n = static_cast<long>(columns);
    if (c >= n || c < -n) {
      throw CsvError(path, line_no, 0,
                     "label column " + std::to_string(c) + " does not exist in " +
                         std::to_string(columns) + " column(s)");
    }
    label = static_cast<std::size_t>(c < 0 ? n + c : c);
    has_label = true;
  };

  std::string line;
  std::size_t line_no = 0;
  bool header_done = !options.header;
  while (std::getline(in, line)) {
    ++line_no;
    if (blank(line)) continue;
    std::vector<std::string> fields = split_fields(line, options.delimiter);
    if (!header_done) {
      names = fields;
      columns = fields.size();
      header_done = true;
      pick_label(line_no);
      continue;
    }
    if (columns == 0) {  // no header: the first data row fixes the column count
      columns = fields.size();
      for (std::size_t c = 0; c < columns; ++c) names.push_back("column " + std::to_string(c + 1));
      pick_label(line_no);
    }
    if (fields.size() != columns) {
      throw CsvError(path, line_no, std::min(fields.size(), columns) + 1,
                     "ragged row: " + std::to_string(fields.size()) + " field(s), expected " +
                         std::to_string(columns) + (options.header ? " (as in the header)" : ""));
    }
    for (std::size_t c = 0; c < columns; ++c) {
      const std::string& f = fields[c];
      const std::string col_name = "column '" + names[c] + "'";
      if (f.empty()) throw CsvError(path, line_no, c + 1, "missing value in " + col_name);
      float v = 0;
      const char* begin = f.data();
      const char* end = f.data() + f.size();
      if (*begin == '+') ++begin;  // from_chars does not accept a leading '+'
      const auto [ptr, ec] = std::from_chars(begin, end, v);
      if (ec == std::errc::result_out_of_range) {
        throw CsvError(path, line_no, c + 1,
                       "'" + f + "' in " + col_name + " is out of float range");
      }
      if (ec != std::errc() || ptr != end) {
        throw CsvError(path, line_no, c + 1, "'" + f + "' in " + col_name + " is not a number");
      }
      if (!std::isfinite(v)) {
        throw CsvError(path, line_no, c + 1, "'" + f + "' in " + col_name + " is not finite");
      }
      if (has_label && c == label) {
        label_values.push_back(v);
      } else {
        feature_values.push_back(v);
      }
    }
    ++rows;
  }
  if (in.bad()) throw CsvError(path, line_no, 0, "read error");
  if (rows == 0) {
    throw CsvError(path, 0, 0, columns ? "no data rows after the header" : "empty file");
  }

  CsvData out;
  out.labels = Tensor::from_shape({0});
  const std::size_t n_features = columns - (has_label ? 1 : 0);
  out.features = Tensor::from_shape({rows, n_features});
  std::copy(feature_values.begin(), feature_values.end(), out.features.data());
  for (std::size_t c = 0; c < columns; ++c) {
    if (has_label && c == label) {
      out.label_name = names[c].empty() ? "column " + std::to_string(c + 1) : names[c];
    } else {
      out.feature_names.push_back(names[c]);
    }
  }
  if (has_label) {
    out.labels = Tensor::from_shape({rows});
    std::copy(label_values.begin(), label_values.end(), out.labels.data());
  }
  return out;
}

}  // namespace retrograd::data
