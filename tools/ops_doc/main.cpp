// retrograd_ops_doc TEMPLATE OUTPUT: writes docs/ops.md from its template, docs/ops.md.in,
// putting the op table's rows (retrograd/op_table.hpp) where the template says
// "@TABLE family@". Every family of the table must have its line, and every line a family:
// the page then lists every op, and only ops that exist.

#include <algorithm>
#include <fstream>
#include <iostream>
#include <retrograd/op_table.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace retrograd;

namespace {
/// The names of an op's inputs, from its signature: "where(condition, a, b)" gives condition,
/// a, b.
std::vector<std::string> input_names(const OpRow& row) {
  const std::string& s = row.signature;
  const std::size_t open = s.find('('), close = s.find(')');
  std::vector<std::string> names;
  std::istringstream list(s.substr(open + 1, close - open - 1));
  std::string name;
  while (std::getline(list, name, ',')) names.push_back(name.substr(name.find_first_not_of(' ')));
  return names;
}

/// A formula as docs show it: placeholders as the input names, '|' escaped for the table.
std::string cell(const std::string& text, const std::vector<std::string>& names = {}) {
  std::string filled = fill_formula(text, names, "y", "g");
  std::string out;
  for (char c : filled) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string table(const std::string& family) {
  std::ostringstream out;
  out << "| op | forward | gradient to each input | notes |\n|---|---|---|---|\n";
  for (const OpRow& row : op_table()) {
    if (row.family != family) continue;
    std::string grads;
    const std::vector<std::string> names = input_names(row);
    for (std::size_t i = 0; i < row.backward.size(); ++i) {
      std::string g = cell(row.backward[i], names);
      if (row.elementwise && g.rfind("none", 0) != 0) {
        // g times the local derivative, in parentheses when it has several terms
        g = g == "1" ? "g" : g.find(' ') == std::string::npos ? "g · " + g : "g · (" + g + ")";
      }
      if (row.backward.size() > 1) g = names.at(i) + ": " + g;
      grads += (i ? "; " : "") + g;
    }
    std::string syntax;
    if (row.signature.rfind(std::string(row.name) + "(", 0) != 0) {
      syntax = std::string(" (node `") + row.name + "`)";
    }
    if (row.syntax.kind != OpSyntax::Kind::none)
      syntax += std::string(", `") + row.syntax.symbol + "`";
    out << "| `" << row.signature << "`" << syntax << " | " << cell(row.forward, names) << " | "
        << grads << " | " << cell(row.notes) << " |\n";
  }
  return out.str();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: retrograd_ops_doc TEMPLATE OUTPUT\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "retrograd_ops_doc: cannot read " << argv[1] << "\n";
    return 1;
  }
  const std::vector<std::string> families = op_families();
  std::set<std::string> placed;
  std::ostringstream page;
  page << "<!-- Generated from docs/ops.md.in and the op table by retrograd_ops_doc "
          "(cmake --build build --target ops_doc); edit those, not this file. -->\n";
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind("@TABLE ", 0) != 0) {
      page << line << "\n";
      continue;
    }
    const std::string family = line.substr(7, line.size() - 8);
    if (line.back() != '@' ||
        std::find(families.begin(), families.end(), family) == families.end()) {
      std::cerr << argv[1] << ":" << number << ": no family '" << family << "' in the op table\n";
      return 1;
    }
    placed.insert(family);
    page << table(family);
  }
  for (const std::string& family : families) {
    if (placed.count(family) == 0) {
      std::cerr << argv[1] << ": no @TABLE " << family << "@ line: its ops would be missing\n";
      return 1;
    }
  }
  std::ofstream out(argv[2]);
  out << page.str();
  if (!out.flush()) {
    std::cerr << "retrograd_ops_doc: cannot write " << argv[2] << "\n";
    return 1;
  }
  return 0;
}
