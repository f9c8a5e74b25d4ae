// Weights as NumPy .npz: round trips (BatchNorm buffers included), the .npy layout numpy
// expects, strict loads listing every problem at once, non-strict reports, and corrupt,
// truncated and hostile files, loaded under an address-space limit that a loader allocating
// what a file claims would exceed.

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

#include "retrograd/io/weights.hpp"
#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/init.hpp"
#include "retrograd/nn/regularization.hpp"
#include "retrograd/nn/sequential.hpp"

using namespace retrograd;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("retrograd_test_weights_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_all(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

/// Dense(3, hidden, relu) -> BatchNorm(hidden) -> Dense(hidden, 2): parameters "dense_0.W",
/// "dense_0.b", "batch_norm_1.gamma", "batch_norm_1.beta", "dense_2.W", "dense_2.b" and buffers
/// "batch_norm_1.running_mean", "batch_norm_1.running_var".
nn::Sequential make_model(std::uint64_t seed, std::size_t hidden = 5) {
  nn::manual_seed(seed);
  nn::Sequential m;
  m.add(nn::Dense(3, hidden, nn::Activation::relu()));
  m.add(nn::BatchNorm(hidden));
  m.add(nn::Dense(hidden, 2));
  return m;
}

/// Gives every parameter and buffer distinct positive values (running variances must be > 0).
void fill_distinct(nn::Module& m, float offset) {
  float v = offset;
  for (auto& p : m.named_parameters()) {
    for (float& x : p.var.value()) x = (v += 0.125f);
  }
  for (auto& b : m.named_buffers()) {
    for (float& x : *b.tensor) x = (v += 0.125f);
  }
}

/// Every tensor of the module by name, copied.
std::map<std::string, Tensor> snapshot(nn::Module& m) {
  std::map<std::string, Tensor> out;
  for (auto& p : m.named_parameters()) out[p.name] = p.var.value();
  for (auto& b : m.named_buffers()) out[b.name] = *b.tensor;
  return out;
}

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.begin(), t.end()); }

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), 4 * a.size()) == 0;
}

/// A .npy file as numpy writes it, from its header fields; `data` is the raw data bytes.
std::string npy(const std::string& descr, const std::string& shape, const std::string& data,
                const std::string& fortran = "False", int major = 1) {
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  const std::size_t prefix = major == 1 ? 10 : 12;
  header.append(63 - (prefix + header.size()) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t n = header.size();
  for (std::size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

/// Little-endian bytes of floats, or of doubles.
template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

/// A zip archive with these entries (name, bytes), stored or deflated.
void write_zip(const fs::path& path,
               const std::vector<std::pair<std::string, std::string>>& entries,
               bool deflate = false) {
  int error = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  REQUIRE(z != nullptr);
  for (const auto& [name, bytes] : entries) {
    zip_source_t* s = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
    REQUIRE(s != nullptr);
    const zip_int64_t i = zip_file_add(z, name.c_str(), s, ZIP_FL_ENC_UTF_8);
    REQUIRE(i >= 0);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(i),
                             deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
  }
  REQUIRE(zip_close(z) == 0);
}

/// The entries of a zip archive, in order, with their bytes.
std::vector<std::pair<std::string, std::string>> read_zip(const fs::path& path) {
  int error = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error);
  REQUIRE(z != nullptr);
  std::vector<std::pair<std::string, std::string>> out;
  for (zip_int64_t i = 0; i < zip_get_num_entries(z, 0); ++i) {
    zip_stat_t st;
    REQUIRE(zip_stat_index(z, static_cast<zip_uint64_t>(i), 0, &st) == 0);
    CHECK(st.comp_method == ZIP_CM_STORE);
    std::string bytes(st.size, '\0');
    zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
    REQUIRE(zip_fread(f, bytes.data(), bytes.size()) == static_cast<zip_int64_t>(bytes.size()));
    zip_fclose(f);
    out.emplace_back(st.name, bytes);
  }
  zip_discard(z);
  return out;
}

/// The message of the WeightsFileError that loading `path` into `m` throws ("no error" when it
/// throws none; the type of anything else).
std::string load_error(nn::Module& m, const fs::path& path) {
  try {
    io::load_weights(m, path.string());
  } catch (const io::WeightsFileError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not a WeightsFileError: ") + e.what();
  }
  return "no error";
}

/// Replaces every occurrence of `from` by `to` (same length) in a file's bytes.
void patch(const fs::path& path, const std::string& from, const std::string& to) {
  std::string bytes = read_all(path);
  REQUIRE(from.size() == to.size());
  std::size_t at = 0, count = 0;
  while ((at = bytes.find(from, at)) != std::string::npos) {
    bytes.replace(at, from.size(), to);
    ++count;
  }
  REQUIRE(count > 0);
  write_all(path, bytes);
}

}  // namespace

TEST_CASE("weights round-trip bit for bit, BatchNorm buffers included", "[io][weights]") {
  const fs::path dir = temp_dir("roundtrip");
  nn::Sequential a = make_model(1);
  fill_distinct(a, 0.5f);
  io::save_weights(a, (dir / "w.npz").string());

  nn::Sequential b = make_model(2);
  const io::WeightsReport report = io::load_weights(b, (dir / "w.npz").string());
  CHECK(report.complete());
  const auto want = snapshot(a), got = snapshot(b);
  REQUIRE(got.size() == 8);
  for (const auto& [name, tensor] : want) {
    INFO(name);
    CHECK(same_bits(got.at(name), tensor));
  }
  a.eval();
  b.eval();
  Tensor input = Tensor::from_shape({4, 3});
  std::iota(input.begin(), input.end(), -5.0f);
  CHECK(same_bits(a.predict(input), b.predict(input)));

  // The same weights always give the same bytes, and nothing else is left in the directory.
  io::save_weights(a, (dir / "again.npz").string());
  CHECK(read_all(dir / "w.npz") == read_all(dir / "again.npz"));
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 2);
}

