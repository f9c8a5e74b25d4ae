// libFuzzer target, differential: the gradients backward() gives are compared with central
// finite differences in double. Two kinds of input:
// - "OPTB" then bytes: one op of the op table (retrograd/op_table.hpp), so every op in the
//   table is covered: the bytes pick the row, one case of its gradient-check domain (shapes
//   and extra arguments), the input values within the case's range, and the output weights;
// - anything else: a random expression over three [2, 3] variables (elementwise ops,
//   broadcasting reductions, softmax, matmul, reshape).
// A mismatch is a finding: the program or op, the point and both gradients are printed, then
// abort.
//
// Points where finite differences cannot see the derivative are skipped, not reported: near a
// kink or tie (relu, abs, max, min, an axis max), near a domain edge (log, div, pow), where a
// value is large (roundoff) or not finite, and where two step sizes disagree (not smooth).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <retrograd/op_table.hpp>
#include <retrograd/ops.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_input.hpp"

namespace {

using namespace retrograd;

/// Thrown when the point is one finite differences cannot check.
struct Skip {};

constexpr std::size_t rows = 2, cols = 3;
constexpr int op_count = 22;
constexpr double kink_margin = 1e-3;
constexpr double domain_margin = 1e-2;
constexpr double largest = 1e4;

struct Instruction {
  int op;
  std::size_t a, b, c;
  int axis;
  double power;
};

struct Program {
  std::vector<TensorD> inputs;  // three [2, 3] points
  std::vector<Instruction> code;
  TensorD weights;  // the output is sum(weights * last value)
};

double min_abs(const TensorD& t) {
  double m = INFINITY;
  for (double v : t) m = std::min(m, std::fabs(v));
  return m;
}

void require_moderate(const TensorD& t) {
  for (double v : t) {
    if (!std::isfinite(v) || std::fabs(v) > largest) throw Skip();
  }
}

/// The gap between the two largest entries of each slice along `axis` must exceed the margin.
void require_no_tie_along(const TensorD& t, int axis) {
  const std::size_t outer = axis == 0 ? cols : rows, inner = axis == 0 ? rows : cols;
  for (std::size_t o = 0; o < outer; ++o) {
    double first = -INFINITY, second = -INFINITY;
    for (std::size_t i = 0; i < inner; ++i) {
      const double v = axis == 0 ? t(i, o) : t(o, i);
      if (v > first) {
        second = first;
        first = v;
      } else if (v > second) {
        second = v;
      }
    }
    if (first - second < kink_margin) throw Skip();
  }
}

Program decode(const std::uint8_t* data, std::size_t size) {
  fuzz::Cursor in(data, size);
  Program p;
  for (int v = 0; v < 3; ++v) {
    TensorD t = TensorD::from_shape({rows, cols});
    for (double& x : t) x = (static_cast<int>(in.u16()) - 32768) / 8192.0;  // [-4, 4)
    p.inputs.push_back(t);
  }
  p.weights = TensorD::from_shape({rows, cols});
  for (double& w : p.weights) w = (static_cast<int>(in.byte()) - 128) / 64.0;
  const std::size_t length = 1 + in.byte() % 12;
  static const double powers[] = {2, 3, 0.5, -1, 1.5, -2};
  for (std::size_t k = 0; k < length; ++k) {
    const std::size_t live = 3 + k;
    p.code.push_back({in.byte() % op_count, in.byte() % live, in.byte() % live, in.byte() % live,
                      in.byte() % 2, powers[in.byte() % 6]});
  }
  return p;
}

/// Runs the program on `point`; `check` rejects (throws Skip) the points finite differences
/// cannot judge, and is only asked at the point itself (its margins cover the small steps).
VarD run(const Program& p, const std::vector<TensorD>& point, std::vector<VarD>* leaves,
         bool check) {
  std::vector<VarD> values;
  for (const TensorD& t : point) values.emplace_back(t, requires_grad);
  if (leaves) *leaves = values;
  for (const Instruction& in : p.code) {
    const VarD& a = values[in.a];
    const VarD& b = values[in.b];
    const VarD& c = values[in.c];
    const TensorD& av = a.value();
    const TensorD& bv = b.value();
    auto require = [&](bool fine) {
      if (check && !fine) throw Skip();
    };
    VarD out;
    switch (in.op) {
      case 0:
        out = a + b;
        break;
      case 1:
        out = a - b;
        break;
      case 2:
        out = a * b;
        break;
      case 3:
        require(min_abs(bv) > domain_margin);
        out = a / b;
        break;
      case 4:
        out = -a;
        break;
      case 5:
        require(min_abs(TensorD(av - bv)) > kink_margin);
        out = maximum(a, b);
        break;
      case 6:
        require(min_abs(TensorD(av - bv)) > kink_margin);
        out = minimum(a, b);
        break;
      case 7:
        require(min_abs(av) > kink_margin);
        out = relu(a);
        break;
      case 8:
        out = sigmoid(a);
        break;
      case 9:
        out = tanh(a);
        break;
      case 10:
        out = exp(a);
        break;
      case 11:
        require(xt::amin(av)() > domain_margin);
        out = log(a);
        break;
      case 12:
        require(min_abs(av) > kink_margin);
        out = abs(a);
        break;
      case 13:
        require(std::trunc(in.power) == in.power ? min_abs(av) > domain_margin
                                                 : xt::amin(av)() > domain_margin);
        out = pow(a, in.power);
        break;
      case 14:
        require(xt::amin(av)() > domain_margin);
        out = pow(a, b);
        break;
      case 15:
        out = a * sum(b, in.axis, true);
        break;
      case 16:
        out = a - mean(b, in.axis, true);
        break;
      case 17:
        if (check) require_no_tie_along(bv, in.axis);
        out = a + max(b, in.axis, true);
        break;
      case 18:
        out = softmax(a, in.axis);
        break;
      case 19:
        out = log_softmax(a, in.axis);
        break;
      case 20:
        out = matmul(matmul(a, transpose(b)), c);
        break;
      default:
        out = reshape(transpose(a), Shape{rows, cols}) * mean(b);
        break;
    }
    if (check) require_moderate(out.value());
    values.push_back(out);
  }
  return sum(values.back() * VarD(p.weights));
}

[[noreturn]] void report(const Program& p, std::size_t input, std::size_t element, double analytic,
                         double numeric) {
  std::fprintf(stderr,
               "gradient mismatch: d/d input %zu element %zu: backward %.17g, finite "
               "differences %.17g\nprogram (op a b c axis power):\n",
               input, element, analytic, numeric);
  for (const Instruction& in : p.code) {
    std::fprintf(stderr, "  %d %zu %zu %zu %d %g\n", in.op, in.a, in.b, in.c, in.axis, in.power);
  }
  for (std::size_t i = 0; i < p.inputs.size(); ++i) {
    std::fprintf(stderr, "input %zu: %s\n", i, values_string(p.inputs[i], 6).c_str());
  }
  std::abort();
}

/// The table mode: one case of one row, at values the bytes choose.
void check_table_op(fuzz::Cursor& in) {
  const std::vector<OpRow>& table = op_table();
  const OpRow& row = table[in.u16() % table.size()];
  const OpCheck& check = row.checks.at(in.byte() % row.checks.size());
  if (!check.differentiable) return;
  std::vector<TensorD> point;
  for (std::size_t i = 0; i < check.shapes.size(); ++i) {
    const bool positive =
        std::find(check.positive.begin(), check.positive.end(), i) != check.positive.end();
    TensorD t = TensorD::from_shape(check.shapes[i]);
    for (double& v : t) {
      const std::uint16_t bits = in.u16();
      const double magnitude = check.low + (check.high - check.low) * (bits >> 1) / 32768.0;
      v = (positive || (bits & 1)) ? magnitude : -magnitude;
    }
    point.push_back(std::move(t));
  }
  const auto output = [&](const std::vector<TensorD>& at, std::vector<VarD>* leaves) {
    std::vector<VarD> vars;
    for (const TensorD& t : at) vars.emplace_back(t, requires_grad);
    if (leaves) *leaves = vars;
    return check.call(vars);
  };
  std::vector<VarD> leaves;
  const VarD out = output(point, &leaves);
  TensorD weights = TensorD::from_shape(out.shape());
  fuzz::Cursor w(reinterpret_cast<const std::uint8_t*>(row.name), std::string(row.name).size());
  for (double& x : weights) x = (static_cast<int>(w.byte()) % 7 - 3) / 2.0 + 0.25;
  const VarD f = sum(out * VarD(weights));
  require_moderate(f.value());
  f.backward();
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    const TensorD analytic = leaves[i].has_grad() ? leaves[i].grad() : TensorD(point[i] * 0.0);
    for (std::size_t e = 0; e < point[i].size(); ++e) {
      const auto shifted = [&](double h) {
        std::vector<TensorD> at = point;
        at[i].data()[e] += h;
        return output(at, nullptr).value();
      };
      const auto weighted = [&](const TensorD& o) {
        double total = 0;
        for (std::size_t k = 0; k < o.size(); ++k) total += o.data()[k] * weights.data()[k];
        return total;
      };
      const double h = 2.5e-6;
      const TensorD here = shifted(0), up = shifted(h), down = shifted(-h);
      const double coarse = (weighted(shifted(1e-5)) - weighted(shifted(-1e-5))) / 2e-5;
      const double fine = (weighted(up) - weighted(down)) / (2 * h);
      const double g = analytic.data()[e];
      const double scale = std::max({1.0, std::fabs(g), std::fabs(fine)});
      if (!std::isfinite(coarse) || !std::isfinite(fine)) throw Skip();
      // A kink or tie here: the central differences disagree, or, at an exact tie (where both
      // are the average of the two slopes), the one-sided ones do, in some output (in the
      // weighted sum, two outputs' jumps can cancel: one input tied in two max-pool windows).
      if (std::fabs(coarse - fine) > 1e-5 * scale) continue;
      bool one_sided_agree = true;
      for (std::size_t k = 0; k < here.size(); ++k) {
        const double rise = up.data()[k] - here.data()[k], fall = here.data()[k] - down.data()[k];
        if (std::fabs(rise - fall) / h > 1e-3 * scale) one_sided_agree = false;
      }
      if (!one_sided_agree) continue;
      if (std::fabs(g - fine) > 1e-4 * scale) {
        std::fprintf(stderr,
                     "gradient mismatch: op %s (%s), d/d input %zu element %zu: backward %.17g, "
                     "finite differences %.17g\n",
                     row.name, check.what, i, e, g, fine);
        for (std::size_t k = 0; k < point.size(); ++k) {
          std::fprintf(stderr, "input %zu: %s\n", k, values_string(point[k], 6).c_str());
        }
        std::abort();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size >= 4 && std::string(reinterpret_cast<const char*>(data), 4) == "OPTB") {
    fuzz::Cursor in(data + 4, size - 4);
    try {
      check_table_op(in);
    } catch (const Skip&) {
    } catch (const std::domain_error&) {
    }
    return 0;
  }
  const Program p = decode(data, size);
  try {
    std::vector<VarD> leaves;
    VarD f = run(p, p.inputs, &leaves, /*check=*/true);
    f.backward();
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      const TensorD analytic = leaves[i].has_grad() ? leaves[i].grad() : TensorD(p.inputs[i] * 0.0);
      for (std::size_t e = 0; e < rows * cols; ++e) {
        auto difference = [&](double h) {
          std::vector<TensorD> up = p.inputs, down = p.inputs;
          up[i].data()[e] += h;
          down[i].data()[e] -= h;
          return (run(p, up, nullptr, false).item() - run(p, down, nullptr, false).item()) /
                 (2 * h);
        };
        const double coarse = difference(1e-5), fine = difference(2.5e-6);
        const double g = analytic.data()[e];
        const double scale = std::max({1.0, std::fabs(g), std::fabs(fine)});
        if (!std::isfinite(coarse) || !std::isfinite(fine)) throw Skip();
        if (std::fabs(coarse - fine) > 1e-5 * scale) continue;  // not smooth enough here
        if (std::fabs(g - fine) > 1e-4 * scale) report(p, i, e, g, fine);
      }
    }
  } catch (const Skip&) {
  } catch (const std::domain_error&) {
    // An op refused its input (a negative base in pow's backward): not a gradient to compare.
  }
  return 0;
}
