// The op table: the families' rows gathered in one list (retrograd/op_table.hpp).

#include "retrograd/op_table.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>
#include <utility>

#include "ops/op_rows.hpp"
#include "retrograd/gradcheck.hpp"

namespace retrograd {

namespace {
struct Family {
  const char* name;
  std::vector<OpRow> (*rows)();
};

// One line per family: each call makes the linker keep that family's object file.
const Family families[] = {
    {"elementwise", detail::elementwise_rows},
    {"activation", detail::activation_rows},
    {"linalg", detail::linalg_rows},
    {"shape", detail::shape_rows},
    {"index", detail::index_rows},
    {"reduce", detail::reduce_rows},
    {"losses", detail::losses_rows},
    {"conv", detail::conv_rows},
};

/// A row the rest of the library could not read is a bug in the row: refuse the table.
void require_well_formed(const OpRow& row, const Family& family, std::set<std::string>& names) {
  const std::string where = std::string("op table, row '") + row.name + "': ";
  if (!names.insert(row.name).second) throw std::logic_error(where + "a second row of this name");
  if (std::string(row.family) != family.name) {
    throw std::logic_error(where + "family '" + row.family + "' listed by " + family.name);
  }
  const std::size_t formulas = row.arity < 0 ? 1 : static_cast<std::size_t>(row.arity);
  if (row.backward.size() != formulas) {
    throw std::logic_error(where + std::to_string(row.backward.size()) + " backward formulas for " +
                           std::to_string(formulas) + " inputs");
  }
  if (row.elementwise && !row.apply) {
    throw std::logic_error(where + "an elementwise op needs `apply` (the expression language)");
  }
}
}  // namespace

const std::vector<OpRow>& op_table() {
  static const std::vector<OpRow> table = [] {
    std::vector<OpRow> all;
    std::set<std::string> names;
    for (const Family& family : families) {
      for (OpRow& row : family.rows()) {
        require_well_formed(row, family, names);
        all.push_back(std::move(row));
      }
    }
    return all;
  }();
  return table;
}

const OpRow* find_op(std::string_view name) {
  for (const OpRow& row : op_table()) {
    if (row.name == name) return &row;
  }
  return nullptr;
}

std::vector<std::string> op_families() {
  std::vector<std::string> names;
  for (const Family& family : families) names.emplace_back(family.name);
  return names;
}

std::vector<TensorD> sample_inputs(const OpCheck& check, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> magnitude(check.low, check.high);
  std::bernoulli_distribution negative(0.5);
  std::vector<TensorD> inputs;
  for (std::size_t i = 0; i < check.shapes.size(); ++i) {
    const bool positive =
        std::find(check.positive.begin(), check.positive.end(), i) != check.positive.end();
    TensorD t = TensorD::from_shape(check.shapes[i]);
    for (double& v : t)
      v = (!positive && negative(engine)) ? -magnitude(engine) : magnitude(engine);
    inputs.push_back(std::move(t));
  }
  return inputs;
}

OpCheckResult run_check(const OpCheck& check, std::uint64_t seed) {
  const std::vector<TensorD> inputs = sample_inputs(check, seed);
  OpCheckResult result;
  if (!check.differentiable) {
    std::vector<VarD> vars;
    for (const TensorD& t : inputs) vars.emplace_back(t, requires_grad);
    const VarD out = check.call(vars);
    result.passed = !out.requires_grad();
    result.summary = result.passed ? "no gradient, as declared" : "a gradient flows, none declared";
    return result;
  }
  const GradcheckResult r = gradcheck(check.call, inputs);
  result.passed = r.passed;
  result.summary = r.summary();
  result.max_abs_error = r.max_abs_error;
  result.worst_analytic = r.worst_analytic;
  result.worst_numeric = r.worst_numeric;
  return result;
}

std::string fill_formula(std::string_view text, const std::vector<std::string>& inputs,
                         const std::string& output, const std::string& upstream) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool placeholder = text[i] == '{' && i + 2 < text.size() && text[i + 2] == '}';
    if (!placeholder) {
      out += text[i];
      continue;
    }
    const char c = text[i + 1];
    const std::size_t slot = c == 'x' ? 0 : static_cast<std::size_t>(c - 'a');
    if (c == 'y') {
      out += output;
    } else if (c == 'g') {
      out += upstream;
    } else if ((c == 'x' || (c >= 'a' && c <= 'c')) && slot < inputs.size()) {
      out += inputs[slot];
    } else {
      out.append(text.substr(i, 3));
    }
    i += 2;
  }
  return out;
}

}  // namespace retrograd
