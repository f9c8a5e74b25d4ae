// The bad-input suite (issue 11): tables of damaged files, bad flags, bad expressions and API
// misuse. Every case must fail with the documented exception type (for the command line: exit
// status and error kind) and a message that names the culprit: file and offset, line and
// column, flag and value, op and shapes. docs/reliability.md lists what each class promises.
//
// One table per input class, so a new format (model files v2) adds its own table. The last test
// case prints the count per class and checks the suite's floor (8 per class, 100 in all).

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <retrograd/retrograd.hpp>
#include <string>
#include <vector>

#include "../io/onnx_craft.hpp"

namespace fs = std::filesystem;
using namespace retrograd;

namespace {

// ---- the case type and its runner ------------------------------------------------------------

/// One bad input: `run` must throw an exception of the expected type whose message contains
/// every string of `culprit`.
struct Case {
  std::string name;
  std::function<void()> run;
  std::string type_name;
  std::function<bool(const std::exception&)> has_type;
  std::vector<std::string> culprit;
};

template <class E>
Case expect(std::string name, std::vector<std::string> culprit, std::function<void()> run) {
  return {std::move(name), std::move(run), typeid(E).name(),
          [](const std::exception& e) { return dynamic_cast<const E*>(&e) != nullptr; },
          std::move(culprit)};
}

/// Runs every case of a table.
void run_table(const std::vector<Case>& table) {
  for (const Case& c : table) {
    INFO("case: " << c.name);
    try {
      c.run();
      FAIL_CHECK("no exception (expected " << c.type_name << ")");
    } catch (const std::exception& e) {
      const std::string what = e.what();
      INFO("message: " << what);
      CHECK(c.has_type(e));
      for (const std::string& part : c.culprit) {
        INFO("must name: " << part);
        CHECK(what.find(part) != std::string::npos);
      }
      CHECK(what.find('\0') == std::string::npos);
    } catch (...) {
      FAIL_CHECK("an exception that is not a std::exception");
    }
  }
}

// ---- files ------------------------------------------------------------------------------------

using Bytes = std::vector<std::uint8_t>;

/// This process's scratch directory (unique: suites of several checkouts may run at once),
/// removed when the process ends.
const fs::path& scratch() {
  struct Scratch {
    Scratch()
        : dir(fs::temp_directory_path() / ("retrograd_bad_inputs_" + std::to_string(::getpid()))) {
      fs::remove_all(dir);
      fs::create_directories(dir);
    }
    ~Scratch() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
    fs::path dir;
  };
  static const Scratch scratch;
  return scratch.dir;
}

std::string write_file(const std::string& name, const Bytes& bytes) {
  const fs::path p = scratch() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return p.string();
}

std::string write_text(const std::string& name, const std::string& text) {
  return write_file(name, Bytes(text.begin(), text.end()));
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes gzip(const Bytes& raw) {
  const std::string tmp = (scratch() / "gzip.tmp").string();
  gzFile f = gzopen(tmp.c_str(), "wb");
  gzwrite(f, raw.data(), static_cast<unsigned>(raw.size()));
  gzclose(f);
  return read_file(tmp);
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

Bytes labels_file(std::uint32_t count, const Bytes& payload) {
  return concat(concat(be32(0x801), be32(count)), payload);
}

Bytes images_file(std::uint32_t count, std::uint32_t rows, std::uint32_t cols,
                  const Bytes& payload) {
  return concat(concat(concat(concat(be32(0x803), be32(count)), be32(rows)), be32(cols)), payload);
}

/// A file whose first bytes are an IDX header followed by a gzip stream, damaged in its middle.
Bytes damaged_gzip() {
  Bytes z = gzip(labels_file(5000, Bytes(5000, 3)));
  for (std::size_t i = z.size() / 3; i < z.size() / 2; ++i) z[i] ^= 0x5A;
  return z;
}

// ---- IDX --------------------------------------------------------------------------------------

std::vector<Case> idx_cases() {
  using data::IdxError;
  auto labels = [](const std::string& name, const Bytes& bytes) {
    const std::string path = write_file(name, bytes);
    return [path] { data::read_idx_labels(path); };
  };
  auto images = [](const std::string& name, const Bytes& bytes) {
    const std::string path = write_file(name, bytes);
    return [path] { data::read_idx_images(path); };
  };
  Bytes gz_cut = gzip(images_file(50, 28, 28, Bytes(50 * 784, 9)));
  gz_cut.resize(gz_cut.size() / 2);
  Bytes gz_crc = gzip(labels_file(100, Bytes(100, 1)));
  gz_crc[gz_crc.size() - 6] ^= 1;  // inside the gzip trailer's CRC-32
  const std::string mnist_dir = (scratch() / "mnist_mismatch").string();
  const std::string mnist_labels = (scratch() / "mnist_labels").string();
  for (const std::string& dir : {mnist_dir, mnist_labels}) {
    fs::create_directories(dir);
    for (const std::string split : {"train", "t10k"}) {
      data::IdxImages im;
      im.count = 3;
      im.rows = im.cols = 2;
      im.pixels.assign(12, 7);
      data::write_idx_images(dir + "/" + split + "-images-idx3-ubyte.gz", im);
      const std::vector<std::uint8_t> lb =
          dir == mnist_dir ? std::vector<std::uint8_t>{1, 2} : std::vector<std::uint8_t>{1, 12, 3};
      data::write_idx_labels(dir + "/" + split + "-labels-idx1-ubyte.gz", lb);
    }
  }
  return {
      expect<IdxError>("empty file", {"labels_empty", "truncated at offset 0", "magic"},
                       labels("labels_empty", {})),
      expect<IdxError>("3-byte file", {"labels_3", "truncated at offset 3", "magic"},
                       labels("labels_3", {0, 0, 8})),
      expect<IdxError>("text, not IDX", {"text_idx", "offset 0", "not an IDX file"},
                       labels("text_idx", {'h', 'e', 'l', 'l', 'o', '\n', '1', '2'})),
      expect<IdxError>("images file given as labels",
                       {"as_labels", "wrong magic number 0x00000803 at offset 0", "0x00000801"},
                       labels("as_labels", images_file(1, 1, 1, {5}))),
      expect<IdxError>("float data type", {"floats", "offset 0", "data type 0x0000000D"},
                       labels("floats", {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0})),
      expect<IdxError>("zero labels", {"zero_labels", "zero labels", "offset 4"},
                       labels("zero_labels", labels_file(0, {}))),
      expect<IdxError>("zero rows", {"zero_rows", "zero dimension", "offset 8"},
                       images("zero_rows", images_file(1, 0, 28, {}))),
      expect<IdxError>("8 bytes claiming 4 G labels",
                       {"claim_4g", "truncated at offset 8", "4294967295 byte(s) of label data"},
                       labels("claim_4g", labels_file(0xFFFFFFFF, {}))),
      expect<IdxError>("16 bytes claiming 4 G images",
                       {"claim_images", "truncated at offset 16", "pixel data (4294967295 x 28"},
                       images("claim_images", images_file(0xFFFFFFFF, 28, 28, {}))),
      expect<IdxError>("labels cut short", {"short_labels", "truncated at offset 11", "found 3"},
                       labels("short_labels", labels_file(5, {1, 2, 3}))),
      expect<IdxError>("images cut in the header",
                       {"short_header", "truncated at offset 10", "row count"},
                       images("short_header", {0, 0, 8, 3, 0, 0, 0, 1, 0, 0})),
      expect<IdxError>("trailing bytes", {"trailing", "2 unexpected byte(s)", "offset 11"},
                       labels("trailing", labels_file(3, {1, 2, 3, 4, 5}))),
      expect<IdxError>("implausible dimensions",
                       {"implausible", "implausible dimensions 2 x 65536 x 65537"},
                       images("implausible", images_file(2, 65536, 65537, {}))),
      expect<IdxError>("gzip stream cut short", {"cut.gz", "offset"}, images("cut.gz", gz_cut)),
      expect<IdxError>("gzip data damaged", {"damaged.gz", "corrupt gzip data", "offset"},
                       labels("damaged.gz", damaged_gzip())),
      expect<IdxError>("gzip CRC damaged", {"crc.gz", "incorrect data check", "offset"},
                       labels("crc.gz", gz_crc)),
      expect<IdxError>("gzip claim beyond 1032:1",
                       {"claim.gz", "claims 268435456 byte(s) of label data", "from offset 8"},
                       labels("claim.gz", gzip(labels_file(1u << 28, {7})))),
      expect<IdxError>("gzip trailing bytes", {"trailing.gz", "3 unexpected byte(s)", "offset 10"},
                       labels("trailing.gz", gzip(labels_file(2, {1, 2, 3, 4, 5})))),
      expect<IdxError>("missing file", {"no_such_file", "cannot open file", "No such file"},
                       [] { data::read_idx_labels((scratch() / "no_such_file").string()); }),
      expect<IdxError>("a directory", {"mnist_mismatch", "offset 0"},
                       [mnist_dir] { data::read_idx_labels(mnist_dir); }),
      expect<IdxError>("count mismatch between images and labels",
                       {"train-images-idx3-ubyte.gz", "holds 3 images", "holds 2 labels"},
                       [mnist_dir] { data::load_mnist(mnist_dir); }),
      expect<IdxError>("label above 9 in an MNIST directory",
                       {"train-labels-idx1-ubyte.gz", "label 12 of item 1", "offset 9"},
                       [mnist_labels] { data::load_mnist(mnist_labels); }),
  };
}

// ---- CSV --------------------------------------------------------------------------------------

std::vector<Case> csv_cases() {
  using data::CsvError;
  auto csv = [](const std::string& name, const std::string& text,
                data::CsvOptions options = data::CsvOptions()) {
    const std::string path = write_text(name, text);
    return [path, options] { data::read_csv(path, options); };
  };
  data::CsvOptions classes;
  classes.max_classes = 65536;
  classes.max_classes_reason = "the limit";
  data::CsvOptions column7;
  column7.label_column = 7;
  data::CsvOptions by_name;
  by_name.label_name = "species";
  data::CsvOptions tabs;
  tabs.delimiter = '\t';
  data::CsvOptions limit64;
  limit64.max_line_bytes = 64;
  data::CsvOptions dogs;
  dogs.class_names = {"dog"};
  data::IdxImages im;
  im.count = 1;
  im.rows = im.cols = 2;
  im.pixels = {1, 2, 3, 4};
  data::write_idx_images((scratch() / "images-idx3-ubyte.gz").string(), im);
  data::write_idx_images((scratch() / "images-idx3-ubyte").string(), im);
  return {
      expect<CsvError>("'+-2'", {"plus_minus.csv:2:2", "'+-2'", "not a number"},
                       csv("plus_minus.csv", "a,b\n1,+-2\n")),
      expect<CsvError>("'++2'", {"plus_plus.csv:2:1", "'++2'"},
                       csv("plus_plus.csv", "a,b\n++2,1\n")),
      expect<CsvError>("overflow", {"overflow.csv:3:2", "'1e39'", "out of float range"},
                       csv("overflow.csv", "a,b\n1,2\n3,1e39\n")),
      expect<CsvError>("not a number", {"word.csv:2:1", "'abc'", "column 'a'"},
                       csv("word.csv", "a,b\nabc,1\n")),
      expect<CsvError>("hex is not a number", {"hex.csv:2:1", "'0x10'"},
                       csv("hex.csv", "a,b\n0x10,1\n")),
      expect<CsvError>("nan", {"nan.csv:2:1", "'nan'", "not finite"},
                       csv("nan.csv", "a,b\nnan,1\n")),
      expect<CsvError>("inf", {"inf.csv:2:1", "'-inf'", "not finite"},
                       csv("inf.csv", "a,b\n-inf,1\n")),
      expect<CsvError>("missing value", {"missing.csv:3:2", "missing value", "'b'"},
                       csv("missing.csv", "a,b,c\n1,2,3\n4,,6\n")),
      expect<CsvError>("ragged row", {"ragged.csv:3:3", "ragged row: 2 field(s), expected 3"},
                       csv("ragged.csv", "a,b,c\n1,2,3\n4,5\n")),
      expect<CsvError>("empty file", {"empty.csv", "empty file"}, csv("empty.csv", "")),
      expect<CsvError>("header only", {"header_only.csv", "no data rows"},
                       csv("header_only.csv", "a,b\n")),
      expect<CsvError>("NUL byte in a field", {"nul.csv:2:2", "'2\\x00x'", "is not a number"},
                       csv("nul.csv", std::string("a,b\n1,2\0x\n", 11))),
      expect<CsvError>("NUL byte in a header name", {"nul_header.csv:2:1", "column 'a\\x00'"},
                       csv("nul_header.csv", std::string("a\0,b\nq,1\n", 9))),
      expect<CsvError>("label column out of range",
                       {"column7.csv:1", "label column 7 does not exist in 3 column(s)"},
                       csv("column7.csv", "a,b,c\n1,2,3\n", column7)),
      expect<CsvError>("label name not in the header", {"by_name.csv:1", "'species'"},
                       csv("by_name.csv", "a,b\n1,2\n", by_name)),
      expect<CsvError>("class label of 1e6", {"million.csv:3:3", "label '1e6'", "0 to 65535"},
                       csv("million.csv", "a,b,label\n1,2,0\n3,4,1e6\n", classes)),
      expect<CsvError>("fractional class label", {"half.csv:2:2", "label '2.5'"},
                       csv("half.csv", "a,label\n1,2.5\n", classes)),
      expect<CsvError>("negative class label", {"negative.csv:4:2", "label '-1'"},
                       csv("negative.csv", "a,label\n1,0\n\n2,-1\n", classes)),
      expect<CsvError>("only a label column", {"only_label.csv", "no feature columns", "'y'"},
                       csv("only_label.csv", "y\n1\n2\n")),
      expect<CsvError>("gzip-compressed IDX file",
                       {"images-idx3-ubyte.gz", "gzip-compressed IDX file", "0x00000803"},
                       [] { data::read_csv((scratch() / "images-idx3-ubyte.gz").string()); }),
      expect<CsvError>("raw IDX file", {"images-idx3-ubyte", "an IDX file", "not CSV text"},
                       [] { data::read_csv((scratch() / "images-idx3-ubyte").string()); }),
      expect<CsvError>("gzip data", {"data.csv.gz", "gzip-compressed data"},
                       csv("data.csv.gz", std::string("\x1f\x8b\x08\0\0\0\0\0", 8) + "xyz")),
      expect<CsvError>("wrong delimiter", {"semicolons.csv:2:1", "'1;2'"},
                       csv("semicolons.csv", "a;b\n1;2\n", tabs)),
      expect<CsvError>("missing file", {"no_such.csv", "cannot open file"},
                       [] { data::read_csv((scratch() / "no_such.csv").string()); }),
      expect<CsvError>("/dev/zero: one line without end",
                       {"/dev/zero:1", "line 1 is longer than the limit of 8388608 bytes"},
                       [] { data::read_csv("/dev/zero"); }),
      expect<CsvError>("a row over a lowered line limit",
                       {"long_row.csv:2", "line 2 is longer than the limit of 64 bytes"},
                       csv("long_row.csv", "a,b\n" + std::string(100, '1') + ",2\n", limit64)),
      expect<CsvError>(
          "a class name the model does not have",
          {"unknown_class.csv:3:2", "label 'cat'", "not one of the model's classes", "'dog'"},
          csv("unknown_class.csv", "x,y\n1,dog\n2,cat\n", dogs)),
  };
}

// ---- model files, format v1 (io::deserialize_model on bytes) ---------------------------------

/// A model file of format version 1 (Dense 3-5 relu, Dense 5-3, Adam), written before version 2
/// existed: the cases below damage its fixed layout.
Bytes valid_model() {
  std::ifstream in(std::string(RETROGRAD_SOURCE_DIR) + "/tests/io/data/model_v1.rg",
                   std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// `bytes` with the CRC-32 trailer recomputed, so the damage reaches the payload parser.
Bytes with_crc(Bytes bytes) {
  const std::size_t end = bytes.size() - 4;
  const std::uint32_t crc =
      static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), bytes.data(), static_cast<uInt>(end)));
  for (int i = 0; i < 4; ++i) bytes[end + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  return bytes;
}

std::size_t find(const Bytes& bytes, const std::string& text) {
  const auto it = std::search(bytes.begin(), bytes.end(), text.begin(), text.end());
  REQUIRE(it != bytes.end());
  return static_cast<std::size_t>(it - bytes.begin());
}

std::vector<Case> model_v1_cases() {
  using io::ModelFileError;
  const Bytes good = valid_model();
  REQUIRE_NOTHROW(io::deserialize_model(good));
  auto model = [](Bytes bytes) { return [bytes] { io::deserialize_model(bytes, "model.rg"); }; };
  auto changed = [&](std::size_t at, std::uint8_t value) {
    Bytes b = good;
    b.at(at) = value;
    return b;
  };
  auto set_u64 = [](Bytes b, std::size_t at, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) b.at(at + i) = static_cast<std::uint8_t>(v >> (8 * i));
    return b;
  };
  const std::size_t dense = find(good, "Dense");   // the first layer's type
  const std::size_t in_width = dense + 5 + 4 + 7;  // after the name "dense_0"
  const std::size_t activation = in_width + 16;    // after in and out widths
  const std::size_t payload_end = good.size() - 4;
  Bytes cut_payload = good;  // the payload ends early and the header says so
  cut_payload.erase(cut_payload.begin() + static_cast<std::ptrdiff_t>(payload_end - 10),
                    cut_payload.begin() + static_cast<std::ptrdiff_t>(payload_end));
  cut_payload = with_crc(set_u64(cut_payload, 12, payload_end - 10 - 20));
  Bytes trailing = good;
  trailing.push_back(0);
  const fs::path dir = scratch() / "model_dir.rg";
  fs::create_directories(dir);
  return {
      expect<ModelFileError>("empty", {"model.rg", "the file is empty"}, model({})),
      expect<ModelFileError>("magic only", {"model.rg", "truncated: 5 bytes"},
                             model(Bytes(good.begin(), good.begin() + 5))),
      expect<ModelFileError>("bad magic", {"model.rg", "bad magic", "52474d4f44454c58"},
                             model(changed(7, 'X'))),
      expect<ModelFileError>("version 0", {"model.rg", "format version 0 at byte offset 8"},
                             model(changed(8, 0))),
      expect<ModelFileError>("newer version", {"model.rg", "format version 7 is newer"},
                             model(changed(8, 7))),
      expect<ModelFileError>("cut in the payload", {"model.rg", "truncated", "the file has 60"},
                             model(Bytes(good.begin(), good.begin() + 60))),
      expect<ModelFileError>("a byte after the checksum",
                             {"model.rg", "1 unexpected bytes after the checksum at byte offset"},
                             model(trailing)),
      expect<ModelFileError>("payload byte flipped", {"model.rg", "checksum mismatch"},
                             model(changed(40, good[40] ^ 0x10))),
      expect<ModelFileError>("checksum byte flipped", {"model.rg", "checksum mismatch"},
                             model(changed(payload_end + 1, good[payload_end + 1] ^ 1))),
      expect<ModelFileError>("payload size beyond the file", {"model.rg", "truncated"},
                             model(set_u64(good, 12, 1000000))),
      expect<ModelFileError>("unknown layer type (valid CRC)",
                             {"model.rg", "unknown layer type 'Xense'", "byte offset"},
                             model(with_crc(changed(dense, 'X')))),
      expect<ModelFileError>("zero layer width (valid CRC)",
                             {"model.rg", "Dense input width is 0", "byte offset"},
                             model(with_crc(set_u64(good, in_width, 0)))),
      expect<ModelFileError>("layer wider than the file (valid CRC)",
                             {"model.rg", "larger than the file", "byte offset"},
                             model(with_crc(set_u64(good, in_width, 1u << 20)))),
      expect<ModelFileError>("unknown activation (valid CRC)",
                             {"model.rg", "unknown activation kind 99", "byte offset"},
                             model(with_crc(changed(activation, 99)))),
      expect<ModelFileError>("payload cut short (valid CRC)",
                             {"model.rg", "claims more values than the bytes left", "byte offset"},
                             model(cut_payload)),
      expect<ModelFileError>("missing file", {"no_model.rg", "cannot open"},
                             [] { io::load_model((scratch() / "no_model.rg").string()); }),
      expect<ModelFileError>("a directory", {"model_dir.rg", "is a directory"},
                             [dir] { io::load_model(dir.string()); }),
      expect<ModelFileError>(
          "a CSV file", {"blobs.csv", "bad magic"},
          [] { io::load_model(write_text("blobs.csv", "x1,x2,label\n1,2,0\n")); }),
      expect<ModelFileError>(
          "a model file resumed as a checkpoint", {"model_only.rg", "without a training state"},
          [good] { io::LoadedCheckpoint loaded(write_file("model_only.rg", good)); }),
      expect<ModelFileError>("a version 2 file with a layer type this program has not registered "
                             "(valid CRC): no corrupt file",
                             {"model.rg: unknown layer 'Dxnse' (registered: ",
                              "the program that loads it must register that layer"},
                             [] {
                               nn::Sequential m;
                               m.add(nn::Dense(2, 3));
                               Bytes bytes = io::serialize_model(m);
                               bytes.at(find(bytes, "Dense") + 1) = 'x';
                               io::deserialize_model(with_crc(bytes), "model.rg");
                             }),
      expect<ModelFileError>("a file whose optimizer this program has not registered (valid "
                             "CRC): no corrupt file",
                             {"model.rg: unknown optimizer 'RMSPrxp' (registered: ",
                              "the program that loads it must register that optimizer"},
                             [] {
                               nn::Sequential m;
                               m.add(nn::Dense(2, 3));
                               m.compile(nn::Loss::mse(), nn::RMSProp(0.01));
                               Bytes bytes = io::serialize_model(m);
                               bytes.at(find(bytes, "RMSProp") + 5) = 'x';
                               io::deserialize_model(with_crc(bytes), "model.rg");
                             }),
  };
}

// ---- API misuse: shapes, axes, empty Vars, NaN and inf -----------------------------------------

// ---- ONNX files ----------------------------------------------------------------------------

std::vector<Case> onnx_cases() {
  namespace c = onnx_craft;
  auto import = [](const std::string& name, const Bytes& bytes) {
    return [name, bytes] { io::import_onnx(write_file(name, bytes)); };
  };
  auto e = [](std::string name, std::vector<std::string> culprit, std::function<void()> run) {
    return expect<io::OnnxFileError>(std::move(name), std::move(culprit), std::move(run));
  };
  const Bytes good = c::model(c::dense_graph());
  const Bytes truncated(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2));
  const auto in = c::value_info("x", {-1, 4});
  const auto out = c::value_info("y", {-1, 3});
  const auto image = c::value_info("x", {-1, 1, 5, 5});
  // A tensor that says it is 1,000,000 x 1,000 floats and holds 3.
  const Bytes claims_too_much =
      c::model(c::graph({c::node("Gemm", {"x", "B"}, {"y"}, "gemm")},
                        {c::tensor("B", {1000000, 1000}, {1, 2, 3})}, {in}, {out}));
  // A length prefix of 2^60 bytes inside an 8-byte file.
  const Bytes huge_length = c::Msg().raw_varint((7 << 3) | 2).raw_varint(1ull << 60).b;
  Bytes long_varint = {0x08};
  long_varint.insert(long_varint.end(), 11, 0xff);
  const Bytes group = c::Msg().raw_varint((7 << 3) | 3).b;
  const Bytes huge_dim = c::model(c::graph({}, {c::tensor("B", {1ll << 40, 0}, {})}, {in}, {out}));
  c::Msg external = c::tensor("B", {4, 3}, {});
  external.varint(14, 1);
  c::Msg doubles = c::Msg().varint(1, 1).varint(2, 11).str(8, "D").bytes(9, Bytes(8, 0));
  return {
      e("an empty file", {"empty.onnx", "not an ONNX model: no graph"}, import("empty.onnx", {})),
      e("a truncated file",
        {"half.onnx", "not a valid ONNX file: field 7 declares", "at byte offset"},
        import("half.onnx", truncated)),
      e("a length past the end of the file", {"bytes but its message has only 0 left"},
        import("length.onnx", huge_length)),
      e("a varint of 11 bytes", {"varint longer than 10 bytes", "at byte offset 1"},
        import("varint.onnx", long_varint)),
      e("a group (wire type 3)", {"wire type 3, which ONNX does not use"},
        import("group.onnx", group)),
      e("a tensor whose declared size exceeds the file",
        {"tensor 'B' declares 1000000000 values (shape [1000000, 1000]) but holds 3"},
        import("claims.onnx", claims_too_much)),
      e("a tensor dimension of 2^40", {"tensor 'B' has dimension 1099511627776"},
        import("dim.onnx", huge_dim)),
      e("external tensor data", {"tensor 'B' keeps its data in an external file"},
        import("external.onnx", c::model(c::graph({c::node("Gemm", {"x", "B"}, {"y"}, "gemm")},
                                                  {external}, {in}, {out})))),
      e("a float64 tensor", {"tensor 'D' has data type 11", "float32 (1) and int64 (7)"},
        import("double.onnx", c::model(c::graph({}, {doubles}, {in}, {out})))),
      e("opset 7", {"opset 7 is not supported", "opsets 13 to 17"},
        import("opset7.onnx", c::model(c::dense_graph(), 7))),
      e("a graph with a cycle", {"cycle through node 'a' (Relu), node 'b' (Relu)"},
        import("cycle.onnx", c::model(c::graph({c::node("Relu", {"x", "q"}, {"p"}, "a"),
                                                c::node("Relu", {"p"}, {"q"}, "b"),
                                                c::node("Relu", {"q"}, {"y"}, "c")},
                                               {}, {in}, {out})))),
      e("a dangling input",
        {"node 'relu' (Relu) reads 'ghost', which no node, input or initializer produces"},
        import("dangling.onnx",
               c::model(c::graph({c::node("Relu", {"ghost"}, {"y"}, "relu")}, {}, {in}, {out})))),
      e("an initializer with the wrong shape",
        {"node 'gemm' (Gemm): initializer 'C' (C) has shape [5]; it needs [3]"},
        import("shape.onnx", c::model(c::dense_graph({5})))),
      e("a weight that does not fit the input",
        {"initializer 'B' (B) has shape [4, 3]", "an input of width 7 it needs [7, outputs]"},
        import("width.onnx", c::model(c::graph({c::node("Gemm", {"x", "B"}, {"y"}, "gemm")},
                                               {c::tensor("B", {4, 3}, std::vector<float>(12, 1))},
                                               {c::value_info("x", {-1, 7})}, {out})))),
      e("an operator outside the subset", {"node 'c' (Erf) is not supported", "import reads: Add"},
        import("erf.onnx",
               c::model(c::graph({c::node("Erf", {"x"}, {"y"}, "c")}, {}, {in}, {out})))),
      e("a convolution of a [batch, features] value",
        {"node 'c' (Conv): its input has sample shape [4]", "Conv reads [channels, height, width]"},
        import("conv_rows.onnx",
               c::model(c::graph({c::node("Conv", {"x", "W"}, {"y"}, "c")},
                                 {c::tensor("W", {1, 4, 1, 1}, {1, 1, 1, 1})}, {in}, {out})))),
      e("a convolution weight of other input channels",
        {"initializer 'W' (W) has shape [2, 3, 3, 3]", "for 1 input channels it needs"},
        import("conv_w.onnx",
               c::model(c::graph({c::node("Conv", {"x", "W"}, {"y"}, "c")},
                                 {c::tensor("W", {2, 3, 3, 3}, std::vector<float>(54, 1))}, {image},
                                 {out})))),
      e("a convolution group that does not divide the channels",
        {"node 'c' (Conv): group 2 does not divide its input's 1 channels"},
        import("conv_group.onnx",
               c::model(c::graph(
                   {c::node("Conv", {"x", "W"}, {"y"}, "c", {c::int_attribute("group", 2)})},
                   {c::tensor("W", {2, 1, 3, 3}, std::vector<float>(18, 1))}, {image}, {out})))),
      e("a node folded into a layer that has no output (a fuzzer's finding)",
        {"node 'relu' (Relu) has no output"},
        import("no_output.onnx",
               c::model(c::graph({c::node("Gemm", {"x", "B", "C"}, {"h"}, "gemm"),
                                  c::node("Relu", {"h"}, {}, "relu")},
                                 {c::tensor("B", {4, 3}, std::vector<float>(12, 1)),
                                  c::tensor("C", {3}, {0, 0, 0})},
                                 {in}, {c::value_info("h", {-1, 3})})))),
      e("a kernel larger than the image",
        {"node 'c' (Conv) on a sample of shape [1, 5, 5]", "conv2d"},
        import("conv_big.onnx",
               c::model(c::graph({c::node("Conv", {"x", "W"}, {"y"}, "c")},
                                 {c::tensor("W", {1, 1, 7, 7}, std::vector<float>(49, 1))}, {image},
                                 {out})))),
      e("pads that differ at the two ends",
        {"node 'p' (MaxPool): pads [1, 1, 0, 0]", "the same padding at both ends"},
        import("pads.onnx", c::model(c::graph({c::node("MaxPool", {"x"}, {"y"}, "p",
                                                       {c::ints_attribute("kernel_shape", {2, 2}),
                                                        c::ints_attribute("pads", {1, 1, 0, 0})})},
                                              {}, {image}, {out})))),
      e("a padded AveragePool that leaves the padding out of its means",
        {"node 'a' (AveragePool): padding with count_include_pad = 0",
         "AvgPool2D counts the padded zeros"},
        import("avg_pad.onnx",
               c::model(c::graph({c::node("AveragePool", {"x"}, {"y"}, "a",
                                          {c::ints_attribute("kernel_shape", {3, 3}),
                                           c::ints_attribute("pads", {1, 1, 1, 1})})},
                                 {}, {image}, {out})))),
      e("an image input of 2^40 values",
        {"input 'x' has samples of shape [1, 1048576, 1048576]", "at most 16777216 values"},
        import("huge_image.onnx",
               c::model(c::graph({c::node("Relu", {"x"}, {"y"}, "r")}, {},
                                 {c::value_info("x", {-1, 1, 1 << 20, 1 << 20})}, {out})))),
      e("a Pad that no AveragePool follows",
        {"node 'p' (Pad): import reads a Pad only right before an AveragePool"},
        import("pad.onnx", c::model(c::graph({c::node("Pad", {"x", "pads"}, {"y"}, "p")},
                                             {c::int64_tensor("pads", {0, 0, 1, 1, 0, 0, 1, 1})},
                                             {image}, {out})))),
      e("two producers of one value", {"node 'b' (Relu) writes 'y', which something else"},
        import("twice.onnx", c::model(c::graph({c::node("Relu", {"x"}, {"y"}, "a"),
                                                c::node("Relu", {"x"}, {"y"}, "b")},
                                               {}, {in}, {out})))),
      e("a missing file", {"nope.onnx: cannot open: No such file or directory"},
        [] { io::import_onnx((scratch() / "nope.onnx").string()); }),
  };
}

std::vector<Case> api_cases() {
  using std::domain_error;
  using std::invalid_argument;
  using std::logic_error;
  using std::out_of_range;
  auto leaf = [](Shape shape) { return Var(full<float>(shape, 1.0f), requires_grad); };
  return {
      expect<logic_error>("a leaf changed in place between forward and backward",
                          {"backward: input 0 of mul (leaf 'w', shape [2])",
                           "changed in place after the graph used it"},
                          [] {
                            Var w(full<float>({2}, 1.0f), requires_grad, "w");
                            Var y = sum(w * w);
                            w.value()(0) = 3.0f;
                            y.backward();
                          }),
      expect<std::runtime_error>(
          "an update that leaves an infinity",
          {"Trainer::fit: parameter dense_0.", "holds -inf",
           "(step 1); training stopped; that step was undone", "those after step 0"},
          [] {
            nn::Sequential m;
            m.add(nn::Dense(2, 1, nn::Activation::linear(), nn::Initializer::constant(1), 0));
            m.compile(nn::Loss::mse(), nn::SGD(1e38));
            nn::FitOptions o;
            o.verbose = 0;
            m.fit(full<float>({4, 2}, 1.0f), full<float>({4, 1}, -1.0f), o);
          }),
      expect<invalid_argument>("matmul shapes", {"matmul", "[2, 3]", "[4, 5]"},
                               [=] {
                                 matmul(leaf({2, 3}), leaf({4, 5}));
                               }),
      expect<invalid_argument>("add without a broadcast", {"add", "[2, 3]", "[4]"},
                               [=] {
                                 add(leaf({2, 3}), leaf({4}));
                               }),
      expect<out_of_range>("sum axis past the rank", {"sum", "axis 5", "rank 2"},
                           [=] {
                             sum(leaf({2, 3}), 5);
                           }),
      expect<out_of_range>("softmax axis below -rank", {"softmax", "axis -3", "rank 2"},
                           [=] {
                             softmax(leaf({2, 3}), -3);
                           }),
      expect<invalid_argument>("reshape to another size", {"reshape", "[2, 3]", "[4]"},
                               [=] {
                                 reshape(leaf({2, 3}), Shape{4});
                               }),
      expect<out_of_range>("take index out of range", {"take", "index 3", "axis 0", "size 3"},
                           [=] {
                             take(leaf({3, 2}), IndexTensor{0, 3}, 0);
                           }),
      expect<out_of_range>("take_along_axis negative index past the start",
                           {"take_along_axis", "index -4", "axis 1", "size 3"},
                           [=] {
                             IndexTensor at = IndexTensor::from_shape({2, 1});
                             at(0, 0) = 0;
                             at(1, 0) = -4;
                             take_along_axis(leaf({2, 3}), at, 1);
                           }),
      expect<invalid_argument>("take with float indices", {"take", "floating-point", "[2]"},
                               [=] {
                                 take(leaf({3, 2}), Tensor{0.0f, 1.5f}, 0);
                               }),
      expect<invalid_argument>("concat shapes differ off the axis",
                               {"concat", "input 1", "[2, 4]", "[2, 3]", "off axis 0"},
                               [=] {
                                 concat(std::vector<Var>{leaf({2, 3}), leaf({2, 4})}, 0);
                               }),
      expect<invalid_argument>("slice with step 0", {"slice", "step 0", "[4, 2]"},
                               [=] {
                                 slice(leaf({4, 2}), 0, 0, 4, 0);
                               }),
      expect<out_of_range>("slice axis out of range", {"slice", "axis 2", "rank 2"},
                           [=] {
                             slice(leaf({4, 2}), 2, 0, 1);
                           }),
      expect<out_of_range>("stack axis out of range", {"stack", "axis 4", "rank 3"},
                           [=] {
                             stack(std::vector<Var>{leaf({2, 3}), leaf({2, 3})}, 4);
                           }),
      expect<invalid_argument>("batched matmul batches that do not broadcast",
                               {"matmul", "[2, 3, 4]", "[3, 4, 5]", "batch axes"},
                               [=] {
                                 matmul(leaf({2, 3, 4}), leaf({3, 4, 5}));
                               }),
      expect<invalid_argument>("op on an empty Var", {"mul", "empty Var"},
                               [=] { mul(Var(), leaf({2})); }),
      expect<logic_error>("value of an empty Var", {"empty (default-constructed) Var"},
                          [] { Var().value(); }),
      expect<invalid_argument>("backward from a vector", {"backward", "[3]"},
                               [=] { (leaf({3}) * 2.0f).backward(); }),
      expect<invalid_argument>("grad of an unused input",
                               {"grad", "input 1", "'unused'", "not used", "allow_unused"},
                               [=] {
                                 const Var x = leaf({2}), unused(1.0f, requires_grad, "unused");
                                 grad(sum(x * x), {x, unused});
                               }),
      expect<logic_error>("grad of a gradient built without create_graph",
                          {"grad", "output 0", "does not require a gradient", "create_graph"},
                          [=] {
                            const Var x = leaf({2});
                            const Var g = grad(sum(x * x), {x})[0];
                            grad(sum(g), {x});
                          }),
      expect<logic_error>("grad over a freed graph", {"sum", "already freed", "retain_graph"},
                          [=] {
                            const Var x = leaf({2});
                            const Var f = sum(x * x);
                            f.backward();
                            grad(f, {x});
                          }),
      expect<logic_error>("gradient graph of a leaf after a plain backward",
                          {"grad_var", "'x'", "no gradient graph", "create_graph"},
                          [=] {
                            Var x = leaf({2});
                            x.named("x");
                            sum(x * x).backward();
                            grad_var(x);
                          }),
      expect<invalid_argument>("matmul reading a vector transposed",
                               {"matmul", "[3]", "[3, 2]", "1-d operand cannot be read transposed"},
                               [=] {
                                 matmul(leaf({3}), leaf({3, 2}), true, false);
                               }),
      expect<domain_error>("log of a negative number", {"log", "negative input", "-1"},
                           [] { log(VarD(-1.0, requires_grad)); }),
      expect<domain_error>("division by zero", {"div", "division by zero"},
                           [] { VarD(1.0, requires_grad) / 0.0; }),
      expect<domain_error>("negative base, fractional power", {"pow", "negative base"},
                           [] { pow(VarD(-4.0, requires_grad), 0.5); }),
      expect<invalid_argument>("Dense on the wrong width", {"Dense", "[4, 5]"},
                               [=] {
                                 nn::Dense layer(3, 2);
                                 layer.forward(leaf({4, 5}));
                               }),
      expect<invalid_argument>("NaN class label", {"sparse_categorical_cross_entropy", "row 0"},
                               [=] {
                                 Tensor labels = {std::nanf("")};
                                 nn::sparse_categorical_cross_entropy(leaf({1, 3}), labels);
                               }),
      expect<invalid_argument>("NaN learning rate", {"SGD", "learning rate", "nan"},
                               [] { nn::SGD sgd(std::nan("")); }),
      expect<invalid_argument>("Dropout rate above 1", {"Dropout", "1.5"},
                               [] { nn::Dropout d(1.5); }),
      expect<invalid_argument>("infinite scaler", {"set_scaler", "feature 1", "non-finite"},
                               [] {
                                 data::Dataset d(Tensor::from_shape({2, 2}));
                                 data::FeatureScaler s = data::FeatureScaler::identity(2);
                                 s.scale[1] = INFINITY;
                                 d.set_scaler(s);
                               }),
      expect<std::runtime_error>("inf in the features", {"Trainer::fit", "the loss is", "epoch 1"},
                                 [] {
                                   nn::manual_seed(1);
                                   nn::Sequential m;
                                   m.add(nn::Dense(2, 2));
                                   m.compile(nn::Loss::mse(), nn::SGD(0.1));
                                   Tensor x = {{1.0f, INFINITY}};
                                   Tensor y = {{0.0f, 1.0f}};
                                   nn::FitOptions o;
                                   o.verbose = 0;
                                   m.fit(x, y, o);
                                 }),
      expect<out_of_range>("one_hot label past the classes", {"one_hot", "label 5 at index 1"},
                           [] {
                             data::one_hot({0, 5}, 3);
                           }),
      expect<invalid_argument>("Dataset without features", {"Dataset", "[3, 0]"},
                               [] {
                                 data::Dataset d(Tensor::from_shape({3, 0}));
                               }),
      expect<invalid_argument>(
          "Dataset label count", {"4 samples but 2 labels"},
          [] {
            data::Dataset d(Tensor::from_shape({4, 2}), std::vector<data::Label>{0, 1});
          }),
      expect<out_of_range>("batch past the end", {"batch index 5", "batch(es) of size 2"},
                           [] {
                             data::Dataset d(Tensor::from_shape({4, 2}));
                             Tensor x;
                             d.batch(5, 2, x);
                           }),
      expect<invalid_argument>("predict on no rows of the wrong width",
                               {"Sequential::predict", "[0, 4]", "3 features"},
                               [] {
                                 nn::Sequential m;
                                 m.add(nn::Dense(3, 2));
                                 m.predict(Tensor::from_shape({0, 4}));
                               }),
      expect<logic_error>("fit before compile", {"Sequential::fit", "not compiled"},
                          [] {
                            nn::Sequential m;
                            m.add(nn::Dense(2, 1));
                            m.fit(Tensor::from_shape({2, 2}), Tensor::from_shape({2, 1}));
                          }),
      // Images (issue 21): each names the layer or op and the shapes.
      expect<invalid_argument>("Conv2D kernel larger than the padded input",
                               {"Conv2D 'conv2d' (1 -> 4 channels, kernel 5x5)", "kernel 5",
                                "padded input height 3 (3 + 2 x 0 padding)"},
                               [] {
                                 nn::Conv2D(1, 4, 5)(Var(zeros<float>({2, 1, 3, 3})));
                               }),
      expect<invalid_argument>("conv2d stride 0", {"conv2d", "stride 0", "must be positive"},
                               [=] {
                                 conv2d(leaf({1, 1, 4, 4}), leaf({2, 1, 3, 3}), Var(), 0);
                               }),
      expect<invalid_argument>("Conv2D stride 0", {"Conv2D(1 -> 4, kernel 3x3, stride 0x0"},
                               [] {
                                 nn::Conv2DOptions o;
                                 o.stride = 0;
                                 nn::Conv2D(1, 4, 3, o);
                               }),
      expect<invalid_argument>("Conv2D channel mismatch",
                               {"Conv2D 'conv2d' (3 -> 8 channels", "[2, 1, 5, 5]",
                                "expected [batch, 3, height, width]"},
                               [] {
                                 nn::Conv2D(3, 8, 3)(Var(zeros<float>({2, 1, 5, 5})));
                               }),
      expect<invalid_argument>("conv2d channel mismatch",
                               {"conv2d", "[2, 3, 5, 5] has 3 channels", "[4, 2, 3, 3] expects 2"},
                               [=] {
                                 conv2d(leaf({2, 3, 5, 5}), leaf({4, 2, 3, 3}), Var());
                               }),
      expect<invalid_argument>("2-d input to Conv2D",
                               {"Conv2D 'conv2d'", "[4, 784]", "input shape such as 1x28x28"},
                               [] {
                                 nn::Conv2D(1, 8, 3)(Var(zeros<float>({4, 784})));
                               }),
      expect<invalid_argument>("2-d input to MaxPool2D", {"MaxPool2D 'max_pool2d'", "[4, 784]"},
                               [] {
                                 nn::MaxPool2D(2)(Var(zeros<float>({4, 784})));
                               }),
      expect<invalid_argument>("pool padding above half the kernel",
                               {"max_pool2d", "padding 2x2", "half the kernel 3x3"},
                               [=] {
                                 max_pool2d(leaf({1, 1, 6, 6}), 3, std::nullopt, 2);
                               }),
      expect<invalid_argument>(
          "input shape that does not match the rows",
          {"input shape 1x28x28 (784 values)", "row width 785"},
          [] {
            data::Dataset d(zeros<float>({3, 785}), std::vector<data::Label>{0, 1, 0});
            d.set_batch_sample_shape({1, 28, 28});
          }),
  };
}

// ---- the command line: flags, data given to it, expressions for trace -------------------------

struct CliResult {
  int status = -1;
  std::string out, err;
};

/// Runs the built `retrograd` in the scratch directory; a hang is killed after 120 s.
CliResult run_cli(const std::vector<std::string>& args) {
  const fs::path out_file = scratch() / "cli.out", err_file = scratch() / "cli.err";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || ::chdir(scratch().c_str()) != 0) ::_exit(126);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::alarm(120);
    std::vector<char*> argv{const_cast<char*>(RETROGRAD_CLI)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(RETROGRAD_CLI, argv.data());
    ::_exit(127);
  }
  CliResult r;
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  const Bytes out = read_file(out_file.string()), err = read_file(err_file.string());
  r.out.assign(out.begin(), out.end());
  r.err.assign(err.begin(), err.end());
  return r;
}

