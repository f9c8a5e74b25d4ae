#pragma once
// "Did you mean": the known names closest to a mistyped one (a subcommand, a flag, a value).

#include <string>
#include <vector>

namespace retrograd::cli {

/// The names in `known` nearest to `typed` by edit distance (insertions, deletions,
/// substitutions and swaps of two neighbours), when that distance is small for the word's
/// length (at most 1 for 4 characters, 2 up to 8, 3 beyond); several when tied; none when no
/// name is that close.
std::vector<std::string> closest_names(const std::string& typed,
                                       const std::vector<std::string>& known);

/// "; did you mean 'train'?" (or "'a' or 'b'?") for closest_names(typed, known); "" when none.
std::string did_you_mean(const std::string& typed, const std::vector<std::string>& known);

}  // namespace retrograd::cli
