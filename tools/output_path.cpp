#include "output_path.hpp"

#include <filesystem>
#include <retrograd/io/atomic_file.hpp>

#include "commands.hpp"

namespace retrograd::cli {

void check_output_path(const char* flag, const std::string& path, bool replace, bool directory) {
  namespace fs = std::filesystem;
  if (path.empty()) return;
  std::error_code ec;
  const fs::path parent = directory ? fs::path(path) : fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    if (fs::exists(parent, ec)) {
      throw UsageError(std::string(flag) + ": " + parent.string() +
                       " exists and is not a directory");
    }
    fs::create_directories(parent, ec);
    if (ec) {
      throw UsageError(std::string(flag) + ": cannot create " + parent.string() + ": " +
                       ec.message());
    }
  }
  if (!directory && !replace && fs::exists(fs::symlink_status(path, ec))) {
    throw UsageError(std::string(flag) + ": " + path +
                     " already exists; give --overwrite to replace it, or another path");
  }
  try {
    io::check_writable(directory ? (fs::path(path) / "checkpoint-0.rg").string() : path, flag);
  } catch (const io::FileWriteError& e) {
    throw UsageError(e.what());
  }
}

}  // namespace retrograd::cli
