#include "retrograd/io/weights.hpp"

#include <zip.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "retrograd/io/atomic_file.hpp"

namespace retrograd::io {

WeightsFileError::WeightsFileError(std::string path, std::string entry, const std::string& problem)
    : std::runtime_error(path + ": " + (entry.empty() ? "" : entry + ": ") + problem),
      path_(std::move(path)),
      entry_(std::move(entry)) {}

std::string WeightsReport::describe() const {
  std::string out;
  auto group = [&](const std::string& title, const std::vector<std::string>& items) {
    if (items.empty()) return;
    if (!out.empty()) out += "; ";
    out += title + ": ";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  };
  group("missing", missing);
  group("unexpected", unexpected);
  std::vector<std::string> shapes;
  for (const ShapeMismatch& m : mismatched) {
    shapes.push_back(m.name + " is " + shape_string(m.in_file) + " in the file, " +
                     shape_string(m.in_module) + " in the module");
  }
  group("wrong shape", shapes);
  return out;
}

WeightsMismatchError::WeightsMismatchError(std::string path, WeightsReport report)
    : WeightsFileError(std::move(path), "",
                       "does not match the module (" + report.describe() + ")"),
      report_(std::move(report)) {}

namespace {

constexpr char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
constexpr char npy_suffix[] = ".npy";
// 1980-01-01 12:00 UTC: the zip format's first day in every time zone. A fixed time makes two
// saves of the same weights byte-identical.
constexpr std::time_t fixed_mtime = 315576000;

/// The module's tensors by name, parameters first; two tensors with one name are an error
/// because the file could not tell them apart.
std::vector<std::pair<std::string, Tensor*>> named_tensors(nn::Module& module, const char* caller) {
  std::vector<std::pair<std::string, Tensor*>> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& name, Tensor* t) {
    if (!seen.insert(name).second) {
      throw std::invalid_argument(std::string(caller) + ": the module has two tensors named '" +
                                  name + "'");
    }
    out.emplace_back(name, t);
  };
  for (nn::NamedParameter<float>& p : module.named_parameters()) add(p.name, &p.var.value());
  for (const nn::NamedBuffer<float>& b : module.named_buffers()) add(b.name, b.tensor);
  return out;
}

std::string shape_tuple(const Shape& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return out + (shape.size() == 1 ? ",)" : ")");
}

/// A `.npy` file (format 1.0) of a float tensor, laid out as numpy writes it: the header is
/// padded with spaces so that the data starts at a multiple of 64 bytes.
std::vector<std::uint8_t> npy_bytes(const Tensor& t) {
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_tuple(t.shape()) + ", }";
  const std::size_t prefix = sizeof npy_magic + 2 + 2;
  header.append(63 - (prefix + header.size()) % 64, ' ');
  header += '\n';
  std::vector<std::uint8_t> out(npy_magic, npy_magic + sizeof npy_magic);
  out.insert(out.end(), {1, 0, static_cast<std::uint8_t>(header.size() & 0xff),
                         static_cast<std::uint8_t>(header.size() >> 8)});
  out.insert(out.end(), header.begin(), header.end());
  out.reserve(out.size() + 4 * t.size());
  const float* p = t.data();
  for (std::size_t i = 0; i < t.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &p[i], 4);
    for (int k = 0; k < 4; ++k) out.push_back(static_cast<std::uint8_t>(bits >> (8 * k)));
  }
  return out;
}

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
struct ZipSourceFree {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};

