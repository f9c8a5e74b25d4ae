#include "retrograd/node.hpp"

#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#include "buffer_cache.hpp"
#include "retrograd/var.hpp"
#include "xtensor_math.hpp"

namespace retrograd {

// Note [node handles] (docs/design.md): nodes live in a per-thread arena of slots; handles count
// in the node, atomically only for nodes that threads may share.
template <class T>
void Node<T>::destroy(Node* node) noexcept {
  node->~Node();
  detail::release_node_memory<T>(node);
}

template <class T>
Node<T>::~Node() {
  if (flags_.has_tensors) {
    storage_.tensors->~Tensors();
    detail::release_buffer(storage_.tensors, sizeof(Tensors));
  }
  // Note [iterative destruction]: releasing the last handle of a long chain would otherwise
  // recurse once per node. The outermost destructor keeps a stack of doomed inputs; a node
  // destroyed while it drains them hands its own inputs to that stack instead of recursing.
  thread_local std::vector<NodePtr>* draining = nullptr;
  if (inputs_.empty()) return;
  if (draining) {
    inputs_.move_to(*draining);
    return;
  }
  std::vector<NodePtr> pending;
  inputs_.move_to(pending);
  draining = &pending;
  while (!pending.empty()) {
    NodePtr node = std::move(pending.back());
    pending.pop_back();
  }
  draining = nullptr;
}

namespace detail {
namespace {
struct FreeSlot {
  FreeSlot* next;
};

// The free slots of threads that ended, until another thread takes them. Never destroyed:
// nodes held by static objects are freed after the static destructors have run.
struct Orphans {
  std::mutex mutex;
  FreeSlot* slots = nullptr;
};

template <class T>
Orphans& orphans() {
  static Orphans* instance = new Orphans;
  return *instance;
}

template <class T>
struct NodeArena {
  static constexpr std::size_t slot_bytes = sizeof(Node<T>);
  static constexpr std::size_t chunk_slots = (std::size_t(256) << 10) / slot_bytes;
  FreeSlot* free = nullptr;
  // The part of the newest chunk not handed out yet.
  char* next = nullptr;
  char* end = nullptr;
  ~NodeArena();