TEST_CASE("a weights file holds one numpy .npy per tensor, float32 C order", "[io][weights]") {
  const fs::path dir = temp_dir("layout");
  nn::Sequential m = make_model(1);
  fill_distinct(m, 0.0f);
  io::save_weights(m, (dir / "w.npz").string());
  const auto entries = read_zip(dir / "w.npz");
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.first);
  CHECK(names ==
        std::vector<std::string>{"dense_0.W.npy", "dense_0.b.npy", "batch_norm_1.gamma.npy",
                                 "batch_norm_1.beta.npy", "dense_2.W.npy", "dense_2.b.npy",
                                 "batch_norm_1.running_mean.npy", "batch_norm_1.running_var.npy"});
  // dense_0.W: 3 x 5, header padded so that the data starts at byte 128.
  const std::string& w = entries[0].second;
  const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }";
  REQUIRE(w.size() == 128 + 15 * 4);
  CHECK(w.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  CHECK(static_cast<unsigned char>(w[8]) + 256 * static_cast<unsigned char>(w[9]) == 118);
  CHECK(w.substr(10, header.size()) == header);
  CHECK(w.substr(10 + header.size()) ==
        std::string(117 - header.size(), ' ') + "\n" + w.substr(128));
  const Tensor& value = m.named_parameters()[0].var.value();
  CHECK(std::memcmp(w.data() + 128, value.data(), 15 * 4) == 0);  // row-major, little-endian
  // 1-D shapes are written as numpy writes them: "(5,)".
  CHECK(entries[1].second.find("'shape': (5,), }") != std::string::npos);
}