/// The command line's error kinds, by exit status.
enum class Exit { usage = 2, error = 1, bad_value = 105 };

struct CliCase {
  std::string name;
  std::vector<std::string> args;
  Exit exit;
  std::vector<std::string> culprit;
};

void run_cli_table(const std::vector<CliCase>& table) {
  for (const CliCase& c : table) {
    INFO("case: " << c.name);
    const CliResult r = run_cli(c.args);
    INFO("exit " << r.status << ", stderr:\n" << r.err.substr(0, 2000));
    CHECK(r.status == static_cast<int>(c.exit));
    // The kind of error, as the user reads it.
    const std::string kind = c.exit == Exit::bad_value ? "ERROR: ValidationError: "
                             : c.exit == Exit::usage   ? "retrograd: "
                                                       : "retrograd: error: ";
    CHECK(r.err.find(kind) != std::string::npos);
    for (const std::string& part : c.culprit) {
      INFO("must name: " << part);
      CHECK(r.err.find(part) != std::string::npos);
    }
  }
}

/// The data and model the command-line cases read, made once.
void make_cli_fixtures() {
  static bool made = false;
  if (made) return;
  made = true;
  write_text("small.csv", "a,b,label\n1,2,0\n3,4,1\n5,6,0\n");
  write_text("features.csv", "a,b\n1,2\n3,4\n");
  write_text("million.csv", "a,b,label\n1,2,0\n3,4,1e6\n");
  write_text("label5.csv", "a,b,label\n1,2,0\n3,4,5\n");
  data::IdxImages im;
  im.count = 1;
  im.rows = im.cols = 2;
  im.pixels = {1, 2, 3, 4};
  data::write_idx_images((scratch() / "train-images-idx3-ubyte.gz").string(), im);
  nn::manual_seed(3);
  nn::Sequential m;
  m.add(nn::Dense(2, 4, nn::Activation::relu()));
  m.add(nn::Dense(4, 2));
  m.compile(nn::Loss::categorical_cross_entropy(true), nn::Adam(0.01), {"accuracy"});
  io::save_model(m, (scratch() / "model.rg").string());
  // Two checkpointed runs of 2 epochs for the --resume cases; the second one's data is gone.
  write_text("gone.csv", "a,b,label\n1,2,0\n3,4,1\n5,6,0\n");
  for (const char* run : {"small", "gone"}) {
    const CliResult r =
        run_cli({"train", "--data", std::string(run) + ".csv", "--layers", "2-4-2", "--epochs", "2",
                 "--verbose", "0", "--checkpoint-dir", std::string("ck_") + run});
    INFO(r.err);
    REQUIRE(r.status == 0);
  }
  fs::remove(scratch() / "gone.csv");
}

