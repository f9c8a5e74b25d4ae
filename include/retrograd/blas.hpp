#pragma once
/// @file blas.hpp
/// OpenBLAS runtime facts and the fast-kernel switch.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and falls back to SSE3 kernels that
/// are about 5x slower. It reads `OPENBLAS_CORETYPE` only when it loads, before `main` runs, so
/// the only in-process fix is to set the variable and re-execute the program.

#include <string>

namespace retrograd {

/// Name of the kernel OpenBLAS chose ("Haswell", "SkylakeX", "Prescott", ...).
std::string blas_core_name();

/// The kernel this CPU should use ("SkylakeX" with AVX-512, "Haswell" with AVX2), or "" when
/// OpenBLAS's own choice is already right.
std::string preferred_blas_core();

/// True when OpenBLAS runs a generic fallback kernel that this CPU could beat.
bool blas_on_fallback_kernel();

/// Call first thing in `main`: when OpenBLAS picked a fallback kernel and the user did not set
/// `OPENBLAS_CORETYPE`, sets it and re-executes the program with the same arguments (the
/// process image is replaced; nothing before this call should have side effects). Returns
/// normally when nothing needs doing or the re-exec is impossible.
void ensure_fast_blas(char** argv);

/// Prints one warning to stderr (once per process) when OpenBLAS runs a fallback kernel.
/// The library calls it on its first matrix product.
void warn_if_slow_blas();

/// Sets the number of threads matrix products use for the rest of the process (OpenBLAS's, and
/// oneDNN's OpenMP pool in a RETROGRAD_ONEDNN build); throws std::invalid_argument for a count
/// below 1.
void set_blas_threads(int threads);

/// The library float32 matrix products go through: "OpenBLAS", or "oneDNN" in a build with
/// RETROGRAD_ONEDNN (double precision always uses OpenBLAS).
std::string gemm_backend();

}  // namespace retrograd