  void* acquire() {
    if (free) return std::exchange(free, free->next);
    if (next == end) refill();
    if (free) return std::exchange(free, free->next);
    return std::exchange(next, next + slot_bytes);
  }
  void release(void* memory) noexcept { free = new (memory) FreeSlot{free}; }
  void refill() {
    {
      Orphans& o = orphans<T>();
      std::lock_guard<std::mutex> lock(o.mutex);
      free = std::exchange(o.slots, nullptr);
    }
    if (free) return;
    next = static_cast<char*>(::operator new(chunk_slots* slot_bytes));
    end = next + chunk_slots * slot_bytes;
  }
};

template <class T>
thread_local NodeArena<T>* this_thread_arena = nullptr;
template <class T>
thread_local bool arena_ended = false;

template <class T>
NodeArena<T>::~NodeArena() {
  for (; next != end; next += slot_bytes) release(next);
  this_thread_arena<T> = nullptr;
  arena_ended<T> = true;
  if (!free) return;
  FreeSlot* last = free;
  while (last->next) last = last->next;
  Orphans& o = orphans<T>();
  std::lock_guard<std::mutex> lock(o.mutex);
  last->next = o.slots;
  o.slots = free;
}

// A thread_local with a destructor costs an initialisation check per access; the plain pointer
// set on first use does not.
template <class T>
NodeArena<T>& arena() {
  if (this_thread_arena<T>) return *this_thread_arena<T>;
  thread_local NodeArena<T> instance;
  this_thread_arena<T> = &instance;
  return instance;
}
}  // namespace

template <class T>
void* acquire_node_memory() {
  if (!buffer_cache_enabled) return ::operator new(sizeof(Node<T>));
  return arena<T>().acquire();
}

template <class T>
void release_node_memory(void* memory) noexcept {
  if (!buffer_cache_enabled) return ::operator delete(memory);
  if (NodeArena<T>* mine = this_thread_arena<T>) return mine->release(memory);
  if (!arena_ended<T>) return arena<T>().release(memory);
  // This thread's arena has ended (a node freed by a static destructor): the slot goes to the
  // next thread.
  Orphans& o = orphans<T>();
  std::lock_guard<std::mutex> lock(o.mutex);
  o.slots = new (memory) FreeSlot{o.slots};
}

template void* acquire_node_memory<float>();
template void* acquire_node_memory<double>();
template void release_node_memory<float>(void*) noexcept;
template void release_node_memory<double>(void*) noexcept;
}  // namespace detail

template <class T>
const Shape& Node<T>::shape() const {
  static const Shape scalar_shape{};
  return flags_.has_tensors ? storage_.tensors->value.shape() : scalar_shape;
}

template <class T>
void Node<T>::materialize() const {
  const typename Storage::Number number = storage_.number;
  Tensors* tensors = make_tensors(scalar_tensor(number.value));
  if (flags_.has_grad) tensors->grad.emplace(scalar_tensor(number.grad));
  set_tensors(tensors);
}

template <class T>
void Node<T>::materialize_number() const {
  inputs_.fill(static_cast<std::size_t>(number_slot_), make_node<T>(number_, false));
  number_slot_ = -1;
}

template <class T>
const std::string& Node<T>::name() const {
  static const std::string unnamed;
  return name_ ? *name_ : unnamed;
}

template <class T>
void Node<T>::set_name(std::string name) {
  if (name.empty()) {
    name_.reset();
  } else if (name_) {
    *name_ = std::move(name);
  } else {
    name_ = std::make_unique<std::string>(std::move(name));
  }
}

template <class T>
const BasicTensor<T>& Node<T>::grad() const {
  static const BasicTensor<T> none = BasicTensor<T>::from_shape({0});
  const Tensors& t = tensors();
  return t.grad ? *t.grad : none;
}

template <class T>
void Node<T>::accumulate_grad(BasicTensor<T>&& g, std::string_view op) {
  if (g.shape() != shape()) {
    throw std::invalid_argument(std::string(op) + ": gradient of shape " + shape_string(g.shape()) +
                                " does not match its input of shape " + shape_string(shape()));
  }
  if (!flags_.has_tensors) return add_scalar_grad(g());
  Tensors& t = *storage_.tensors;
  if (flags_.has_grad) {
    xt::noalias(*t.grad) += g;
  } else if (t.grad) {
    *t.grad = std::move(g);
  } else {
    t.grad.emplace(std::move(g));
  }
  flags_.has_grad = true;
}

template <class T>
void Node<T>::require_unreleased() const {
  if (flags_.released) {
    throw std::logic_error(std::string(op_) +
                           ": backward through a graph that was already freed; pass "
                           "retain_graph = true to the first backward to run it twice");
  }
}

template <class T>
GradList<T> Node<T>::apply_backward(const BasicTensor<T>& upstream) const {
  require_unreleased();
  if (scalar_rule_) {
    if (upstream.size() != 1) {
      throw std::logic_error(std::string(op_) + ": upstream gradient of shape " +
                             shape_string(upstream.shape()) + " for a single-number node");
    }
    T out[ScalarRule<T>::max_inputs];
    scalar_rule_->grads(*this, upstream.data()[0], out);
    GradList<T> grads;
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      grads.push_back(input_needs_grad(i) ? scalar_tensor(out[i])
                                          : BasicTensor<T>::from_shape({0}));
    }
    return grads;
  }
  GradList<T> grads = tensors().backward(*this, upstream);
  if (grads.size() != inputs_.size()) {
    throw std::logic_error(std::string(op_) + ": backward returned " +
                           std::to_string(grads.size()) + " gradients for " +
                           std::to_string(inputs_.size()) + " inputs");
  }
  return grads;
}

template <class T>
void Node<T>::release(std::vector<NodePtr>& graveyard) {
  if (!flags_.has_rule) return;
  inputs_.move_to(graveyard);
  release_now();
}

template <class T>
void Node<T>::release_now() {
  if (!flags_.has_rule) return;
  inputs_.clear();
  number_slot_ = -1;
  if (flags_.has_tensors) storage_.tensors->backward = nullptr;
  scalar_rule_ = nullptr;
  // Released first: the node stays confined (Note [node handles]).
  flags_.released = true;
  flags_.has_rule = false;
}

namespace {
[[noreturn]] void throw_not_differentiable(std::string_view op) {
  throw std::logic_error("create_graph: op '" + std::string(op) +
                         "' has no differentiable backward: its rule runs on tensors only (a "
                         "custom op from make_op, or an op whose rule is not written for Vars "
                         "yet); differentiate it once, without create_graph");
}
}  // namespace

template <class T>
VarGrads<T> Rule<T>::vars(const NodePtr<T>& node, const BasicVar<T>&) const {
  throw_not_differentiable(node->op());
}

template <class T>
VarGrads<T> ScalarRule<T>::vars(const NodePtr<T>& node, const BasicVar<T>&) const {
  throw_not_differentiable(node->op());
}

template class Rule<float>;
template class Rule<double>;
template class ScalarRule<float>;
template class ScalarRule<double>;
template class Node<float>;
template class Node<double>;

}  // namespace retrograd