std::vector<CliCase> cli_flag_cases() {
  make_cli_fixtures();
  const std::vector<std::string> train = {"train",     "--data", "small.csv", "--save", "",
                                          "--history", "",       "--plot",    ""};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = train;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  const Exit bad = Exit::bad_value;
  return {
      {"negative epochs", with({"--epochs", "-1"}), bad, {"--epochs", "'-1'"}},
      {"an endless file as data",
       {"train", "--data", "/dev/zero", "--save", "", "--history", "", "--plot", ""},
       Exit::error,
       {"/dev/zero:1: line 1 is longer than the limit of 8388608 bytes", "--max-line-bytes"}},
      {"a line over --max-line-bytes",
       with({"--max-line-bytes", "8"}),
       Exit::error,
       {"small.csv:1: line 1 is longer than the limit of 8 bytes"}},
      {"zero --max-line-bytes", with({"--max-line-bytes", "0"}), bad, {"--max-line-bytes"}},
      {"epochs past 2^64",
       with({"--epochs", "99999999999999999999"}),
       bad,
       {"--epochs: must be at most 1000000, got 99999999999999999999"}},
      {"zero epochs", with({"--epochs", "0"}), bad, {"--epochs: must be at least 1, got 0"}},
      {"fractional epochs", with({"--epochs", "2.5"}), bad, {"--epochs", "'2.5'"}},
      {"negative learning rate", with({"--lr", "-1"}), bad, {"--lr", "'-1'"}},
      {"zero learning rate", with({"--lr", "0"}), bad, {"--lr", "'0'"}},
      {"NaN learning rate", with({"--lr", "nan"}), bad, {"--lr", "'nan'"}},
      {"NaN decay", with({"--lr-decay", "nan"}), bad, {"--lr-decay", "'nan'"}},
      {"decay above 1", with({"--lr-decay", "1.5"}), bad, {"--lr-decay", "(0, 1]", "'1.5'"}},
      {"NaN momentum", with({"--momentum", "nan"}), bad, {"--momentum", "'nan'"}},
      {"an unknown loss",
       with({"--loss", "hinge"}),
       Exit::usage,
       {"--loss: unknown 'hinge'", "registered loss: binary_cross_entropy",
        "sparse_categorical_cross_entropy"}},
      {"an empty loss", with({"--loss", ""}), Exit::usage, {"--loss: unknown ''"}},
      {"an unknown schedule",
       with({"--schedule", "cosine:t_max=3"}),
       Exit::usage,
       {"--schedule: unknown schedule 'cosine'",
        "(registered: exponential_lr, reduce_lr_on_plateau, step_lr)"}},
      {"a schedule setting without a value",
       with({"--schedule", "step_lr:step_size"}),
       Exit::usage,
       {"--schedule: 'step_lr:step_size': 'step_size' is not KEY=VALUE"}},
      {"a schedule setting it does not have",
       with({"--schedule", "step_lr:step_size=2,gama=0.5"}),
       Exit::usage,
       {"--schedule: schedule step_lr has no setting 'gama' (its settings: step_size, gamma)"}},
      {"a schedule step of 1e20",
       with({"--schedule", "step_lr:step_size=99999999999999999999"}),
       Exit::usage,
       {"--schedule: schedule step_lr: field 'step_size' is not an integer"}},
      {"a negative schedule gamma",
       with({"--schedule", "exponential_lr:gamma=-1"}),
       Exit::usage,
       {"--schedule: ExponentialLR: gamma must be > 0"}},
      {"a schedule and a decay",
       with({"--schedule", "exponential_lr:gamma=0.9", "--lr-decay", "0.5"}),
       Exit::usage,
       {"--schedule and --lr-decay both set how the learning rate changes"}},
      {"validation split of 1",
       with({"--validation-split", "1"}),
       bad,
       {"--validation-split", "[0, 1)", "'1'"}},
      {"a layer of 4 G units",
       with({"--layers", "3-4000000000-3"}),
       bad,
       {"--layers: width 4000000000 in '3-4000000000-3'", "limit of 1048576"}},
      {"a zero-width layer", with({"--layers", "2-0-2"}), bad, {"--layers", "'0' in '2-0-2'"}},
      {"a single width", with({"--layers", "2"}), bad, {"--layers", "'2'", "at least an input"}},
      {"too many weights",
       with({"--layers", "2-1000000-1000000-2"}),
       bad,
       {"--layers", "'2-1000000-1000000-2'", "more than 268435456"}},
      {"zero batch size", with({"--batch-size", "0"}), bad, {"--batch-size: must be at least 1"}},
      {"huge batch size",
       with({"--batch-size", "99999999"}),
       bad,
       {"--batch-size: must be at most 1048576, got 99999999"}},
      {"zero threads", with({"--threads", "0"}), bad, {"--threads: must be at least 1, got 0"}},
      {"too many threads", with({"--threads", "5000"}), bad, {"--threads", "5000"}},
      {"verbose 7", with({"--verbose", "7"}), bad, {"--verbose: must be at most 2, got 7"}},
      {"negative seed", with({"--seed", "-5"}), bad, {"--seed", "'-5'"}},
      {"a CSV label of 1e6",
       {"train", "--data", "million.csv"},
       Exit::error,
       {"million.csv:3:3", "label '1e6'", "at most 65536 classes"}},
      {"an IDX file given as --data",
       {"train", "--data", "train-images-idx3-ubyte.gz"},
       Exit::usage,
       {"--data: train-images-idx3-ubyte.gz is an IDX file", "--data ."}},
      {"data that does not exist",
       {"train", "--data", "no/such/dir"},
       Exit::usage,
       {"--data: no/such/dir does not exist"}},
      {"output width against the classes",
       with({"--layers", "2-8-3"}),
       Exit::usage,
       {"--layers: 2-8-3 ends with 3 outputs but the data has 2 classes"}},
      {"label column past the end",
       with({"--label-column", "9"}),
       Exit::error,
       {"small.csv:1", "label column 9 does not exist"}},
      {"evaluate on a file without labels",
       {"evaluate", "--model", "model.rg", "--data", "features.csv"},
       Exit::usage,
       {"--data: features.csv has no label column", "the model's 2 inputs"}},
      {"evaluate a label beyond the model's outputs",
       {"evaluate", "--model", "model.rg", "--data", "label5.csv"},
       Exit::error,
       {"label5.csv:3:3", "label '5'", "the model model.rg has 2 outputs"}},
      {"evaluate batch size 0",
       {"evaluate", "--model", "model.rg", "--data", "small.csv", "--batch-size", "0"},
       bad,
       {"--batch-size: must be at least 1, got 0"}},
      {"predict batch size -3",
       {"predict", "--model", "model.rg", "--data", "small.csv", "--batch-size", "-3"},
       bad,
       {"--batch-size", "'-3'"}},
      {"evaluate a missing model",
       {"evaluate", "--model", "nope.rg", "--data", "small.csv"},
       Exit::error,
       {"nope.rg: cannot open"}},
      // Every flag is checked before any data is read: these name data that does not exist.
      {"an unknown optimizer, before the data",
       {"train", "--data", "no/such.csv", "--optimizer", "adma"},
       Exit::usage,
       {"--optimizer: unknown 'adma' (sgd, momentum, nesterov, adam); did you mean 'adam'?"}},
      {"a plot format gnuplot is not asked for, before the data",
       {"train", "--data", "no/such.csv", "--plot", "history.pdf"},
       Exit::usage,
       {"--plot: history.pdf must end in .png or .svg"}},
      {"a label column that is not a number, before the data",
       {"train", "--data", "no/such.csv", "--label-column", "last"},
       bad,
       {"--label-column", "'last'"}},
      {"train with --label-column auto",
       {"train", "--data", "no/such.csv", "--label-column", "auto"},
       Exit::usage,
       {"--label-column: 'auto' is for evaluate and predict"}},
      {"momentum with plain SGD",
       with({"--optimizer", "sgd", "--momentum", "0.9"}),
       Exit::usage,
       {"--momentum: --optimizer sgd has no momentum factor",
        "use --optimizer momentum (or nesterov) --momentum 0.9"}},
      {"momentum with Adam",
       with({"--momentum", "0.5"}),
       Exit::usage,
       {"--momentum: --optimizer adam has no momentum factor"}},
      {"resume with --epochs already trained",
       {"train", "--resume", "ck_small", "--epochs", "2"},
       Exit::usage,
       {"--epochs 2: the run being resumed has already trained 2 epochs"}},
      {"resume on other data",
       {"train", "--resume", "ck_small", "--epochs", "3", "--data", "label5.csv"},
       Exit::usage,
       {"--data label5.csv is not the data of the run being resumed", "label5.csv has",
        "bytes, the run's small.csv had"}},
      {"resume with another --lr than the default it ran with",
       {"train", "--resume", "ck_small", "--lr", "0.5"},
       Exit::usage,
       {"--lr 0.5 contradicts the run being resumed, which has --lr 0.002"}},
      {"resume after the data was deleted",
       {"train", "--resume", "ck_gone", "--epochs", "3"},
       Exit::usage,
       {"--resume: the data of the run, ", "gone.csv, no longer exists",
        "give --data with the same data"}},
      {"predict --top-k 0",
       {"predict", "--model", "model.rg", "--data", "small.csv", "--top-k", "0"},
       bad,
       {"--top-k: must be at least 1, got 0"}},
      {"predict --top-k beyond the classes",
       {"predict", "--model", "model.rg", "--data", "no/such.csv", "--top-k", "3"},
       Exit::usage,
       {"--top-k 3: the model model.rg has 2 classes"}},
      {"a mistyped command",
       {"trian", "--data", "small.csv"},
       Exit::usage,
       {"unknown command 'trian'; did you mean 'train'?"}},
      {"a mistyped flag",
       with({"--epcohs", "3"}),
       Exit::usage,
       {"unknown flag --epcohs for retrograd train; did you mean '--epochs'?"}},
      // --model and --input-shape (issue 21).
      {"convolution on flat rows",
       with({"--model", "conv2d(4,3) relu flatten dense(2)"}),
       Exit::usage,
       {"--model: layer 1 'conv2d(4,3)'", "takes images", "(None, 2)", "--input-shape"}},
      {"unknown layer setting",
       with({"--input-shape", "1x1x2", "--model", "conv2d(4,1,paddin=1) flatten dense(2)"}),
       Exit::usage,
       {"--model: layer 1 'conv2d(4,1,paddin=1)'", "unknown setting 'paddin'",
        "conv2d knows: filters, kernel, stride, padding, dilation, bias, groups"}},
      {"conv2d groups that do not divide the channels",
       with({"--input-shape", "1x1x2", "--model",
             "conv2d(3,1) conv2d(4,1,groups=2) flatten "
             "dense(2)"}),
       Exit::usage,
       {"--model: layer 2 'conv2d(4,1,groups=2)'",
        "Conv2D(3 -> 4, groups 2): the groups must divide both channel counts"}},
      {"unknown layer",
       with({"--model", "dense(4) convolution(4) dense(2)"}),
       Exit::usage,
       {"--model: layer 2 'convolution(4)'", "unknown layer 'convolution'", "known: ", "conv2d",
        "maxpool2d"}},
      {"input shape not matching the rows",
       with({"--input-shape", "1x3x3", "--model", "conv2d(2,1) flatten dense(2)"}),
       Exit::usage,
       {"--input-shape: 1x3x3", "(9 values) does not match the row width 2"}},
      {"kernel larger than the image",
       with({"--input-shape", "1x2x1", "--model", "conv2d(2,3) flatten dense(2)"}),
       Exit::usage,
       {"--model: layer 1 'conv2d(2,3)'", "kernel 3 is larger than the padded input height 2",
        "(None, 1, 2, 1)"}},
      {"stride 0 in a spec",
       with({"--input-shape", "1x1x2", "--model", "conv2d(2,1,stride=0) flatten dense(2)"}),
       Exit::usage,
       {"--model: layer 1", "stride must be a whole number from 1 to 65536, got '0'"}},
      {"dense on images",
       with({"--input-shape", "1x1x2", "--model", "conv2d(2,1) dense(2)"}),
       Exit::usage,
       {"--model: layer 2 'dense(2)'", "(None, 2, 1, 2)", "add flatten before it"}},
      {"spec ending in the wrong width",
       with({"--model", "dense(3) relu dense(5)"}),
       Exit::usage,
       {"--model: the last layer gives [0, 5]", "2 classes", "end with dense(2)"}},
      {"padding that would need gigabytes",
       with({"--input-shape", "1x1x2", "--model", "conv2d(2,1,padding=65536) flatten dense(2)"}),
       Exit::usage,
       {"--model: layer 1 'conv2d(2,1,padding=65536)' gives (None, 2, 131073, 131074)",
        "more than 16777216 values per sample"}},
      {"--layers and --model together",
       with({"--layers", "2-4-2", "--model", "cnn"}),
       Exit::usage,
       {"--layers and --model both describe the network"}},
      {"an unknown optimizer setting",
       with({"--optimizer", "adamw:weight_dcay=0.01"}),
       Exit::usage,
       {"--optimizer: AdamW has no setting 'weight_dcay' (its settings: beta1=0.9"}},
      {"an unknown early-stopping setting",
       with({"--early-stopping", "patiense=3"}),
       Exit::usage,
       {"--early-stopping: unknown setting 'patiense' (patience, monitor"}},
      {"malformed input shape",
       with({"--input-shape", "1x0x2", "--model", "flatten dense(2)"}),
       Exit::usage,
       {"--input-shape: '1x0x2' must be 1 to 3 positive whole numbers"}},
  };
}

