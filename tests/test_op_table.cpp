// The op table (retrograd/op_table.hpp): every op in it is gradchecked on its domain, every
// family has rows, and the table is the only list of op names.

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_set>

#include "test_helpers.hpp"

using namespace retrograd;

namespace {
/// Whether a node of op `name` is in the graph of `out` (the check may wrap the op in others).
bool graph_has_op(const VarD& out, std::string_view name) {
  std::vector<const Node<double>*> todo{out.node().get()};
  std::unordered_set<const Node<double>*> seen;
  while (!todo.empty()) {
    const Node<double>* node = todo.back();
    todo.pop_back();
    if (!node || !seen.insert(node).second) continue;
    if (node->op() == name) return true;
    for (const auto& input : node->inputs()) todo.push_back(input.get());
  }
  return false;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
/// The file without its comment lines.
std::string code_of(const std::filesystem::path& path) {
  std::istringstream in(read_file(path));
  std::string code, line;
  while (std::getline(in, line)) {
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line.compare(first, 2, "//") != 0) code += line + "\n";
  }
  return code;
}
}  // namespace

TEST_CASE("every op in the table passes its gradient check on every case of its domain",
          "[ops][table]") {
  std::uint64_t seed = 1;
  for (const OpRow& row : op_table()) {
    INFO("op " << row.name);
    // A row without a domain is an op nobody checks.
    REQUIRE_FALSE(row.checks.empty());
    for (const OpCheck& check : row.checks) {
      INFO("case: " << check.what);
      REQUIRE(check.call);
      const OpCheckResult result = run_check(check, seed++);
      INFO(result.summary);
      CHECK(result.passed);
      // The case exercises the row's op, not only others.
      std::vector<VarD> inputs;
      for (const TensorD& t : sample_inputs(check, seed)) inputs.emplace_back(t, requires_grad);
      CHECK(graph_has_op(check.call(inputs), row.name));
    }
  }
}

TEST_CASE("the table lists each family's rows, each row well formed", "[ops][table]") {
  std::set<std::string> families_with_rows;
  for (const OpRow& row : op_table()) {
    INFO("op " << row.name);
    families_with_rows.insert(row.family);
    CHECK(find_op(row.name) == &row);
    CHECK_FALSE(row.signature.empty());
    CHECK_FALSE(row.forward.empty());
    if (row.elementwise) CHECK(row.apply);
    if (row.syntax.kind != OpSyntax::Kind::none) CHECK(row.apply);
  }
  const std::vector<std::string> families = op_families();
  CHECK(std::set<std::string>(families.begin(), families.end()) == families_with_rows);
  CHECK(find_op("leaf") == nullptr);
}

TEST_CASE("every family file in src/ops is called by the table, so none can be dropped",
          "[ops][table]") {
  // A family's rows reach the table through an explicit call in op_table.cpp, which makes the
  // linker keep the family's object; a file that defines rows the table never calls would be
  // silently lost. Each `detail::<family>_rows()` defined in src/ops/ must be a listed family.
  const std::filesystem::path ops = std::filesystem::path(RETROGRAD_SOURCE_DIR) / "src" / "ops";
  const std::regex definition(R"(std::vector<OpRow> detail::(\w+)_rows\(\))");
  const std::vector<std::string> listed = op_families();
  std::set<std::string> defined;
  for (const auto& entry : std::filesystem::directory_iterator(ops)) {
    const std::string text = read_file(entry.path());
    for (std::sregex_iterator m(text.begin(), text.end(), definition), end; m != end; ++m) {
      INFO(entry.path().filename().string() << " defines " << (*m)[1] << "_rows()");
      CHECK(entry.path().stem() == (*m)[1].str());
      defined.insert((*m)[1]);
    }
  }
  CHECK(defined == std::set<std::string>(listed.begin(), listed.end()));
}

TEST_CASE("the table is the only list of op names: an elementwise op is its rule and its row",
          "[ops][table]") {
  // Every reader of the table (trace, page, DOT, expression language, gradcheck command,
  // fuzzer, this suite) must hold no op name of its own: adding an op then touches only
  // include/retrograd/ops.hpp (its declaration) and its family's file (rule and row).
  // Here: no file outside src/ops/ spells a row's name as a string literal.
  const std::filesystem::path root(RETROGRAD_SOURCE_DIR);
  const std::vector<std::filesystem::path> readers = {"src/trace.cpp",
                                                      "src/html.cpp",
                                                      "src/dot.cpp",
                                                      "tools/expression.cpp",
                                                      "tools/gradcheck_command.cpp",
                                                      "tools/trace_command.cpp",
                                                      "fuzz/fuzz_gradient.cpp",
                                                      "tests/test_op_table.cpp"};
  for (const auto& reader : readers) {
    const std::string text = read_file(root / reader);
    REQUIRE_FALSE(text.empty());
    for (const OpRow& row : op_table()) {
      INFO(reader.string() << " names op " << row.name);
      CHECK(text.find('"' + std::string(row.name) + '"') == std::string::npos);
    }
  }
  // Each elementwise op's name, as a string literal in code (comments aside), appears in its
  // family's file and nowhere else in the graph core, its headers, the tools that read the
  // table and the fuzzer: so the files one touches are that file and ops.hpp. (The nn layers
  // and `train --activation` name activations as layers, which is not an op list.)
  std::vector<std::filesystem::path> sources;
  for (const char* dir : {"src", "src/ops", "include/retrograd", "fuzz"}) {
    for (const auto& entry : std::filesystem::directory_iterator(root / dir)) {
      const std::string ext = entry.path().extension().string();
      if (ext == ".cpp" || ext == ".hpp") sources.push_back(entry.path());
    }
  }
  for (const auto& reader : readers) sources.push_back(root / reader);
  for (const OpRow& row : op_table()) {
    if (!row.elementwise) continue;
    std::set<std::string> files;
    for (const auto& path : sources) {
      if (code_of(path).find('"' + std::string(row.name) + '"') != std::string::npos) {
        files.insert(std::filesystem::relative(path, root).string());
      }
    }
    INFO("op " << row.name);
    CHECK(files == std::set<std::string>{"src/ops/" + std::string(row.family) + ".cpp"});
  }
}

TEST_CASE("formulas fill their placeholders with names", "[ops][table]") {
  CHECK(fill_formula("{g} . {b}^T", {"X", "W"}, "y", "upstream") == "upstream . W^T");
  CHECK(fill_formula("{y} * (1 - {y})", {"x"}, "s", "g") == "s * (1 - s)");
  CHECK(fill_formula("1 / {x} and {z}", {"a"}, "y", "g") == "1 / a and {z}");
}