TEST_CASE("a strict load lists every missing, unexpected and wrongly shaped name at once",
          "[io][weights]") {
  const fs::path dir = temp_dir("strict");
  nn::Sequential saved = make_model(1);
  io::save_weights(saved, (dir / "w.npz").string());

  // Another architecture: dense_0 narrower, no BatchNorm, three Dense layers.
  nn::manual_seed(3);
  nn::Sequential other;
  other.add(nn::Dense(3, 4, nn::Activation::relu()));
  other.add(nn::Dense(4, 2));
  other.add(nn::Dense(2, 2));
  const auto before = snapshot(other);
  try {
    io::load_weights(other, (dir / "w.npz").string());
    FAIL("no error");
  } catch (const io::WeightsMismatchError& e) {
    CHECK(std::string(e.what()) ==
          (dir / "w.npz").string() +
              ": does not match the module (missing: dense_1.W, dense_1.b; unexpected: "
              "batch_norm_1.gamma, batch_norm_1.beta, batch_norm_1.running_mean, "
              "batch_norm_1.running_var; wrong shape: dense_0.W is [3, 5] in the file, [3, 4] "
              "in the module, dense_0.b is [5] in the file, [4] in the module, dense_2.W is "
              "[5, 2] in the file, [2, 2] in the module)");
    CHECK(e.report().missing.size() == 2);
    CHECK(e.report().unexpected.size() == 4);
    REQUIRE(e.report().mismatched.size() == 3);
    CHECK(e.report().mismatched[0].in_file == Shape{3, 5});
  }
  for (const auto& [name, tensor] : snapshot(other)) CHECK(same_bits(tensor, before.at(name)));
}

TEST_CASE("a non-strict load takes what matches and reports the rest", "[io][weights]") {
  const fs::path dir = temp_dir("lenient");
  nn::Sequential saved = make_model(1, 5);
  fill_distinct(saved, 1.0f);
  io::save_weights(saved, (dir / "w.npz").string());

  nn::Sequential narrow = make_model(2, 4);  // every tensor but dense_2.b changes shape
  const auto before = snapshot(narrow);
  const io::WeightsReport r = io::load_weights(narrow, (dir / "w.npz").string(), false);
  CHECK(r.missing.empty());
  CHECK(r.unexpected.empty());
  CHECK_FALSE(r.complete());
  std::vector<std::string> mismatched;
  for (const auto& m : r.mismatched) mismatched.push_back(m.name);
  CHECK(mismatched == std::vector<std::string>{
                          "dense_0.W", "dense_0.b", "batch_norm_1.gamma", "batch_norm_1.beta",
                          "dense_2.W", "batch_norm_1.running_mean", "batch_norm_1.running_var"});
  const auto after = snapshot(narrow), want = snapshot(saved);
  CHECK(same_bits(after.at("dense_2.b"), want.at("dense_2.b")));
  CHECK(same_bits(after.at("dense_0.W"), before.at("dense_0.W")));
  CHECK(r.describe().rfind("wrong shape: dense_0.W is [3, 5] in the file, [3, 4] in the module",
                           0) == 0);

  // Extra and foreign entries are listed in the archive's order, not loaded; "dense_0.b" without
  // ".npy" is not the array dense_0.b.
  write_zip(dir / "extra.npz", {{"dense_2.b.npy", npy("<f4", "(2,)", raw({7.0f, 8.0f}))},
                                {"optimizer.m.npy", npy("<f4", "(1,)", raw({1.0f}))},
                                {"notes.txt", "hello"},
                                {"dense_0.b", "not an array"}});
  const io::WeightsReport e = io::load_weights(narrow, (dir / "extra.npz").string(), false);
  CHECK(e.unexpected == std::vector<std::string>{"optimizer.m", "notes.txt", "dense_0.b"});
  CHECK(e.missing.size() == 7);
  CHECK(values(snapshot(narrow).at("dense_2.b")) == std::vector<float>{7.0f, 8.0f});
}

TEST_CASE("float64 and deflated arrays load, converted to float", "[io][weights]") {
  const fs::path dir = temp_dir("f8");
  nn::Dense d(2, 1);
  d.set_name("d");
  write_zip(dir / "w.npz",
            {{"W.npy", npy("<f8", "(2, 1)", raw({0.1, -2.5}))},
             {"b.npy", npy("<f4", "(1,)", raw({3.0f}), "False", 2)}},
            true);
  CHECK(io::load_weights(d, (dir / "w.npz").string()).complete());
  CHECK(values(d.named_parameters()[0].var.value()) == std::vector<float>{0.1f, -2.5f});
  CHECK(values(d.named_parameters()[1].var.value()) == std::vector<float>{3.0f});

  write_zip(dir / "big.npz", {{"W.npy", npy("<f8", "(2, 1)", raw({1e300, 0.0}))},
                              {"b.npy", npy("<f4", "(1,)", raw({3.0f}))}});
  nn::Dense fresh(2, 1);
  CHECK(load_error(fresh, dir / "big.npz") ==
        (dir / "big.npz").string() + ": W.npy: value 1e+300 at index 0 does not fit in float32");
}