std::vector<CliCase> expression_cases() {
  auto trace = [](std::vector<std::string> args) {
    args.insert(args.begin(), "trace");
    return args;
  };
  const Exit usage = Exit::usage;
  return {
      {"log(x-2) at x=2",
       trace({"log(x-2)", "x=2"}),
       usage,
       {"f = log(n1) = -inf is not finite", "n1 = x - 2 = 0"}},
      {"exp(x*500)",
       trace({"exp(x*500)", "x=2"}),
       usage,
       {"f = exp(n1) = inf is not finite", "n1 = x * 500 = 1000"}},
      {"pow(z, 0.5) at z=-4",
       trace({"pow(z, 0.5)", "z=-4"}),
       usage,
       {"pow", "negative base", "-4"}},
      {"the literal 1e309",
       trace({"x + 1e309", "x=1"}),
       usage,
       {"the number 1e309 at column 5", "range of a double"}},
      {"x=nan", trace({"x * 2", "x=nan"}), usage, {"value of x is not finite: 'nan'"}},
      {"x=1e999", trace({"x", "x=1e999"}), usage, {"value of x is not finite: '1e999'"}},
      {"log(-1)", trace({"log(x - 2)", "x=1"}), usage, {"trace: log: negative input", "-1"}},
      {"x/0", trace({"x / 0", "x=1"}), usage, {"trace: div: division by zero"}},
      {"an infinite gradient",
       trace({"pow(x, 0.5)", "x=0"}),
       usage,
       {"the gradient that f = x^0.5 sends to x is inf", "x = 0"}},
      {"overflow in a product",
       trace({"x * x", "x=1e200"}),
       usage,
       {"f = x * x = inf is not finite", "x = 1e+200"}},
      {"unclosed parenthesis",
       trace({"(x + y * z", "x=1", "y=2", "z=3"}),
       usage,
       {"syntax error at column 11", "expected ')'"}},
      {"unknown variable", trace({"x + w", "x=1"}), usage, {"column 5", "unknown variable 'w'"}},
      {"unknown function", trace({"foo(x)", "x=1"}), usage, {"column 1", "unknown function 'foo'"}},
      {"--dot with an extension Graphviz cannot write",
       trace({"x * y", "x=1", "y=2", "--dot", "g.nosuchformat"}),
       usage,
       {"--dot g.nosuchformat", "Graphviz cannot write .nosuchformat"}},
      {"--dot without an extension",
       trace({"x", "x=1", "--dot", "graph"}),
       usage,
       {"--dot graph", "give the file an extension"}},
      {"wrong argument count", trace({"max(x)", "x=1"}), usage, {"max takes 2 arguments, got 1"}},
      {"stray character", trace({"x @ 2", "x=1"}), usage, {"column 3", "unexpected '@'"}},
      {"a value that is not a number",
       trace({"x", "x=abc"}),
       usage,
       {"value of x is not a number: 'abc'"}},
      {"an assignment without '='", trace({"x", "x"}), usage, {"expected NAME=VALUE, got 'x'"}},
      {"no variables", trace({"2 * 3"}), usage, {"no variables to differentiate"}},
      {"nested 2000 deep",
       trace({std::string(2000, '(') + "x", "x=1"}),
       usage,
       {"nested deeper than 500 levels"}},
  };
}

}  // namespace

