// Durable saves: concurrent writers (threads and processes) never expose a partial file to a
// reader; a full disk, a read-only directory or an unusable target leave the old file and no
// temporary file behind; check_writable() finds unusable output paths before any work.

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "retrograd/io/atomic_file.hpp"

using namespace retrograd;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("retrograd_test_atomic_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A self-checking file: 4 bytes of its own length, then `tag` repeated.
std::string make_content(unsigned char tag, std::uint32_t size) {
  std::string s(size, static_cast<char>(tag));
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(size >> (8 * i));
  return s;
}

/// Empty when `s` is a complete file of make_content(), else what is wrong with it.
std::string check_content(const std::string& s) {
  if (s.size() < 5) return "only " + std::to_string(s.size()) + " bytes";
  std::uint32_t size = 0;
  for (int i = 0; i < 4; ++i)
    size |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])) << (8 * i);
  if (size != s.size()) {
    return "claims " + std::to_string(size) + " bytes, has " + std::to_string(s.size());
  }
  if (s.find_first_not_of(s[4], 4) != std::string::npos) return "mixed content";
  return "";
}

void write_string(const fs::path& path, const std::string& s) {
  io::write_file_atomically(path.string(), s.data(), s.size());
}

/// The message of the FileWriteError `f` throws ("no error" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const io::FileWriteError& e) {
    return e.what();
  }
  return "no error";
}

/// A process-wide file size limit, with SIGXFSZ ignored so that writing past it fails with
/// EFBIG: the same failure as a full disk, at a size of our choosing.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = nullptr;
};

}  // namespace

TEST_CASE("write_file_atomically replaces a file and leaves nothing else", "[io][atomic]") {
  const fs::path dir = temp_dir("basic");
  const fs::path path = dir / "data.bin";
  write_string(path, "first");
  CHECK(read_all(path) == "first");
  write_string(path, "second version");
  CHECK(read_all(path) == "second version");
  write_string(path, "");
  CHECK(read_all(path).empty());
  CHECK(listing(dir) == std::vector<std::string>{"data.bin"});

  // Created like any new file: 0666 minus the umask, not mkstemp's 0600.
  const mode_t mask = umask(0);
  umask(mask);
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == (0666 & ~mask));

  // A relative path writes in the current directory.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir);
  write_string("relative.bin", "here");
  fs::current_path(cwd);
  CHECK(read_all(dir / "relative.bin") == "here");
}

TEST_CASE("write_file_atomically replaces the target of a symbolic link", "[io][atomic]") {
  const fs::path dir = temp_dir("symlink");
  fs::create_directories(dir / "real");
  write_string(dir / "real" / "model.rg", "old");
  fs::create_symlink("real/model.rg", dir / "link.rg");
  write_string(dir / "link.rg", "new");
  CHECK(fs::is_symlink(dir / "link.rg"));
  CHECK(read_all(dir / "real" / "model.rg") == "new");
  CHECK(listing(dir / "real") == std::vector<std::string>{"model.rg"});

  fs::create_symlink("nowhere/model.rg", dir / "dangling.rg");
  CHECK_THAT(error_of([&] { write_string(dir / "dangling.rg", "x"); }),
             Catch::Contains("dangling.rg: cannot follow the symbolic link"));
}