/// The whole archive in memory (libzip writes it into a buffer source).
std::vector<std::uint8_t> npz_bytes(const std::vector<std::pair<std::string, Tensor*>>& tensors,
                                    const std::string& path) {
  auto fail = [&](const std::string& what, zip_error_t* error) {
    throw WeightsFileError(path, "",
                           "cannot build the archive: " + what + ": " + zip_error_strerror(error));
  };
  zip_error_t error;
  zip_error_init(&error);
  std::unique_ptr<zip_source_t, ZipSourceFree> buffer(
      zip_source_buffer_create(nullptr, 0, 0, &error));
  if (!buffer) fail("buffer", &error);
  zip_t* archive = zip_open_from_source(buffer.get(), ZIP_TRUNCATE, &error);
  if (!archive) fail("open", &error);
  zip_source_keep(buffer.get());                  // the archive releases its reference when closed
  std::vector<std::vector<std::uint8_t>> arrays;  // must outlive zip_close(), which reads them
  arrays.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    arrays.push_back(npy_bytes(*tensor));
    zip_source_t* source =
        zip_source_buffer(archive, arrays.back().data(), arrays.back().size(), 0);
    const zip_int64_t index =
        source ? zip_file_add(archive, (name + npy_suffix).c_str(), source, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      if (source) zip_source_free(source);
      zip_error_t* e = zip_get_error(archive);
      const std::string why = std::string(name) + npy_suffix + ": " + zip_error_strerror(e);
      zip_discard(archive);
      throw WeightsFileError(path, "", "cannot build the archive: " + why);
    }
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
    zip_file_set_mtime(archive, static_cast<zip_uint64_t>(index), fixed_mtime, 0);
  }
  if (zip_close(archive) != 0) {
    const std::string why = zip_error_strerror(zip_get_error(archive));
    zip_discard(archive);
    throw WeightsFileError(path, "", "cannot build the archive: " + why);
  }
  zip_stat_t st;
  if (zip_source_stat(buffer.get(), &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
      zip_source_open(buffer.get()) != 0) {
    fail("read back", zip_source_error(buffer.get()));
  }
  std::vector<std::uint8_t> bytes(st.size);
  const zip_int64_t got = zip_source_read(buffer.get(), bytes.data(), bytes.size());
  zip_source_close(buffer.get());
  if (got != static_cast<zip_int64_t>(bytes.size()))
    fail("read back", zip_source_error(buffer.get()));
  return bytes;
}

/// What a `.npy` header says about its array.
struct NpyHeader {
  Shape shape;
  std::size_t item_size = 0;  // 4: '<f4', 8: '<f8'
  std::uint64_t data_offset = 0;
  std::uint64_t data_bytes = 0;
};

/// Parses the Python dict literal of a `.npy` header, as numpy writes it:
/// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path, const std::string& entry)
      : text_(text), path_(path), entry_(entry) {}

  /// Fills descr, fortran_order and shape; every key must appear once.
  void parse(std::string& descr, bool& fortran_order, Shape& shape) {
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::size_t key_at = pos_;
      const std::string key = string_literal();
      expect(':');
      if (key == "descr" && !has_descr) {
        descr = string_literal();
        has_descr = true;
      } else if (key == "fortran_order" && !has_order) {
        fortran_order = boolean();
        has_order = true;
      } else if (key == "shape" && !has_shape) {
        shape = tuple();
        has_shape = true;
      } else {
        fail("unexpected key '" + key + "'", key_at);
      }
      skip_space();
      if (peek() != ',') break;
      ++pos_;
    }
    expect('}');
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the header dict");
    if (!has_descr || !has_order || !has_shape) {
      fail("the header lacks '" +
           std::string(!has_descr   ? "descr"
                       : !has_order ? "fortran_order"
                                    : "shape") +
           "'");
    }
  }

 private:
  /// Arrays of more dimensions than numpy allows are refused.
  static constexpr std::size_t max_rank = 64;

  [[noreturn]] void fail(const std::string& what) const { fail(what, pos_); }
  [[noreturn]] void fail(const std::string& what, std::size_t at) const {
    throw WeightsFileError(
        path_, entry_, "bad .npy header: " + what + " (at header byte " + std::to_string(at) + ")");
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n')) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string s = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    fail("expected True or False");
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (shape.size() == max_rank) fail("more than " + std::to_string(max_rank) + " dimensions");
      shape.push_back(integer());
      skip_space();
      if (peek() != ',') break;
      ++pos_;
    }
    expect(')');
    return shape;
  }
  std::size_t integer() {
    if (peek() < '0' || peek() > '9') fail("expected a dimension");
    const std::size_t start = pos_;
    std::uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      if (__builtin_mul_overflow(v, 10u, &v) ||
          __builtin_add_overflow(v, static_cast<unsigned>(peek() - '0'), &v)) {
        fail("dimension too large", start);
      }
      ++pos_;
    }
    return static_cast<std::size_t>(v);
  }

  const std::string& text_;
  const std::string& path_;
  const std::string& entry_;
  std::size_t pos_ = 0;
};

