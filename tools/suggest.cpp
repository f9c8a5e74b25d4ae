#include "suggest.hpp"

#include <algorithm>
#include <cstddef>

namespace retrograd::cli {

namespace {

/// Optimal-string-alignment distance: a swapped pair ("trian") costs 1, as a typist's slip does.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

/// Leading dashes do not count towards a flag's length: "--lr" is a two-letter word.
std::size_t word_length(const std::string& s) {
  const std::size_t dashes = s.find_first_not_of('-');
  return dashes == std::string::npos ? 0 : s.size() - dashes;
}

}  // namespace

std::vector<std::string> closest_names(const std::string& typed,
                                       const std::vector<std::string>& known) {
  const std::size_t length = word_length(typed);
  const std::size_t allowed = length <= 4 ? 1 : length <= 8 ? 2 : 3;
  std::size_t best = allowed + 1;
  std::vector<std::string> out;
  for (const std::string& name : known) {
    const std::size_t d = edit_distance(typed, name);
    if (d == 0 || d > allowed || d > best) continue;
    if (d < best) out.clear();
    best = d;
    out.push_back(name);
  }
  return out;
}

std::string did_you_mean(const std::string& typed, const std::vector<std::string>& known) {
  const std::vector<std::string> names = closest_names(typed, known);
  if (names.empty()) return "";
  std::string text = "; did you mean ";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += "'" + names[i] + "'";
  }
  return text + "?";
}

}  // namespace retrograd::cli
