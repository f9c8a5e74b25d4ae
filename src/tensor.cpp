#include "retrograd/tensor.hpp"

#include <cstdio>
#include <cstdlib>
#include <new>
#include <sstream>
#include <utility>
#include <vector>

#include "buffer_cache.hpp"

namespace retrograd {

namespace detail {

// Note [buffer cache]: a training step allocates the same tensor sizes every time (activations,
// gradients, temporaries), and a scalar graph allocates thousands of tiny buffers. Each thread
// keeps released buffers in free lists by size class and hands them out again, so the steady
// state of a training loop does not touch malloc. Size classes are a quarter of a power of two
// apart (at most 25 % slack). Sanitizer builds bypass the cache so that use-after-free is still
// caught.
namespace {
constexpr std::size_t alignment = 64;
constexpr std::size_t class_count = 4 * 48;
// Cached bytes per thread beyond which released buffers go back to the system.
constexpr std::size_t cache_limit = std::size_t(512) << 20;

std::size_t size_class(std::size_t bytes) {
  if (bytes <= alignment) return 0;
  const int top = 63 - __builtin_clzll(bytes - 1);             // bytes - 1 < 2^(top + 1)
  const std::size_t quarter = ((bytes - 1) >> (top - 2)) & 3;  // which quarter above 2^top
  return static_cast<std::size_t>(top - 5) * 4 + quarter;
}

std::size_t class_bytes(std::size_t cls) {
  if (cls == 0) return alignment;
  const std::size_t top = cls / 4 + 5;
  return (std::size_t(1) << top) + ((cls % 4) + 1) * (std::size_t(1) << (top - 2));
}

// A released buffer holds the link to the next one of its class: keeping the lists needs no
// memory of its own (a vector of pointers grew, and called malloc, while a graph was freed).
struct FreeBuffer {
  FreeBuffer* next;
};

struct BufferCache {
  FreeBuffer* free_lists[class_count] = {};
  std::size_t cached_bytes = 0;
  ~BufferCache();
};

thread_local bool cache_alive = false;
// Set on first use: a thread_local with a destructor costs an initialisation check per access,
// a plain pointer does not, and acquire and release run once per graph node.
thread_local BufferCache* this_thread_cache = nullptr;

BufferCache& cache() {
  if (this_thread_cache) return *this_thread_cache;
  thread_local BufferCache instance;
  cache_alive = true;
  this_thread_cache = &instance;
  return instance;
}

BufferCache::~BufferCache() {
  cache_alive = false;
  this_thread_cache = nullptr;
  for (FreeBuffer* list : free_lists) {
    while (list) std::free(std::exchange(list, list->next));
  }
}

constexpr bool use_cache = buffer_cache_enabled;
}  // namespace

void* acquire_buffer(std::size_t bytes) {
  const std::size_t cls = size_class(bytes);
  if (use_cache && cls < class_count) {
    BufferCache& c = cache();
    FreeBuffer*& list = c.free_lists[cls];
    if (list) {
      void* p = std::exchange(list, list->next);
      c.cached_bytes -= class_bytes(cls);
      return p;
    }
  }
  // aligned_alloc wants a multiple of the alignment; small classes (80, 96, 112, 160, 224
  // bytes) are not, which glibc tolerates and AddressSanitizer reports.
  const std::size_t wanted = cls < class_count ? class_bytes(cls) : bytes;
  const std::size_t rounded = (wanted + alignment - 1) / alignment * alignment;
  // Every buffer is aligned alike, small ones too: xsimd reductions peel a scalar prologue up to
  // the next aligned address, so a buffer's alignment would otherwise change the summation order
  // and make runs with one seed differ in the last bits.
  void* p = std::aligned_alloc(alignment, rounded);
  if (!p) throw std::bad_alloc();
  return p;
}

void release_buffer(void* buffer, std::size_t bytes) noexcept {
  if (!buffer) return;
  const std::size_t cls = size_class(bytes);
  if (use_cache && cls < class_count && cache_alive) {
    BufferCache& c = cache();
    if (c.cached_bytes + class_bytes(cls) <= cache_limit) {
      c.free_lists[cls] = new (buffer) FreeBuffer{c.free_lists[cls]};
      c.cached_bytes += class_bytes(cls);
      return;
    }
  }
  std::free(buffer);
}

}  // namespace detail

std::string shape_string(const Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::string index_string(std::size_t flat, const Shape& shape) {
  Shape index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_string(index);
}

std::size_t shape_size(const Shape& shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

template <class T>
std::string values_string(const BasicTensor<T>& t, std::size_t max_elements) {
  if (t.size() > max_elements) return shape_string(t.shape()) + " tensor";
  std::ostringstream out;
  out.precision(6);
  if (t.dimension() == 0) {
    out << t();
    return out.str();
  }
  out << '[';
  for (std::size_t i = 0; i < t.size(); ++i) out << (i ? ", " : "") << t.data()[i];
  out << ']';
  return out.str();
}

template std::string values_string(const Tensor&, std::size_t);
template std::string values_string(const TensorD&, std::size_t);

namespace {
/// Appends the values of `t` from axis `axis` inward, starting at flat `offset`, as nested lists.
template <class T>
void append_axis(std::ostringstream& out, const BasicTensor<T>& t, std::size_t axis,
                 std::size_t offset, bool summarize) {
  constexpr std::size_t edge = 2;
  const std::size_t length = t.shape()[axis];
  std::size_t stride = 1;
  for (std::size_t a = axis + 1; a < t.dimension(); ++a) stride *= t.shape()[a];
  out << '[';
  for (std::size_t i = 0; i < length; ++i) {
    if (summarize && length > 2 * edge && i == edge) {
      out << ", ...";
      i = length - edge;
    }
    if (i > 0) out << ", ";
    if (axis + 1 == t.dimension()) {
      out << t.data()[offset + i];
    } else {
      append_axis(out, t, axis + 1, offset + i * stride, summarize);
    }
  }
  out << ']';
}
}  // namespace

template <class T>
std::string tensor_string(const BasicTensor<T>& t, std::size_t max_elements, int precision) {
  if (t.dimension() == 0) {
    // What an ostream of this precision prints ("%g"), without building one: a trace formats
    // several numbers per node, and a stream's construction costs more than the number.
    char text[32];
    std::snprintf(text, sizeof text, "%.*g", precision, static_cast<double>(t()));
    return text;
  }
  std::ostringstream out;
  out.precision(precision);
  append_axis(out, t, 0, 0, t.size() > max_elements);
  out << " (";
  for (std::size_t a = 0; a < t.dimension(); ++a) out << (a ? "x" : "") << t.shape()[a];
  out << ')';
  return out.str();
}

template std::string tensor_string(const Tensor&, std::size_t, int);
template std::string tensor_string(const TensorD&, std::size_t, int);

}  // namespace retrograd