TEST_CASE("threads saving to one path never expose a partial file", "[io][atomic]") {
  const fs::path dir = temp_dir("threads");
  const fs::path path = dir / "shared.bin";
  write_string(path, make_content('a', 1000));
  constexpr int writers = 4, saves = 40;
  std::atomic<int> running{writers};
  std::atomic<int> failures{0};
  std::vector<std::string> writer_errors(writers);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      try {
        for (int i = 0; i < saves; ++i) {
          // Sizes from 5 bytes to 160 KiB, so a torn file would show as a wrong length.
          const auto size = static_cast<std::uint32_t>(5 + ((w * 7919 + i * 104729) % 163840));
          write_string(path, make_content(static_cast<unsigned char>('b' + w), size));
        }
      } catch (const std::exception& e) {
        writer_errors[w] = e.what();
      }
      --running;
    });
  }
  int reads = 0;
  std::string first_problem;
  while (running > 0) {
    const std::string problem = check_content(read_all(path));
    if (!problem.empty() && first_problem.empty()) first_problem = problem;
    if (!problem.empty()) ++failures;
    ++reads;
  }
  for (auto& t : threads) t.join();
  for (const std::string& e : writer_errors) CHECK(e.empty());
  INFO(reads << " reads; first problem: " << first_problem);
  CHECK(failures == 0);
  CHECK(reads > 0);
  CHECK(check_content(read_all(path)).empty());
  CHECK(listing(dir) == std::vector<std::string>{"shared.bin"});
}

TEST_CASE("processes saving to one path never expose a partial file", "[io][atomic]") {
  const fs::path dir = temp_dir("processes");
  const fs::path path = dir / "shared.bin";
  write_string(path, make_content('a', 1000));
  constexpr int writers = 3, saves = 40;
  std::vector<pid_t> children;
  for (int w = 0; w < writers; ++w) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int status = 0;
      try {
        for (int i = 0; i < saves; ++i) {
          const auto size = static_cast<std::uint32_t>(5 + ((w * 7919 + i * 104729) % 163840));
          write_string(path, make_content(static_cast<unsigned char>('b' + w), size));
        }
      } catch (...) {
        status = 1;
      }
      _exit(status);
    }
    children.push_back(pid);
  }
  int reads = 0, failures = 0;
  std::string first_problem;
  std::size_t finished = 0;
  std::vector<int> statuses;
  while (finished < children.size()) {
    const std::string problem = check_content(read_all(path));
    if (!problem.empty()) {
      ++failures;
      if (first_problem.empty()) first_problem = problem;
    }
    ++reads;
    int status = 0;
    const pid_t done = waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      statuses.push_back(status);
      ++finished;
    }
  }
  for (int status : statuses) {
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  INFO(reads << " reads; first problem: " << first_problem);
  CHECK(failures == 0);
  CHECK(reads > 0);
  CHECK(listing(dir) == std::vector<std::string>{"shared.bin"});
}

TEST_CASE("a save that runs out of space keeps the old file and removes its temporary file",
          "[io][atomic]") {
  const fs::path dir = temp_dir("full");
  const fs::path path = dir / "model.rg";
  write_string(path, "the old model");
  std::string message;
  {
    const FileSizeLimit limit(4096);
    message = error_of([&] { write_string(path, std::string(65536, 'x')); });
  }
  CHECK(message == path.string() + ": write failed: File too large");
  CHECK(read_all(path) == "the old model");
  CHECK(listing(dir) == std::vector<std::string>{"model.rg"});
}

TEST_CASE("a save into a directory it cannot write keeps the old file", "[io][atomic]") {
  const fs::path dir = temp_dir("readonly");
  const fs::path path = dir / "model.rg";
  write_string(path, "the old model");
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  // Root writes anywhere: the attempt runs in a child that drops to an unprivileged user (as
  // root) or in-process on a directory made read-only (as anyone else).
  const bool root = geteuid() == 0;
  if (!root) fs::permissions(dir, fs::perms::owner_write, fs::perm_options::remove);
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(pipe_fds[0]);
    std::string report;
    if (root && (setgid(65534) != 0 || setuid(65534) != 0)) {
      report = "cannot drop root privileges";
    } else {
      report = error_of([&] { write_string(path, "the new model"); }) + "\n" +
               error_of([&] { io::check_writable(path.string(), "--save"); });
    }
    const ssize_t written = write(pipe_fds[1], report.data(), report.size());
    _exit(written == static_cast<ssize_t>(report.size()) ? 0 : 1);
  }
  close(pipe_fds[1]);
  std::string report;
  char buffer[512];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) report.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  if (!root) fs::permissions(dir, fs::perms::owner_write, fs::perm_options::add);
  CHECK(report == path.string() + ": cannot create a temporary file in " + dir.string() +
                      ": Permission denied\n--save: " + path.string() +
                      ": cannot create files in " + dir.string() + ": Permission denied");
  CHECK(read_all(path) == "the old model");
  CHECK(listing(dir) == std::vector<std::string>{"model.rg"});
}