TEST_CASE("bad inputs: IDX files", "[bad_inputs][idx]") { run_table(idx_cases()); }

TEST_CASE("bad inputs: CSV files", "[bad_inputs][csv]") { run_table(csv_cases()); }

TEST_CASE("bad inputs: model files (format v1)", "[bad_inputs][model]") {
  run_table(model_v1_cases());
}

TEST_CASE("bad inputs: ONNX files", "[bad_inputs][onnx]") { run_table(onnx_cases()); }

TEST_CASE("bad inputs: API misuse", "[bad_inputs][api]") { run_table(api_cases()); }

TEST_CASE("bad inputs: command-line flags and data", "[bad_inputs][cli]") {
  run_cli_table(cli_flag_cases());
}

TEST_CASE("bad inputs: trace expressions", "[bad_inputs][expression]") {
  run_cli_table(expression_cases());
}

TEST_CASE("train with verbose 0 writes nothing on stdout", "[bad_inputs][cli]") {
  make_cli_fixtures();
  const CliResult r = run_cli({"train", "--data", "small.csv", "--layers", "2-4-2", "--epochs", "2",
                               "--verbose", "0", "--save", "quiet.rg", "--plot", ""});
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
  CHECK(fs::exists(scratch() / "quiet.rg"));
}

// Counts the tables (without running them) so that each ctest process can print the whole.
TEST_CASE("bad inputs: case count", "[bad_inputs]") {
  const std::map<std::string, std::size_t> sizes = {{"IDX", idx_cases().size()},
                                                    {"CSV", csv_cases().size()},
                                                    {"model files v1", model_v1_cases().size()},
                                                    {"ONNX files", onnx_cases().size()},
                                                    {"API misuse", api_cases().size()},
                                                    {"CLI flags", cli_flag_cases().size()},
                                                    {"expressions", expression_cases().size()}};
  std::size_t total = 0;
  std::cout << "bad-input suite:";
  for (const auto& [name, n] : sizes) {
    std::cout << " " << name << " " << n << ",";
    CHECK(n >= 8);
    total += n;
  }
  std::cout << " " << total << " cases in all\n";
  CHECK(total >= 100);
}
