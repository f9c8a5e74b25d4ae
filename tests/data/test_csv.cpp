#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "retrograd/data/csv.hpp"
#include "retrograd/data/idx.hpp"
#include "retrograd/data/labels.hpp"

namespace fs = std::filesystem;
using namespace retrograd::data;

namespace {

std::string write_text(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / "retrograd_test_csv";
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

}  // namespace

TEST_CASE("CSV with a header and the label in the last column", "[data][csv]") {
  const std::string path =
      write_text("iris.csv",
                 "sepal_length, sepal_width,species\n5.1,3.5,0\n\n4.9, 3.0 ,1\r\n"
                 "6.2,+2.9,2\n");
  const CsvData d = read_csv(path);
  REQUIRE(d.features.shape() == retrograd::Shape{3, 2});
  CHECK(d.features(0, 0) == Approx(5.1f));
  CHECK(d.features(1, 1) == Approx(3.0f));
  CHECK(d.features(2, 1) == Approx(2.9f));
  REQUIRE(d.labels.shape() == retrograd::Shape{3});
  CHECK(d.has_labels());
  CHECK(d.label_name == "species");
  CHECK(d.feature_names == std::vector<std::string>{"sepal_length", "sepal_width"});
  CHECK(to_labels(d.labels) == std::vector<Label>{0, 1, 2});
}

TEST_CASE("CSV options: no header, delimiter, label column by index, name or none", "[data][csv]") {
  const std::string plain = write_text("plain.csv", "1;2;3\n4;5;6\n");
  CsvOptions opt;
  opt.header = false;
  opt.delimiter = ';';
  opt.label_column = 0;
  CsvData d = read_csv(plain, opt);
  REQUIRE(d.features.shape() == retrograd::Shape{2, 2});
  CHECK(d.features(1, 0) == 5.0f);
  CHECK(d.labels(1) == 4.0f);
  CHECK(d.label_name == "column 1");

  opt.label_column = std::nullopt;
  d = read_csv(plain, opt);
  CHECK(d.features.shape() == retrograd::Shape{2, 3});
  CHECK_FALSE(d.has_labels());
  CHECK(d.labels.size() == 0);

  const std::string named = write_text("named.csv", "\"a\",\"y\",\"b\"\n1,2,3\n");
  CsvOptions by_name;
  by_name.label_name = "y";
  d = read_csv(named, by_name);
  CHECK(d.labels(0) == 2.0f);
  CHECK(d.feature_names == std::vector<std::string>{"a", "b"});
  by_name.label_name = "z";
  REQUIRE_THROWS_WITH(read_csv(named, by_name), Catch::Contains("no column named 'z'"));
  CsvOptions far;
  far.label_column = 7;
  REQUIRE_THROWS_WITH(read_csv(named, far), Catch::Contains("label column 7 does not exist"));
}

TEST_CASE("CSV errors name the file, line and column", "[data][csv]") {
  SECTION("missing field") {
    const std::string p = write_text("missing.csv", "a,b,c\n1,2,3\n4,,6\n");
    REQUIRE_THROWS_AS(read_csv(p), CsvError);
    REQUIRE_THROWS_WITH(read_csv(p), Catch::Contains("missing.csv:3:2") &&
                                         Catch::Contains("missing value") &&
                                         Catch::Contains("'b'"));
  }
  SECTION("non-numeric field") {
    const std::string p = write_text("text.csv", "a,b,c\n1,2,3\n4,5,abc\n");
    REQUIRE_THROWS_WITH(read_csv(p), Catch::Contains("text.csv:3:3") && Catch::Contains("'abc'") &&
                                         Catch::Contains("not a number"));
    const std::string trailing = write_text("trailing.csv", "1,2x\n");
    CsvOptions no_header;
    no_header.header = false;
    REQUIRE_THROWS_WITH(read_csv(trailing, no_header), Catch::Contains("trailing.csv:1:2"));
  }
  SECTION("non-finite field") {
    const std::string p = write_text("nan.csv", "a,b\n1,nan\n");
    REQUIRE_THROWS_WITH(read_csv(p),
                        Catch::Contains("nan.csv:2:2") && Catch::Contains("not finite"));
  }
  SECTION("ragged rows") {
    const std::string p = write_text("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
    REQUIRE_THROWS_WITH(read_csv(p), Catch::Contains("ragged.csv:3:3") &&
                                         Catch::Contains("ragged row: 2 field(s), expected 3"));
    const std::string longer = write_text("longer.csv", "1,2\n3,4,5\n");
    CsvOptions no_header;
    no_header.header = false;
    REQUIRE_THROWS_WITH(read_csv(longer, no_header), Catch::Contains("longer.csv:2:3"));
  }
  SECTION("empty file and header only") {
    REQUIRE_THROWS_WITH(read_csv(write_text("empty.csv", "")),
                        Catch::Contains("empty.csv") && Catch::Contains("empty file"));
    REQUIRE_THROWS_WITH(read_csv(write_text("blank.csv", "\n  \n")), Catch::Contains("empty file"));
    REQUIRE_THROWS_WITH(read_csv(write_text("header.csv", "a,b\n")),
                        Catch::Contains("no data rows"));
  }
  SECTION("missing file") {
    REQUIRE_THROWS_WITH(
        read_csv("/nonexistent/dir/x.csv"),
        Catch::Contains("/nonexistent/dir/x.csv") && Catch::Contains("cannot open"));
  }
  SECTION("error fields") {
    const std::string p = write_text("fields.csv", "a,b\n1,2\n3,x\n");
    try {
      read_csv(p);
      FAIL("no exception");
    } catch (const CsvError& e) {
      CHECK(e.path() == p);
      CHECK(e.line() == 3);
      CHECK(e.column() == 2);
    }
  }
}

TEST_CASE("to_labels rejects values that are not class ids", "[data][csv][labels]") {
  retrograd::Tensor v = retrograd::Tensor::from_shape({3});
  v(0) = 1;
  v(1) = 2.5f;
  v(2) = 0;
  REQUIRE_THROWS_WITH(to_labels(v, "species"), Catch::Contains("species") &&
                                                   Catch::Contains("index 1") &&
                                                   Catch::Contains("2.5"));
  v(1) = -1;
  REQUIRE_THROWS_WITH(to_labels(v), Catch::Contains("index 1"));
}

TEST_CASE("CSV numbers: one '+', underflow reads as zero or subnormal, overflow is an error",
          "[data][csv]") {
  CsvOptions features_only;
  features_only.label_column = std::nullopt;
  const CsvData d =
      read_csv(write_text("tiny.csv", "a,b,c,d\n1e-50,-1e-50,1e-40,+2.5\n1e-400,3.4e38,+0,-0\n"),
               features_only);
  CHECK(d.features(0, 0) == 0.0f);
  CHECK(d.features(0, 1) == 0.0f);
  CHECK(std::signbit(d.features(0, 1)));
  CHECK(d.features(0, 2) == Approx(1e-40f).margin(1e-45f));
  CHECK(d.features(0, 2) > 0.0f);
  CHECK(d.features(0, 3) == 2.5f);
  CHECK(d.features(1, 0) == 0.0f);
  CHECK(d.features(1, 1) == 3.4e38f);

  for (const std::string cell : {"+-2", "++2", "+", "-", "2+", "--2"}) {
    INFO(cell);
    const std::string p = write_text("sign.csv", "a,b\n1," + cell + "\n");
    REQUIRE_THROWS_AS(read_csv(p, features_only), CsvError);
    REQUIRE_THROWS_WITH(read_csv(p, features_only), Catch::Contains("sign.csv:2:2") &&
                                                        Catch::Contains("'" + cell + "'") &&
                                                        Catch::Contains("not a number"));
  }
  for (const std::string cell : {"1e39", "-1e39", "1e400"}) {
    INFO(cell);
    const std::string p = write_text("huge.csv", "a,b\n1," + cell + "\n");
    REQUIRE_THROWS_WITH(read_csv(p, features_only), Catch::Contains("huge.csv:2:2") &&
                                                        Catch::Contains(cell) &&
                                                        Catch::Contains("out of float range"));
  }
}

TEST_CASE("CSV: a UTF-8 byte-order mark is skipped", "[data][csv]") {
  const CsvData d = read_csv(write_text("bom.csv", "\xEF\xBB\xBFx,label\n0.5,1\n"));
  CHECK(d.feature_names == std::vector<std::string>{"x"});
  CHECK(d.features(0, 0) == 0.5f);
  CsvOptions no_header;
  no_header.header = false;
  const CsvData plain = read_csv(write_text("bom_data.csv",
                                            "\xEF\xBB\xBF"
                                            "7,1\n"),
                                 no_header);
  CHECK(plain.features(0, 0) == 7.0f);
}

TEST_CASE("CSV messages escape control bytes and cut long fields", "[data][csv]") {
  const std::string p = write_text("nul.csv", std::string("a,b\n1,2\0x\n", 11));
  try {
    read_csv(p);
    FAIL("no exception");
  } catch (const CsvError& e) {
    const std::string what = e.what();
    CHECK(what.find('\0') == std::string::npos);
    CHECK_THAT(what, Catch::Contains("nul.csv:2:2") && Catch::Contains("'2\\x00x'") &&
                         Catch::EndsWith("is not a number"));
  }
  const std::string long_field(1000, '7');
  const std::string q = write_text("long.csv", "a,b\n1," + long_field + "z\n");
  REQUIRE_THROWS_WITH(read_csv(q), Catch::Contains("'" + std::string(40, '7') + "...'") &&
                                       !Catch::Contains(std::string(41, '7')));
}

TEST_CASE("CSV class labels are checked with their line and column", "[data][csv][labels]") {
  CsvOptions classes;
  classes.max_classes = 10;
  classes.max_classes_reason = "the model has 10 outputs";
  CHECK(to_labels(read_csv(write_text("ok.csv", "x,y\n1,0\n2,9\n"), classes).labels) ==
        std::vector<Label>{0, 9});
  for (const std::string label : {"10", "1e6", "-1", "2.5", "1e-3"}) {
    INFO(label);
    const std::string p = write_text("labels.csv", "x,y\n1,0\n\n2," + label + "\n3,1\n");
    REQUIRE_THROWS_AS(read_csv(p, classes), CsvError);
    REQUIRE_THROWS_WITH(read_csv(p, classes), Catch::Contains("labels.csv:4:2") &&
                                                  Catch::Contains("'" + label + "'") &&
                                                  Catch::Contains("from 0 to 9") &&
                                                  Catch::Contains("the model has 10 outputs"));
  }
  // Without max_classes the label column holds any finite value (regression targets).
  CHECK(read_csv(write_text("targets.csv", "x,y\n1,2.5\n")).labels(0) == 2.5f);
}

TEST_CASE("CSV: a file that is only a label column has no features", "[data][csv]") {
  REQUIRE_THROWS_WITH(
      read_csv(write_text("only_label.csv", "label\n1\n0\n")),
      Catch::Contains("only_label.csv: no feature columns") && Catch::Contains("'label'"));
}

TEST_CASE("CSV reader names gzip and IDX files instead of parsing them", "[data][csv]") {
  const fs::path dir = fs::temp_directory_path() / "retrograd_test_csv";
  const std::string images = (dir / "t-images-idx3-ubyte").string();
  IdxImages im;
  im.count = 2;
  im.rows = 2;
  im.cols = 2;
  im.pixels = {10, 20, 30, 40, 50, 60, 70, 80};
  write_idx_images(images, im);
  write_idx_images(images + ".gz", im);
  write_idx_labels((dir / "t-labels-idx1-ubyte.gz").string(), {1, 2});
  REQUIRE_THROWS_WITH(read_csv(images), Catch::Contains(images + ": an IDX file (magic "
                                                                 "0x00000803: 3 dimensions of "
                                                                 "unsigned bytes), not CSV text"));
  REQUIRE_THROWS_WITH(read_csv(images + ".gz"),
                      Catch::Contains("a gzip-compressed IDX file (magic 0x00000803"));
  REQUIRE_THROWS_WITH(read_csv((dir / "t-labels-idx1-ubyte.gz").string()),
                      Catch::Contains("(magic 0x00000801: 1 dimension of unsigned bytes)"));
  const std::string gz_text = write_text("text.csv.gz", "\x1f\x8b\x08 not really");
  REQUIRE_THROWS_WITH(read_csv(gz_text), Catch::Contains("gzip-compressed data"));
  CHECK(idx_magic(images) == idx_images_magic);
  CHECK(idx_magic(images + ".gz") == idx_images_magic);
  CHECK_FALSE(idx_magic(gz_text));
  CHECK_FALSE(idx_magic(write_text("zeros.csv", std::string(8, '\0'))));
}

namespace {
/// The most memory this process has held, in bytes (Linux reports KiB).
std::size_t peak_rss() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::size_t>(usage.ru_maxrss) * 1024;
}

/// Reads `path` with a line limit of 1 MiB and returns the error.
std::string refusal(const std::string& path) {
  CsvOptions small;
  small.max_line_bytes = std::size_t(1) << 20;
  try {
    read_csv(path, small);
  } catch (const CsvError& e) {
    return e.what();
  }
  FAIL("read_csv accepted " + path);
  return {};
}
}  // namespace

TEST_CASE(
    "CSV: a line without end is refused at the line limit, naming the file, the line and "
    "the limit",
    "[data][csv][budget]") {
  // Each input would grow one std::string without bound under std::getline. At a 1 MiB limit
  // (the default, 8 MiB, is tested by the bad-input suite through the command line) each read
  // stops after 1 MiB: the peak memory of the process grows by far less than 100 MiB.
  const std::size_t rss_before = peak_rss();
  const std::string expected =
      ":1: line 1 is longer than the limit of 1048576 bytes (no line end within it";
  CHECK_THAT(refusal("/dev/zero"), Catch::StartsWith("/dev/zero:1: ") &&
                                       Catch::Contains(expected) &&
                                       Catch::Contains("--max-line-bytes"));

  // A 1 GB file of one line: sparse, so it takes no disk.
  const fs::path dir = fs::temp_directory_path() / "retrograd_test_csv";
  fs::create_directories(dir);
  const fs::path big = dir / "one_line.csv";
  { std::ofstream(big) << "a,b\n1,"; }
  fs::resize_file(big, std::uintmax_t(1) << 30);
  CHECK_THAT(refusal(big.string()),
             Catch::Contains("one_line.csv:2: line 2 is longer than the limit of 1048576 bytes"));
  fs::remove(big);

  // A pipe whose writer never ends a line, and never stops unless the reader goes away.
  const fs::path fifo = dir / "endless.fifo";
  fs::remove(fifo);
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  std::signal(SIGPIPE, SIG_IGN);
  std::thread writer([&] {
    const int fd = open(fifo.c_str(), O_WRONLY);
    if (fd < 0) return;
    const std::string chunk(1 << 16, '7');
    while (write(fd, chunk.data(), chunk.size()) > 0) {
    }
    close(fd);
  });
  const std::string endless = refusal(fifo.string());
  writer.join();
  fs::remove(fifo);
  CHECK_THAT(endless, Catch::Contains("endless.fifo:1: line 1 is longer than the limit"));
  CHECK(peak_rss() - rss_before < std::size_t(100) << 20);

  // A real row under the limit reads, and the limit can be raised past a long one.
  const std::string wide = write_text("wide.csv", "a,b\n" + std::string(3000, ' ') + "1,2\n");
  CsvOptions tight;
  tight.max_line_bytes = 100;
  CHECK_THROWS_WITH(read_csv(wide, tight), Catch::Contains("wide.csv:2: line 2 is longer than "
                                                           "the limit of 100 bytes"));
  tight.max_line_bytes = 4000;
  CHECK(read_csv(wide, tight).features.shape()[0] == 1);
  CHECK(read_csv(write_text("last.csv", "a,b\n1,2")).labels(0) == 2.f);  // no final newline
}

TEST_CASE("CSV: a label column of names becomes classes, sorted, or those of a model",
          "[data][csv][labels]") {
  const std::string iris = std::string(RETROGRAD_SOURCE_DIR) + "/tests/data/iris.csv";
  CsvOptions classes;
  classes.max_classes = 10;
  const CsvData data = read_csv(iris, classes);
  CHECK(data.features.shape() == retrograd::Shape{150, 4});
  CHECK(data.class_names == std::vector<std::string>{"setosa", "versicolor", "virginica"});
  CHECK(data.labels(0) == 0.f);
  CHECK(data.labels(50) == 1.f);
  CHECK(data.labels(149) == 2.f);
  CHECK(data.label_name == "species");

  // Rows in another order give the same ids; a model's names fix them.
  const std::string p = write_text("names.csv", "x,kind\n1,dog\n2,cat\n3,dog\n");
  const CsvData animals = read_csv(p);
  CHECK(animals.class_names == std::vector<std::string>{"cat", "dog"});
  CHECK(to_labels(animals.labels) == std::vector<Label>{1, 0, 1});
  CsvOptions model_names;
  model_names.class_names = {"dog", "cat", "bird"};
  CHECK(to_labels(read_csv(p, model_names).labels) == std::vector<Label>{0, 1, 0});
  CHECK(read_csv(p, model_names).class_names == model_names.class_names);
  model_names.class_names = {"dog", "bird"};
  CHECK_THROWS_WITH(read_csv(p, model_names),
                    Catch::Contains("names.csv:3:2") && Catch::Contains("label 'cat'") &&
                        Catch::Contains("is not one of the model's classes ('dog', 'bird')"));
  // Numeric labels stay numbers, and a name after them is an error as before.
  CHECK(read_csv(write_text("ids.csv", "x,y\n1,0\n2,1\n")).class_names.empty());
  CHECK_THROWS_WITH(read_csv(write_text("mixed.csv", "x,y\n1,0\n2,cat\n")),
                    Catch::Contains("mixed.csv:3:2") && Catch::Contains("not a number"));
  // More names than classes allowed.
  CsvOptions two;
  two.max_classes = 1;
  CHECK_THROWS_WITH(read_csv(p, two), Catch::Contains("names 2 classes, more than 1"));
}
