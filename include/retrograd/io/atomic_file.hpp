#pragma once
/// @file atomic_file.hpp
/// Durable, atomic file replacement: every save in retrograd (models, weights, history) goes
/// through write_file_atomically(), so a reader, a crash or a concurrent save never sees a
/// partial file.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace retrograd::io {

/// Thrown when a file cannot be written or an output path is unusable. `what()` is
/// "[<context>: ]<path>: <reason>", the reason ending with the operating system's error text
/// where there is one ("cannot create a temporary file in out: Permission denied").
class FileWriteError : public std::runtime_error {
 public:
  /// An error about `path`; `context` (a flag such as "--save") prefixes the message.
  FileWriteError(std::string path, std::string reason, const std::string& context = {});
  /// The file that could not be written.
  const std::string& path() const { return path_; }
  /// What went wrong, without the path.
  const std::string& reason() const { return reason_; }

 private:
  std::string path_;
  std::string reason_;
};

/// Options of write_file_atomically().
struct AtomicWriteOptions {
  /// Called when the temporary file is complete and flushed to disk, before it is renamed over
  /// the target; its argument is the temporary file's name. If it throws, the temporary file is
  /// removed, the target is left as it was and the exception propagates (tests use it to stop
  /// a save between write and rename).
  std::function<void(const std::string& temp_path)> before_rename;
};

/// Replaces the file `path` with `size` bytes from `data`, atomically and durably: the bytes go
/// to a new uniquely named temporary file in the same directory (`<name>.tmp-XXXXXXXXXXXX`,
/// created exclusively), which is fsync'ed, renamed over `path`, and then the directory is
/// fsync'ed. A reader sees either the old file or the new one, never a mix; concurrent saves to
/// one path (threads or processes) each succeed and the last rename wins. A symbolic link at
/// `path` is followed: its target is replaced. New files get the mode 0666 minus the umask.
///
/// On failure (directory missing or not writable, disk full, `path` a directory or not a regular
/// file) the temporary file is removed, the old file is left intact and FileWriteError is thrown
/// naming `path` and the reason.
void write_file_atomically(const std::string& path, const void* data, std::size_t size,
                           const AtomicWriteOptions& options = {});

/// write_file_atomically() of a byte vector.
inline void write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes,
                                  const AtomicWriteOptions& options = {}) {
  write_file_atomically(path, bytes.data(), bytes.size(), options);
}

/// Checks, before any long work, that write_file_atomically(path, ...) can succeed: `path` is
/// not empty, not a directory and not another non-regular file, its directory exists, and a file
/// can be created there (a probe file is created and removed). Throws FileWriteError with
/// `what` (the flag or the role of the file, "--save") as its context. A full disk is found only
/// when the file is written.
void check_writable(const std::string& path, const std::string& what);

}  // namespace retrograd::io
