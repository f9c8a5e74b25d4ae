#pragma once
// The files a command writes (train's --save, --history, --plot, --checkpoint-dir; the --output
// of predict, export and import): checked before any long work, and an existing file is
// replaced only when the user says so (--overwrite).

#include <string>

namespace retrograd::cli {

/// Fails now, before any work, when `path` could not be written later or names a file that
/// exists and `replace` does not allow replacing ("--output: m.rg already exists; give
/// --overwrite to replace it, or another path"). Missing directories on the way are created (a
/// checkpoint directory too, when `directory`). An empty path is not checked.
void check_output_path(const char* flag, const std::string& path, bool replace,
                       bool directory = false);

}  // namespace retrograd::cli
