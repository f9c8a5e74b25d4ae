#pragma once
// Internal: the table of Sequential::summary() and Model::summary().

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace retrograd::nn::detail {

/// Columns as wide as their longest entry plus two spaces (the last one without the spaces),
/// and at least their minimum width: long layer names and 4-d shapes must not run into the
/// next column.
class SummaryTable {
 public:
  SummaryTable(const std::vector<std::vector<std::string>>& rows, std::vector<std::size_t> minimum)
      : widths_(std::move(minimum)) {
    for (const auto& row : rows) {
      for (std::size_t c = 0; c < widths_.size(); ++c) {
        const std::size_t gap = c + 1 < widths_.size() ? 2 : 0;
        widths_[c] = std::max(widths_[c], row[c].size() + gap);
      }
    }
  }
  /// The row as one line, with its newline.
  std::string line(const std::vector<std::string>& cells) const {
    std::string out = " ";
    for (std::size_t c = 0; c + 1 < widths_.size(); ++c) {
      out += cells[c] + std::string(widths_[c] - std::min(widths_[c], cells[c].size()), ' ');
    }
    return out + cells.back() + "\n";
  }
  /// The width of the table's rules.
  std::size_t width() const {
    std::size_t total = 1;
    for (const std::size_t w : widths_) total += w;
    return total;
  }

 private:
  std::vector<std::size_t> widths_;
};

}  // namespace retrograd::nn::detail
