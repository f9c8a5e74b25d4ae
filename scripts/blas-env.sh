# Sourced by the scripts: selects OpenBLAS's fast kernels on CPUs that Debian's OpenBLAS 0.3.21
# does not recognise (it would fall back to SSE3 kernels, 5x slower). A value the user set wins.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
