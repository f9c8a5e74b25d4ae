#include "launch.hpp"

#include <cstdlib>
#include <initializer_list>

namespace retrograd::cli {

namespace {
/// The first of `names` set to a whole number, or `fallback`.
std::size_t env_count(std::initializer_list<const char*> names, std::size_t fallback) {
  for (const char* name : names) {
    const char* text = std::getenv(name);
    if (!text || !*text) continue;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (*end == '\0') return static_cast<std::size_t>(v);
  }
  return fallback;
}
}  // namespace

Launch detect_launch() {
  Launch launch;
  launch.size = env_count({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}, 1);
  launch.rank = env_count({"OMPI_COMM_WORLD_RANK", "PMI_RANK"}, 0);
  launch.local_size = env_count({"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"}, launch.size);
  if (launch.size == 0) launch.size = 1;
  if (launch.local_size == 0) launch.local_size = 1;
  return launch;
}

}  // namespace retrograd::cli
