#pragma once
/// @file parallel.hpp
/// The library's thread count, shared by OpenBLAS and the library's own elementwise loops.
///
/// OpenBLAS runs matrix products on its thread pool; between products a training step does
/// elementwise work of its own (optimizer updates, batch gathering) that would otherwise leave
/// every core but one idle. The library splits those loops over a small pool of its own, sized
/// like OpenBLAS's. No OpenMP: on two cores its spinning workers starve OpenBLAS's.

#include <cstddef>
#include <functional>

namespace retrograd {

/// Sets the threads used by OpenBLAS and by the library's elementwise loops (at least 1).
/// Throws std::invalid_argument for a count below 1.
void set_threads(int threads);

/// The thread count in effect: the last set_threads, or OpenBLAS's own (OPENBLAS_NUM_THREADS,
/// else the number of cores).
int thread_count();

namespace detail {
/// Calls `body(begin, end)` on contiguous chunks that cover [0, n) exactly once, on up to
/// thread_count() threads, each chunk at least `grain` long; on the calling thread alone when n
/// is small, when the pool is busy with another caller, or when called from inside a body.
/// Returns when every chunk is done. `body` must not throw; each chunk must be independent of
/// the others (results do not depend on the thread count).
void parallel_for(std::size_t n, std::size_t grain,
                  const std::function<void(std::size_t, std::size_t)>& body);
}  // namespace detail

}  // namespace retrograd
