#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "retrograd/data/csv.hpp"
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