namespace {

/// A zip archive's fields at `offset` (little-endian, `bytes` wide) set to `value`.
void set_field(std::string& zip, std::size_t offset, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) zip[offset + i] = static_cast<char>(value >> (8 * i));
}

/// A file that is not a valid weights file, and what loading it must say.
struct Hostile {
  std::string file;
  std::string expected;  // the whole message after "<path>: "
};

/// Bytes of virtual memory the process has mapped.
std::size_t mapped_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  statm >> pages;
  return pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_CASE("corrupt, truncated and hostile weights files are clear errors within a small budget",
          "[io][weights]") {
  const fs::path dir = temp_dir("hostile");
  std::vector<Hostile> cases;
  auto add = [&](const std::string& name, const std::string& expected) {
    cases.push_back({(dir / name).string(), expected});
  };
  auto add_zip = [&](const std::string& name, const std::string& npy_bytes,
                     const std::string& expected) {
    write_zip(dir / name, {{"dense_0.W.npy", npy_bytes}});
    add(name, expected);
  };
  const std::string w_data(15 * 4, '\0');  // dense_0.W is 3 x 5

  write_all(dir / "text.npz", "epoch,loss\n1,0.5\n");
  add("text.npz", "not an .npz file (not a zip archive)");
  write_all(dir / "empty.npz", "");
  add("empty.npz", "is empty, not an .npz file");
  add("missing.npz", "cannot open: No such file or directory");
  fs::create_directories(dir / "folder.npz");
  add("folder.npz", "is a directory, not an .npz file");

  nn::Sequential model = make_model(1);
  io::save_weights(model, (dir / "valid.npz").string());
  const std::string valid = read_all(dir / "valid.npz");
  write_all(dir / "cut.npz", valid.substr(0, valid.size() / 2));
  add("cut.npz", "not an .npz file (not a zip archive)");
  // One changed byte of dense_0.W's data: the entry's CRC-32 no longer matches.
  std::string flipped = valid;
  flipped[30 + std::strlen("dense_0.W.npy") + 128 + 5] ^= 0x40;
  write_all(dir / "flipped.npz", flipped);
  add("flipped.npz", "dense_0.W.npy: corrupt: CRC error");

  add_zip("huge_shape.npz", npy("<f4", "(100000, 100000)", w_data),
          "dense_0.W.npy: the entry holds 60 data bytes, its header (shape [100000, 100000], "
          "'<f4') needs 40000000000");
  // 64 MiB: a loader allocating it before checking would get away with it without the limit.
  add_zip("moderate_shape.npz", npy("<f4", "(4096, 4096)", w_data),
          "dense_0.W.npy: the entry holds 60 data bytes, its header (shape [4096, 4096], '<f4') "
          "needs 67108864");
  add_zip("overflow_shape.npz", npy("<f4", "(4294967296, 4294967296, 4294967296)", w_data),
          "dense_0.W.npy: shape [4294967296, 4294967296, 4294967296] is too large");
  add_zip("long_dimension.npz", npy("<f4", "(99999999999999999999999,)", w_data),
          "dense_0.W.npy: bad .npy header: dimension too large (at header byte 51)");
  {
    std::string header_bomb = "\x93NUMPY\x02";
    header_bomb += std::string("\0\xff\xff\xff\x7f", 5) + std::string(100, ' ');
    add_zip("header_budget.npz", header_bomb,
            "dense_0.W.npy: the .npy header claims 2147483647 bytes, more than the budget of "
            "10000");
  }
  add_zip("short_header.npz", npy("<f4", "(3, 5)", "").substr(0, 40),
          "dense_0.W.npy: truncated: the .npy header claims 118 bytes, the entry holds 40");
  add_zip("not_npy.npz", "hello world, not an array",
          "dense_0.W.npy: not a .npy array (bad magic)");
  add_zip("tiny.npz", "abc", "dense_0.W.npy: not a .npy array: 3 bytes");
  {
    std::string v9 = npy("<f4", "(3, 5)", w_data);
    v9[6] = 9;
    add_zip("version.npz", v9,
            "dense_0.W.npy: .npy format version 9.0 is not supported (1.0, "
            "2.0, 3.0)");
  }
  add_zip("int.npz", npy("<i4", "(3, 5)", w_data),
          "dense_0.W.npy: dtype '<i4' is not supported (float32 '<f4' or float64 '<f8')");
  add_zip("big_endian.npz", npy(">f4", "(3, 5)", w_data),
          "dense_0.W.npy: dtype '>f4' is not supported (float32 '<f4' or float64 '<f8')");
  add_zip("fortran.npz", npy("<f4", "(3, 5)", w_data, "True"),
          "dense_0.W.npy: Fortran-ordered arrays are not supported (save in C order)");
  add_zip("extra_key.npz", npy("<f4", "(3, 5), 'extra': 1", w_data),
          "dense_0.W.npy: bad .npy header: unexpected key 'extra' (at header byte 58)");
  {
    std::string no_order = "{'descr': '<f4', 'shape': (3, 5), }";
    no_order.append(63 - (10 + no_order.size()) % 64, ' ');
    no_order += '\n';
    add_zip("no_order.npz",
            std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(no_order.size()) + '\0' +
                no_order + w_data,
            "dense_0.W.npy: bad .npy header: the header lacks 'fortran_order' (at header byte "
            "54)");
  }
  add_zip("cut_data.npz", npy("<f4", "(3, 5)", w_data.substr(0, 59)),
          "dense_0.W.npy: the entry holds 59 data bytes, its header (shape [3, 5], '<f4') needs "
          "60");

  // A zip entry claiming 4 GB: its local and central headers both say so.
  {
    write_zip(dir / "huge_entry.npz", {{"dense_0.W.npy", npy("<f4", "(3, 5)", w_data)}});
    std::string zip = read_all(dir / "huge_entry.npz");
    set_field(zip, 22, 0xf0000000u, 4);
    set_field(zip, zip.find("PK\x01\x02") + 24, 0xf0000000u, 4);
    write_all(dir / "huge_entry.npz", zip);
    add("huge_entry.npz",
        "dense_0.W.npy: the entry holds 4026531712 data bytes, its header "
        "(shape [3, 5], '<f4') needs 60");
  }
  // Two entries of one name.
  {
    write_zip(dir / "twice.npz", {{"dense_0.W.npy", npy("<f4", "(3, 5)", w_data)},
                                  {"dense_0.X.npy", npy("<f4", "(3, 5)", w_data)}});
    patch(dir / "twice.npz", "dense_0.X.npy", "dense_0.W.npy");
    add("twice.npz", "corrupt zip archive: two entries have the same name");
  }
  // An end-of-central-directory record claiming 65535 entries.
  {
    std::string zip = valid;
    const std::size_t end = zip.rfind("PK\x05\x06");
    set_field(zip, end + 8, 0xffff, 2);
    set_field(zip, end + 10, 0xffff, 2);
    write_all(dir / "many_entries.npz", zip);
    add("many_entries.npz", "corrupt zip archive: Zip archive inconsistent");
  }

  // The loads run in a child process whose address space may grow by 16 MiB at most: a loader
  // that allocated what any of these files claims would fail there with std::bad_alloc.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    nn::Sequential target = make_model(1);
    const rlimit limit{mapped_bytes() + (16u << 20), RLIM_INFINITY};
    std::string messages;
    if (setrlimit(RLIMIT_AS, &limit) != 0) {
      messages = "setrlimit failed";
    } else {
      for (const Hostile& h : cases) messages += load_error(target, h.file) + '\n';
    }
    const ssize_t n = write(fds[1], messages.data(), messages.size());
    _exit(n == static_cast<ssize_t>(messages.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string messages;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) messages.append(buffer, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  std::istringstream lines(messages);
  for (const Hostile& h : cases) {
    std::string line;
    std::getline(lines, line);
    CHECK(line == h.file + ": " + h.expected);
  }
}
