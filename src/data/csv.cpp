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

/// Reads lines of at most `limit` bytes, in blocks: a line with no end (/dev/zero, a file of
/// one 1 GB line, an endless pipe) costs `limit` bytes of memory and is refused, where
/// std::getline would keep reading until memory runs out.
class LineReader {
 public:
  LineReader(std::istream& in, std::size_t limit) : in_(in), limit_(limit) {}
  enum class Status { line, end, too_long };
  /// The next line, without its '\n'.
  Status next(std::string& line) {
    line.clear();
    bool started = false;
    for (;;) {
      if (pos_ == size_ && !refill()) return started ? Status::line : Status::end;
      started = true;
      const char* begin = buffer_.data() + pos_;
      const void* found = std::memchr(begin, '\n', size_ - pos_);
      const std::size_t take = found ? static_cast<const char*>(found) - begin : size_ - pos_;
      if (line.size() + take > limit_) return Status::too_long;
      line.append(begin, take);
      pos_ += take;
      if (found) {
        ++pos_;
        return Status::line;
      }
    }
  }

 private:
  bool refill() {
    in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    size_ = static_cast<std::size_t>(in_.gcount());
    pos_ = 0;
    return size_ > 0;
  }
  std::istream& in_;
  std::size_t limit_;
  std::vector<char> buffer_ = std::vector<char>(std::size_t(1) << 16);
  std::size_t pos_ = 0, size_ = 0;
};

/// Whether a label column whose first label is `field` holds class names: a field that is no
/// number and starts with a letter ("setosa", "Iris-setosa"); "+-2" or "2x" stay malformed
/// numbers, and "nan" a number that is not finite.
bool class_name(const std::string& field) {
  float v = 0;
  const unsigned char first = static_cast<unsigned char>(field[0]);
  return parse_float(field, v) != Number::ok &&
         ((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first >= 0x80);
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
  std::vector<std::string> class_names;
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
  LineReader lines(in, options.max_line_bytes);
  // Label column of class names (CsvOptions::class_names): each row's position in `seen`.
  const bool given_names = !options.class_names.empty();
  std::optional<bool> named_labels;
  std::vector<std::string> seen = options.class_names;
  std::vector<std::size_t> name_of_row;
  for (;;) {
    const LineReader::Status status = lines.next(line);
    if (status == LineReader::Status::end) break;
    ++line_no;
    if (status == LineReader::Status::too_long) {
      throw CsvError(path, line_no, 0,
                     "line " + std::to_string(line_no) + " is longer than the limit of " +
                         std::to_string(options.max_line_bytes) +
                         " bytes (no line end within it: not CSV text, or a row wider than "
                         "the limit; raise CsvOptions::max_line_bytes, --max-line-bytes on the "
                         "command line)");
    }
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
      if (has_label && c == label) {
        if (!named_labels) named_labels = class_name(f);
        if (*named_labels) {
          const auto it = std::find(seen.begin(), seen.end(), f);
          if (it == seen.end() && given_names) {
            std::string known;
            for (const std::string& n : seen) known += (known.empty() ? "" : ", ") + quoted(n);
            throw CsvError(path, line_no, c + 1,
                           "label " + quoted(f) + " in " + col_name +
                               " is not one of the model's classes (" + known + ")");
          }
          name_of_row.push_back(static_cast<std::size_t>(it - seen.begin()));
          if (it == seen.end()) seen.push_back(f);
          continue;
        }
      }
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
  if (named_labels && *named_labels && rows > 0) {
    // Classes in sorted name order (unless given): the same names give the same ids in any
    // file, whatever order its rows come in.
    std::vector<std::size_t> id_of(seen.size());
    std::vector<std::string> classes = seen;
    if (!given_names) {
      std::sort(classes.begin(), classes.end());
      for (std::size_t k = 0; k < seen.size(); ++k) {
        id_of[k] = static_cast<std::size_t>(
            std::lower_bound(classes.begin(), classes.end(), seen[k]) - classes.begin());
      }
    } else {
      for (std::size_t k = 0; k < seen.size(); ++k) id_of[k] = k;
    }
    if (options.max_classes != 0 && classes.size() > options.max_classes) {
      const std::string reason =
          options.max_classes_reason.empty() ? "" : " (" + options.max_classes_reason + ")";
      throw CsvError(path, 0, 0,
                     "the label column names " + std::to_string(classes.size()) +
                         " classes, more than " + std::to_string(options.max_classes) + reason);
    }
    for (std::size_t row : name_of_row) label_values.push_back(static_cast<float>(id_of[row]));
    class_names = std::move(classes);
  }
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
    out.class_names = std::move(class_names);
  }
  return out;
}

}  // namespace retrograd::data
