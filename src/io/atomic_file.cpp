#include "retrograd/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace retrograd::io {

FileWriteError::FileWriteError(std::string path, std::string reason, const std::string& context)
    : std::runtime_error((context.empty() ? "" : context + ": ") +
                         (path.empty() ? "" : path + ": ") + reason),
      path_(std::move(path)),
      reason_(std::move(reason)) {}

namespace {

namespace fs = std::filesystem;

std::string errno_text(int error) { return std::strerror(error); }

/// Where a save to `path` really goes: the path itself, or the file a symbolic link at `path`
/// points to (replacing the link would silently detach the file the user linked).
std::string resolve_target(const std::string& path, const std::string& context) {
  if (path.empty()) throw FileWriteError(path, "the path is empty", context);
  if (path.back() == '/') throw FileWriteError(path, "names a directory", context);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
  std::error_code ec;
  const fs::path target = fs::canonical(path, ec);
  if (ec) {
    throw FileWriteError(path, "cannot follow the symbolic link: " + ec.message(), context);
  }
  return target.string();
}

/// Refuses an existing `target` that a rename must not replace.
void check_replaceable(const std::string& path, const std::string& target,
                       const std::string& context) {
  struct stat st;
  if (::stat(target.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) throw FileWriteError(path, "is a directory", context);
  if (!S_ISREG(st.st_mode)) throw FileWriteError(path, "is not a regular file", context);
}

fs::path directory_of(const std::string& target) {
  const fs::path dir = fs::path(target).parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

/// Creates a new file next to `target` under a random name no other save can pick (O_EXCL
/// retries on a clash). Returns its descriptor, or -1 with errno set.
int create_temp_file(const std::string& target, std::string& temp_path) {
  const fs::path p(target);
  // Keep the temporary name within NAME_MAX whatever the target's length.
  const std::string base = p.filename().string().substr(0, 200) + ".tmp-";
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::random_device entropy;  // fresh per call: forked processes must not share a sequence
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::uint64_t bits = (static_cast<std::uint64_t>(entropy()) << 32) ^ entropy();
    std::string suffix;
    for (int i = 0; i < 12; ++i, bits /= 36) suffix += digits[bits % 36];
    temp_path = (directory_of(target) / (base + suffix)).string();
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

bool write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void fsync_directory(const std::string& path, const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    throw FileWriteError(path, "written, but cannot open its directory " + dir.string() +
                                   " to fsync it: " + errno_text(error));
  }
  // EINVAL: the file system cannot sync directories (its renames are durable without it).
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const int error = errno;
    ::close(fd);
    throw FileWriteError(path, "written, but fsync of its directory " + dir.string() +
                                   " failed: " + errno_text(error));
  }
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::string& path, const void* data, std::size_t size,
                           const AtomicWriteOptions& options) {
  const std::string target = resolve_target(path, "");
  check_replaceable(path, target, "");
  std::string temp;
  const int fd = create_temp_file(target, temp);
  if (fd < 0) {
    const int error = errno;
    throw FileWriteError(path, "cannot create a temporary file in " +
                                   directory_of(target).string() + ": " + errno_text(error));
  }
  auto fail = [&](const std::string& step, int error) {
    ::unlink(temp.c_str());
    throw FileWriteError(path, step + ": " + errno_text(error));
  };
  if (!write_all(fd, static_cast<const std::uint8_t*>(data), size)) {
    const int error = errno;
    ::close(fd);
    fail("write failed", error);
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    fail("fsync failed", error);
  }
  if (::close(fd) != 0) fail("close failed", errno);
  if (options.before_rename) {
    try {
      options.before_rename(temp);
    } catch (...) {
      ::unlink(temp.c_str());
      throw;
    }
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) fail("cannot replace it", errno);
  fsync_directory(path, directory_of(target));
}

void check_writable(const std::string& path, const std::string& what) {
  const std::string target = resolve_target(path, what);
  check_replaceable(path, target, what);
  const fs::path dir = directory_of(target);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    const int error = errno;
    throw FileWriteError(path,
                         error == ENOENT
                             ? "directory " + dir.string() + " does not exist"
                             : "cannot reach directory " + dir.string() + ": " + errno_text(error),
                         what);
  }
  if (!S_ISDIR(st.st_mode)) throw FileWriteError(path, dir.string() + " is not a directory", what);
  std::string probe;
  const int fd = create_temp_file(target, probe);
  if (fd < 0) {
    const int error = errno;
    throw FileWriteError(path, "cannot create files in " + dir.string() + ": " + errno_text(error),
                         what);
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace retrograd::io
