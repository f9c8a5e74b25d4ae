// parallel_for: every index exactly once whatever the thread count, serial fallbacks (small
// loops, nested calls, a second caller while the pool is busy), and the thread-count setting.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "retrograd/parallel.hpp"

using namespace retrograd;

namespace {
/// Counts, per index, how many times a parallel_for over [0, n) visited it.
std::vector<int> visits(std::size_t n, std::size_t grain) {
  std::vector<std::atomic<int>> seen(n);
  detail::parallel_for(n, grain, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) ++seen[i];
  });
  std::vector<int> out;
  for (auto& s : seen) out.push_back(s.load());
  return out;
}

/// Restores the thread count a test changed.
struct ThreadCountGuard {
  int saved = thread_count();
  ~ThreadCountGuard() { set_threads(saved); }
};
}  // namespace

TEST_CASE("parallel_for covers every index exactly once", "[parallel]") {
  ThreadCountGuard guard;
  for (int threads : {1, 2, 3}) {
    set_threads(threads);
    CHECK(thread_count() == threads);
    for (std::size_t n : {0, 1, 7, 100, 1000, 12345}) {
      for (std::size_t grain : {0, 1, 10, 5000}) {
        const std::vector<int> seen = visits(n, grain);
        CHECK(seen == std::vector<int>(n, 1));
      }
    }
  }
}

TEST_CASE("parallel_for splits large loops over the threads and keeps small ones whole",
          "[parallel]") {
  ThreadCountGuard guard;
  set_threads(2);
  std::atomic<int> chunks{0};
  detail::parallel_for(1000, 100, [&](std::size_t, std::size_t) { ++chunks; });
  CHECK(chunks == 2);
  chunks = 0;
  detail::parallel_for(150, 100, [&](std::size_t begin, std::size_t end) {
    ++chunks;
    CHECK(begin == 0);
    CHECK(end == 150);
  });
  CHECK(chunks == 1);
}

TEST_CASE("parallel_for inside a body, or from two callers at once, still covers everything",
          "[parallel]") {
  ThreadCountGuard guard;
  set_threads(2);
  std::vector<std::atomic<int>> seen(64 * 64);
  detail::parallel_for(64, 1, [&](std::size_t b, std::size_t e) {
    for (std::size_t row = b; row < e; ++row) {
      detail::parallel_for(64, 1, [&](std::size_t cb, std::size_t ce) {
        for (std::size_t c = cb; c < ce; ++c) ++seen[row * 64 + c];
      });
    }
  });
  for (auto& s : seen) CHECK(s.load() == 1);

  std::vector<int> a, b;
  std::thread other([&] {
    for (int k = 0; k < 50; ++k) a = visits(5000, 100);
  });
  for (int k = 0; k < 50; ++k) b = visits(5000, 100);
  other.join();
  CHECK(a == std::vector<int>(5000, 1));
  CHECK(b == std::vector<int>(5000, 1));
}

TEST_CASE("workers started after earlier loops wait for the next one", "[parallel]") {
  ThreadCountGuard guard;
  set_threads(2);
  CHECK(visits(1000, 10) == std::vector<int>(1000, 1));
  // new workers: they must not mistake the finished loop above for work
  set_threads(3);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(visits(1000, 10) == std::vector<int>(1000, 1));
}

TEST_CASE("set_threads rejects a count below one", "[parallel][errors]") {
  CHECK_THROWS_WITH(set_threads(0), Catch::Contains("at least 1") && Catch::Contains("0"));
}