/// One archive entry being read, with the size its directory claims.
class EntryReader {
 public:
  EntryReader(zip_t* archive, zip_uint64_t index, std::string path, std::string entry)
      : path_(std::move(path)), entry_(std::move(entry)) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive, index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
      fail(std::string("cannot read its size: ") + zip_strerror(archive));
    }
    size_ = st.size;
    file_.reset(zip_fopen_index(archive, index, 0));
    if (!file_) fail(std::string("cannot open: ") + zip_strerror(archive));
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw WeightsFileError(path_, entry_, what);
  }
  /// The uncompressed size the archive claims for this entry.
  std::uint64_t size() const { return size_; }
  /// Reads exactly `n` bytes (`what` names them in errors).
  void read(void* out, std::uint64_t n, const char* what) {
    const zip_int64_t got = zip_fread(file_.get(), out, n);
    if (got < 0) fail(std::string("cannot read ") + what + ": " + zip_file_strerror(file_.get()));
    if (static_cast<std::uint64_t>(got) != n) {
      fail(std::string("truncated: ") + what + " ends after " + std::to_string(got) + " of " +
           std::to_string(n) + " bytes");
    }
  }
  /// Checks that the entry has no byte left; reaching its end makes libzip verify its CRC.
  void expect_end() {
    char extra;
    const zip_int64_t got = zip_fread(file_.get(), &extra, 1);
    if (got < 0) fail(std::string("corrupt: ") + zip_file_strerror(file_.get()));
    if (got != 0) fail("corrupt: more bytes than its size");
  }

 private:
  std::string path_;
  std::string entry_;
  std::unique_ptr<zip_file_t, ZipFileClose> file_;
  std::uint64_t size_ = 0;
};

std::uint32_t little_endian(const std::uint8_t* p, int bytes) {
  std::uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

/// Reads and checks the header of a `.npy` entry: the sizes it implies must add up to exactly
/// the entry's size before the caller allocates anything for the data.
NpyHeader read_npy_header(EntryReader& in, const std::string& path, const std::string& entry) {
  constexpr std::size_t fixed = sizeof npy_magic + 2;
  if (in.size() < fixed + 2) {
    in.fail("not a .npy array: " + std::to_string(in.size()) + " bytes");
  }
  std::uint8_t start[fixed + 4];
  in.read(start, fixed + 2, "the .npy magic");
  if (std::memcmp(start, npy_magic, sizeof npy_magic) != 0) in.fail("not a .npy array (bad magic)");
  const int major = start[6], minor = start[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    in.fail(".npy format version " + std::to_string(major) + "." + std::to_string(minor) +
            " is not supported (1.0, 2.0, 3.0)");
  }
  std::uint64_t header_length = little_endian(start + fixed, 2);
  std::uint64_t prefix = fixed + 2;
  if (major > 1) {
    in.read(start + fixed + 2, 2, "the .npy header length");
    header_length = little_endian(start + fixed, 4);
    prefix += 2;
  }
  if (header_length > npy_header_budget) {
    in.fail("the .npy header claims " + std::to_string(header_length) +
            " bytes, more than the budget of " + std::to_string(npy_header_budget));
  }
  if (prefix + header_length > in.size()) {
    in.fail("truncated: the .npy header claims " + std::to_string(header_length) +
            " bytes, the entry holds " + std::to_string(in.size()));
  }
  std::string text(header_length, '\0');
  in.read(text.data(), header_length, "the .npy header");

  std::string descr;
  bool fortran_order = false;
  NpyHeader h;
  HeaderParser(text, path, entry).parse(descr, fortran_order, h.shape);
  if (descr == "<f4") {
    h.item_size = 4;
  } else if (descr == "<f8") {
    h.item_size = 8;
  } else {
    in.fail("dtype '" + descr + "' is not supported (float32 '<f4' or float64 '<f8')");
  }
  if (fortran_order) in.fail("Fortran-ordered arrays are not supported (save in C order)");
  std::uint64_t bytes = h.item_size;
  for (std::size_t d : h.shape) {
    if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(d), &bytes)) {
      in.fail("shape " + shape_string(h.shape) + " is too large");
    }
  }
  h.data_offset = prefix + header_length;
  h.data_bytes = bytes;
  if (in.size() - h.data_offset != bytes) {
    in.fail("the entry holds " + std::to_string(in.size() - h.data_offset) +
            " data bytes, its header (shape " + shape_string(h.shape) + ", '" + descr +
            "') needs " + std::to_string(bytes));
  }
  return h;
}

/// Reads the data of a checked entry into `out` (already of the header's shape), converting
/// '<f8' to float, in pieces so no buffer grows with the file.
void read_npy_data(EntryReader& in, const NpyHeader& h, Tensor& out) {
  constexpr std::size_t chunk_values = 8192;
  std::vector<std::uint8_t> chunk(chunk_values * h.item_size);
  float* dst = out.data();
  std::size_t left = out.size(), at = 0;
  while (left > 0) {
    const std::size_t n = std::min(left, chunk_values);
    in.read(chunk.data(), n * h.item_size, "the array data");
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t* p = chunk.data() + i * h.item_size;
      if (h.item_size == 4) {
        const std::uint32_t bits = little_endian(p, 4);
        std::memcpy(&dst[at + i], &bits, 4);
      } else {
        const std::uint64_t bits = little_endian(p, 4) | std::uint64_t{little_endian(p + 4, 4)}
                                                             << 32;
        double v;
        std::memcpy(&v, &bits, 8);
        if (std::isfinite(v) && std::fabs(v) > std::numeric_limits<float>::max()) {
          std::ostringstream value;
          value << v;
          in.fail("value " + value.str() + " at index " + std::to_string(at + i) +
                  " does not fit in float32");
        }
        dst[at + i] = static_cast<float>(v);
      }
    }
    left -= n;
    at += n;
  }
  in.expect_end();
}

