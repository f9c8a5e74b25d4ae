#include "cli_checks.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace retrograd::cli {

namespace {
std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}
}  // namespace

CLI::Validator whole_number(std::uint64_t min, std::uint64_t max) {
  const std::string range = std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const bool digits =
            !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits) return "expected a whole number from " + range + ", got '" + text + "'";
        std::uint64_t v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec == std::errc::result_out_of_range || v > max) {
          return "must be at most " + std::to_string(max) + ", got " + text;
        }
        if (v < min) return "must be at least " + std::to_string(min) + ", got " + text;
        return "";
      },
      "INT in " + range);
}

namespace {
/// The number `text` holds in full (one leading '+' allowed), or NaN if it holds something else.
double parse_number(const std::string& text) {
  double v = 0;
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+' && end - begin > 1 && begin[1] != '-' && begin[1] != '+') {
    ++begin;
  }
  const auto [ptr, ec] = std::from_chars(begin, end, v);
  return ec == std::errc() && ptr == end && begin != end ? v : std::nan("");
}
}  // namespace

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const double v = parse_number(text);
        if (std::isfinite(v) && v > 0) return "";
        return "must be a finite number above 0, got '" + text + "'";
      },
      "NUMBER > 0");
}

CLI::Validator number_between(double low, double high, Ends ends) {
  const std::string interval = (ends == Ends::open_low ? "(" : "[") + number_text(low) + ", " +
                               number_text(high) + (ends == Ends::open_high ? ")" : "]");
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const double v = parse_number(text);
        const bool above = ends == Ends::open_low ? v > low : v >= low;
        const bool below = ends == Ends::open_high ? v < high : v <= high;
        if (std::isfinite(v) && above && below) return "";
        return "must be a number in " + interval + ", got '" + text + "'";
      },
      "NUMBER in " + interval);
}

}  // namespace retrograd::cli