TEST_CASE("a target that cannot be replaced is a clear error and leaves nothing behind",
          "[io][atomic]") {
  const fs::path dir = temp_dir("unwritable");
  fs::create_directories(dir / "sub");
  write_string(dir / "file", "a file");
  CHECK(error_of([&] { write_string(dir / "sub", "x"); }) ==
        (dir / "sub").string() + ": is a directory");
  CHECK(error_of([&] { write_string(dir / "file" / "model.rg", "x"); }) ==
        (dir / "file" / "model.rg").string() + ": cannot create a temporary file in " +
            (dir / "file").string() + ": Not a directory");
  CHECK(error_of([&] { write_string(dir / "missing" / "model.rg", "x"); }) ==
        (dir / "missing" / "model.rg").string() + ": cannot create a temporary file in " +
            (dir / "missing").string() + ": No such file or directory");
  CHECK(error_of([&] { io::write_file_atomically("/dev/null", "x", 1); }) ==
        "/dev/null: is not a regular file");
  CHECK(error_of([&] { io::write_file_atomically("", "x", 1); }) == "the path is empty");
  CHECK(listing(dir) == std::vector<std::string>{"file", "sub"});
  CHECK(fs::is_empty(dir / "sub"));
  CHECK(read_all(dir / "file") == "a file");
}

TEST_CASE("a save stopped before its rename removes its temporary file", "[io][atomic]") {
  const fs::path dir = temp_dir("stopped");
  const fs::path path = dir / "model.rg";
  write_string(path, "old");
  io::AtomicWriteOptions stop;
  std::string seen;
  stop.before_rename = [&](const std::string& temp) {
    seen = temp;
    CHECK(read_all(temp) == "new");
    CHECK(fs::path(temp).parent_path() == dir);
    CHECK(fs::path(temp).filename().string().rfind("model.rg.tmp-", 0) == 0);
    throw std::runtime_error("stopped");
  };
  CHECK_THROWS_WITH(io::write_file_atomically(path.string(), "new", 3, stop), "stopped");
  CHECK_FALSE(seen.empty());
  CHECK(read_all(path) == "old");
  CHECK(listing(dir) == std::vector<std::string>{"model.rg"});
}

TEST_CASE("check_writable accepts usable paths and names the problem with the others",
          "[io][atomic]") {
  const fs::path dir = temp_dir("check");
  fs::create_directories(dir / "sub");
  write_string(dir / "file", "a file");
  io::check_writable((dir / "new.rg").string(), "--save");
  io::check_writable((dir / "file").string(), "--save");           // an existing file is replaced
  CHECK(listing(dir) == std::vector<std::string>{"file", "sub"});  // the probe is gone

  CHECK(error_of([&] { io::check_writable((dir / "sub").string(), "--save"); }) ==
        "--save: " + (dir / "sub").string() + ": is a directory");
  CHECK(error_of([&] { io::check_writable((dir / "sub").string() + "/", "--plot"); }) ==
        "--plot: " + (dir / "sub").string() + "/: names a directory");
  CHECK(error_of([&] { io::check_writable((dir / "no" / "h.csv").string(), "--history"); }) ==
        "--history: " + (dir / "no" / "h.csv").string() + ": directory " + (dir / "no").string() +
            " does not exist");
  CHECK(error_of([&] { io::check_writable((dir / "file" / "m.rg").string(), "--save"); }) ==
        "--save: " + (dir / "file" / "m.rg").string() + ": " + (dir / "file").string() +
            " is not a directory");
  CHECK(error_of([&] { io::check_writable("", "--save"); }) == "--save: the path is empty");
  CHECK(listing(dir) == std::vector<std::string>{"file", "sub"});
}