std::unique_ptr<zip_t, ZipDiscard> open_archive(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw WeightsFileError(path, "", "is a directory, not an .npz file");
  }
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe)
      throw WeightsFileError(path, "", std::string("cannot open: ") + std::strerror(errno));
    if (probe.peek() == std::ifstream::traits_type::eof()) {
      throw WeightsFileError(path, "", "is empty, not an .npz file");
    }
  }
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (!archive) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    const std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    if (code == ZIP_ER_NOZIP) {
      throw WeightsFileError(path, "", "not an .npz file (not a zip archive)");
    }
    if (code == ZIP_ER_EXISTS) {  // ZIP_CHECKCONS refuses duplicate names
      throw WeightsFileError(path, "", "corrupt zip archive: two entries have the same name");
    }
    throw WeightsFileError(path, "", "corrupt zip archive: " + why);
  }
  return std::unique_ptr<zip_t, ZipDiscard>(archive);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void save_weights(nn::Module& module, const std::string& path) {
  const std::vector<std::uint8_t> bytes = npz_bytes(named_tensors(module, "save_weights"), path);
  write_file_atomically(path, bytes);
}

WeightsReport load_weights(nn::Module& module, const std::string& path, bool strict) {
  const std::vector<std::pair<std::string, Tensor*>> tensors =
      named_tensors(module, "load_weights");
  const auto archive = open_archive(path);
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);

  // Array name -> entry index. `listed` keeps the archive's order for the report: the array
  // name of a `.npy` entry (true), the whole name of any other entry (false).
  std::map<std::string, zip_uint64_t> arrays;
  std::vector<std::pair<std::string, bool>> listed;
  for (zip_int64_t i = 0; i < entries; ++i) {
    const char* raw = zip_get_name(archive.get(), static_cast<zip_uint64_t>(i), 0);
    if (!raw) throw WeightsFileError(path, "", "corrupt zip archive: an entry has no name");
    const std::string name = raw;
    if (!ends_with(name, npy_suffix)) {
      listed.emplace_back(name, false);
      continue;
    }
    const std::string array = name.substr(0, name.size() - (sizeof npy_suffix - 1));
    arrays.emplace(array, static_cast<zip_uint64_t>(i));
    listed.emplace_back(array, true);
  }

  // Every matching entry's header is checked before the strict verdict, so a corrupt file is
  // reported as such rather than as a mismatch.
  struct Match {
    Tensor* target;
    zip_uint64_t index;
  };
  WeightsReport report;
  std::vector<Match> matches;
  std::set<std::string> known;
  for (const auto& [name, tensor] : tensors) {
    known.insert(name);
    const auto found = arrays.find(name);
    if (found == arrays.end()) {
      report.missing.push_back(name);
      continue;
    }
    const std::string entry = name + npy_suffix;
    EntryReader in(archive.get(), found->second, path, entry);
    const NpyHeader h = read_npy_header(in, path, entry);
    if (h.shape != tensor->shape()) {
      report.mismatched.push_back({name, h.shape, tensor->shape()});
      continue;
    }
    matches.push_back({tensor, found->second});
  }
  for (const auto& [name, is_array] : listed) {
    if (!is_array || !known.count(name)) report.unexpected.push_back(name);
  }
  if (strict && !report.complete()) throw WeightsMismatchError(path, report);

  // Staged so that a corrupt entry found late leaves the module as it was.
  std::vector<Tensor> staged;
  staged.reserve(matches.size());
  for (const Match& m : matches) {
    const std::string entry = std::string(zip_get_name(archive.get(), m.index, 0));
    EntryReader in(archive.get(), m.index, path, entry);
    const NpyHeader h = read_npy_header(in, path, entry);
    staged.push_back(Tensor::from_shape(h.shape));
    read_npy_data(in, h, staged.back());
  }
  for (std::size_t i = 0; i < matches.size(); ++i) {
    std::copy(staged[i].data(), staged[i].data() + staged[i].size(), matches[i].target->data());
  }
  return report;
}

}  // namespace retrograd::io
