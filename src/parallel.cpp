#include "retrograd/parallel.hpp"

#include <cblas.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "retrograd/blas.hpp"

namespace retrograd {

namespace {

thread_local bool inside_body = false;

// Workers sleep on a condition variable between loops instead of spinning: on two cores a
// spinning worker would take the core OpenBLAS's own worker needs for the next product.
class ThreadPool {
 public:
  ~ThreadPool() { resize(1); }

  int size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return threads_;
  }

  void resize(int threads) {
    std::lock_guard<std::mutex> busy(busy_);
    stop_workers();
    std::lock_guard<std::mutex> lock(mutex_);
    threads_ = threads;
    stop_ = false;
    // A new worker must not take the last loop, long finished, for a new one.
    for (int i = 1; i < threads; ++i) {
      workers_.emplace_back([this, i, seen = generation_] { work(i, seen); });
    }
  }

  // Splits [0, n) into up to max_chunks chunks, one per thread: chunk 0 runs on the caller,
  // chunk i on worker i. False (nothing ran) when another caller holds the pool or there is
  // one thread.
  bool run(std::size_t n, std::size_t max_chunks,
           const std::function<void(std::size_t, std::size_t)>& body) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    std::size_t chunks = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      chunks = std::min<std::size_t>(max_chunks, static_cast<std::size_t>(threads_));
      if (chunks < 2) return false;
      body_ = &body;
      n_ = n;
      chunks_ = chunks;
      remaining_ = chunks - 1;
      ++generation_;
    }
    work_ready_.notify_all();
    run_chunk(body, n, chunks, 0);
    std::unique_lock<std::mutex> lock(mutex_);
    work_done_.wait(lock, [this] { return remaining_ == 0; });
    body_ = nullptr;
    return true;
  }

 private:
  // noexcept: a body that throws ends the program rather than leave workers running on a loop
  // whose caller has gone.
  static void run_chunk(const std::function<void(std::size_t, std::size_t)>& body, std::size_t n,
                        std::size_t chunks, std::size_t index) noexcept {
    const std::size_t begin = n * index / chunks, end = n * (index + 1) / chunks;
    inside_body = true;
    body(begin, end);
    inside_body = false;
  }

  void work(std::size_t index, std::uint64_t seen) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      work_ready_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (index >= chunks_) continue;
      const auto* body = body_;
      const std::size_t n = n_, chunks = chunks_;
      lock.unlock();
      run_chunk(*body, n, chunks, index);
      lock.lock();
      if (--remaining_ == 0) work_done_.notify_one();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    work_ready_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  std::mutex busy_;  // held by the one caller whose loop the workers run
  std::mutex mutex_;
  std::condition_variable work_ready_, work_done_;
  std::vector<std::thread> workers_;
  int threads_ = 1;
  bool stop_ = false;
  std::uint64_t generation_ = 0;
  const std::function<void(std::size_t, std::size_t)>* body_ = nullptr;
  std::size_t n_ = 0, chunks_ = 1, remaining_ = 0;
};

ThreadPool& pool() {
  static ThreadPool instance;
  static std::once_flag sized;
  std::call_once(sized, [] { instance.resize(std::max(1, openblas_get_num_threads())); });
  return instance;
}

}  // namespace

void set_threads(int threads) {
  if (threads < 1) {
    throw std::invalid_argument("set_threads: thread count must be at least 1 (got " +
                                std::to_string(threads) + ")");
  }
  set_blas_threads(threads);
  pool().resize(threads);
}

int thread_count() { return pool().size(); }

namespace detail {

void parallel_for(std::size_t n, std::size_t grain,
                  const std::function<void(std::size_t, std::size_t)>& body) {
  if (n == 0) return;
  const std::size_t by_size = grain == 0 ? n : n / grain;
  if (!inside_body && by_size >= 2 && pool().run(n, by_size, body)) return;
  body(0, n);
}

}  // namespace detail

}  // namespace retrograd
