#include "retrograd/data/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "retrograd/data/idx.hpp"

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

/// `text` quoted for a message: control bytes (a NUL would end the message) as \xNN, and at
/// most 40 characters of a long field.
std::string quoted(const std::string& text) {
  constexpr std::size_t most = 40;
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < most; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > most) out += "...";
  return out + "'";
}

enum class Number { ok, malformed, too_large };

/// Reads a whole field as a float: std::from_chars syntax after an optional '+'. A value too
/// small for a float becomes the nearest subnormal or zero (underflow loses nothing a float
/// could hold); one too large is an error.
Number parse_float(const std::string& field, float& value) {
  const char* begin = field.data();
  const char* end = begin + field.size();
  if (begin != end && *begin == '+') {
    ++begin;  // from_chars does not accept a leading '+'; "+-2" and "++2" stay malformed
    if (begin != end && (*begin == '+' || *begin == '-')) return Number::malformed;
  }
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ptr != end || ec == std::errc::invalid_argument) return Number::malformed;
  if (ec != std::errc::result_out_of_range) return Number::ok;
  double wide = 0;
  const auto [wide_end, wide_ec] = std::from_chars(begin, end, wide);
  if (wide_ec == std::errc()) {
    if (std::fabs(wide) >= 1) return Number::too_large;
    value = static_cast<float>(wide);
    return Number::ok;
  }
  // Beyond double too: a negative exponent means the value is tiny.
  const char* e = std::find_if(begin, end, [](char c) { return c == 'e' || c == 'E'; });
  if (e + 1 < end && e[1] == '-') {
    value = *begin == '-' ? -0.0f : 0.0f;
    return Number::ok;
  }
  return Number::too_large;
}

/// What a file that is not text is, from its first bytes; empty for anything else.
std::string binary_kind(const std::string& path, const std::string& first_line) {
  if (first_line.compare(0, 2, "\x1f\x8b") == 0) {
    const std::optional<std::uint32_t> magic = idx_magic(path);
    return magic ? "a gzip-compressed IDX file (" + describe_idx_magic(*magic) + ")"
                 : "gzip-compressed data (bytes 0x1F 0x8B at offset 0)";
  }
  if (first_line.compare(0, 2, std::string(2, '\0')) == 0) {
    if (const std::optional<std::uint32_t> magic = idx_magic(path)) {
      return "an IDX file (" + describe_idx_magic(*magic) + ")";
    }
  }
  return "";
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
    if (line_no == 1) {
      const std::string kind = binary_kind(path, line);
      if (!kind.empty()) throw CsvError(path, 0, 0, kind + ", not CSV text");
      // A UTF-8 byte-order mark (spreadsheets write one) is not part of the first field.
      if (line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    }
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
      const std::string col_name = "column " + quoted(names[c]);
      if (f.empty()) throw CsvError(path, line_no, c + 1, "missing value in " + col_name);
      float v = 0;
      const Number parsed = parse_float(f, v);
      if (parsed == Number::too_large) {
        throw CsvError(path, line_no, c + 1,
                       quoted(f) + " in " + col_name + " is out of float range (above 3.4e38)");
      }
      if (parsed == Number::malformed) {
        throw CsvError(path, line_no, c + 1, quoted(f) + " in " + col_name + " is not a number");
      }
      if (!std::isfinite(v)) {
        throw CsvError(path, line_no, c + 1, quoted(f) + " in " + col_name + " is not finite");
      }
      if (has_label && c == label && options.max_classes != 0 &&
          !(v >= 0 && v == std::floor(v) && v < static_cast<float>(options.max_classes))) {
        const std::string reason =
            options.max_classes_reason.empty() ? "" : " (" + options.max_classes_reason + ")";
        throw CsvError(path, line_no, c + 1,
                       "label " + quoted(f) + " in " + col_name +
                           " is not a class id: expected a whole number from 0 to " +
                           std::to_string(options.max_classes - 1) + reason);
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

  const std::size_t n_features = columns - (has_label ? 1 : 0);
  if (n_features == 0) {
    throw CsvError(
        path, 0, 0,
        "no feature columns: the only column, " + quoted(names[label]) + ", is the label");
  }
  CsvData out;
  out.labels = Tensor::from_shape({0});
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
