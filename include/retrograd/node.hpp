#pragma once
/// @file node.hpp
/// A node of the computation graph: its value, its gradient, its inputs and the rule that turns
/// an upstream gradient into one gradient per input.

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "retrograd/tensor.hpp"

namespace retrograd {

template <class T>
class Node;
namespace detail {
template <class T>
class BackwardPass;
}  // namespace detail

/// One gradient per input of a node, in input order. An empty tensor (size 0, shape [0]) means
/// "no gradient for this input" (the input does not require one).
///
/// Rules build it as `return {dx, dw};`. The gradients are moved in: a std::vector's
/// initializer list would copy every one of them (a 784x512 weight gradient per step).
template <class T>
class GradList {
 public:
  using value_type = BasicTensor<T>;
  using iterator = typename std::vector<BasicTensor<T>>::iterator;
  using const_iterator = typename std::vector<BasicTensor<T>>::const_iterator;

  GradList() = default;
  template <class... Grads,
            class = std::enable_if_t<(sizeof...(Grads) > 0) &&
                                     (std::is_convertible_v<Grads&&, BasicTensor<T>> && ...)>>
  GradList(Grads&&... grads) {  // NOLINT(google-explicit-constructor): `return {dx, dw};`
    grads_.reserve(sizeof...(Grads));
    (grads_.emplace_back(std::forward<Grads>(grads)), ...);
  }

  std::size_t size() const { return grads_.size(); }
  bool empty() const { return grads_.empty(); }
  BasicTensor<T>& operator[](std::size_t i) { return grads_[i]; }
  const BasicTensor<T>& operator[](std::size_t i) const { return grads_[i]; }
  iterator begin() { return grads_.begin(); }
  iterator end() { return grads_.end(); }
  const_iterator begin() const { return grads_.begin(); }
  const_iterator end() const { return grads_.end(); }
  /// Appends the gradient of the next input (for rules with a variable number of inputs).
  void push_back(BasicTensor<T> grad) { grads_.push_back(std::move(grad)); }

 private:
  std::vector<BasicTensor<T>> grads_;
};

/// The inputs of a node, in argument order. Up to three live in the node itself (most ops have
/// one to three); more go to the heap. Iterates as `const std::shared_ptr<Node<T>>&`.
template <class T>
class InputList {
 public:
  using NodePtr = std::shared_ptr<Node<T>>;

  InputList() = default;
  /// `{a.node(), b.node()}`: each handle is copied once, straight into its slot (an
  /// initializer_list would copy it twice, and every copy of a shared_ptr is an atomic increment).
  template <class... Inputs,
            class = std::enable_if_t<(sizeof...(Inputs) > 0 && sizeof...(Inputs) <= 3) &&
                                     (std::is_convertible_v<Inputs&&, NodePtr> && ...)>>
  InputList(Inputs&&... inputs)  // NOLINT(google-explicit-constructor): `{a.node(), b.node()}`
      : local_{NodePtr(std::forward<Inputs>(inputs))...}, size_(sizeof...(Inputs)) {
    save_versions();
  }
  explicit InputList(std::vector<NodePtr> inputs)
      : size_(static_cast<std::uint32_t>(inputs.size())) {
    if (size_ > local_.size()) {
      more_ = std::make_unique<NodePtr[]>(size_);
      more_versions_ = std::make_unique<std::uint32_t[]>(size_);
      std::move(inputs.begin(), inputs.end(), more_.get());
    } else {
      std::move(inputs.begin(), inputs.end(), local_.begin());
    }
    save_versions();
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const NodePtr& operator[](std::size_t i) const { return data()[i]; }
  const NodePtr* begin() const { return data(); }
  const NodePtr* end() const { return data() + size_; }

  /// Moves every input to the end of `out` and leaves the list empty.
  void move_to(std::vector<NodePtr>& out) {
    NodePtr* first = data();
    for (std::size_t i = 0; i < size_; ++i) out.push_back(std::move(first[i]));
    clear();
  }
  /// Moves input i's handle out, leaving its slot empty; the list must be cleared before anyone
  /// reads it again (the engine does so when it frees a node).
  NodePtr take(std::size_t i) { return std::move(data()[i]); }
  /// Puts `input` into slot i (a slot left empty at construction).
  void fill(std::size_t i, NodePtr input) {
    versions()[i] = input->version();
    data()[i] = std::move(input);
  }
  /// Drops every input.
  void clear() {
    for (NodePtr& p : local_) p.reset();
    more_.reset();
    more_versions_.reset();
    size_ = 0;
  }
  /// Input i's version() when the list was made (Note [saved versions] in src/engine.cpp).
  std::uint32_t saved_version(std::size_t i) const {
    return size_ > local_.size() ? more_versions_[i] : local_versions_[i];
  }

 private:
  const NodePtr* data() const { return size_ > local_.size() ? more_.get() : local_.data(); }
  NodePtr* data() { return size_ > local_.size() ? more_.get() : local_.data(); }
  std::uint32_t* versions() {
    return size_ > local_.size() ? more_versions_.get() : local_versions_.data();
  }
  void save_versions() {
    std::uint32_t* saved = versions();
    const NodePtr* inputs = data();
    for (std::size_t i = 0; i < size_; ++i) saved[i] = inputs[i] ? inputs[i]->version() : 0;
  }

  std::array<NodePtr, 3> local_{};
  std::unique_ptr<NodePtr[]> more_;
  std::unique_ptr<std::uint32_t[]> more_versions_;
  std::array<std::uint32_t, 3> local_versions_{};
  std::uint32_t size_ = 0;
};

/// The local backward rule of an op: given the node (its inputs' values and its own output
/// value) and the upstream gradient dL/d(output), returns dL/d(input) for each input.
/// Rules read what they need from the node instead of copying it (see docs/design.md).
template <class T>
using BackwardFn = std::function<GradList<T>(const Node<T>& self, const BasicTensor<T>& upstream)>;

/// The backward rule of a node whose value is a single number (Note [scalar nodes] in
/// docs/design.md): from the upstream gradient `g`, writes dL/d(input i) into `grads[i]` for
/// every input, in plain numbers. One static rule object serves every node of an op.
template <class T>
class ScalarRule {
 public:
  /// The most inputs a scalar rule serves (the elementwise ops have one or two).
  static constexpr std::size_t max_inputs = 2;
  /// dL/d(input i) for each input of `node`, given dL/d(node) = g.
  virtual void grads(const Node<T>& node, T g, T* grads) const = 0;

 protected:
  // Rules are static objects that are never deleted through this base; a trivial destructor
  // keeps them usable by nodes that outlive main's static destructors.
  ~ScalarRule() = default;
};

/// A graph node. Users normally hold it through a `BasicVar`; observers, DOT export and custom
/// ops read it directly.
///
/// Note [scalar nodes]: a node whose value is a single number (0-d) made from a number or by an
/// elementwise op on such nodes keeps that number inline, with a ScalarRule instead of a
/// BackwardFn, and builds no tensor. value() and grad() materialise the tensors on first use;
/// from then on the node holds them like any other. Materialising mutates the node, so a graph
/// must not be read from two threads at once (the engine writes into it anyway).
template <class T>
class Node {
 public:
  /// Shared ownership: a result keeps its inputs alive.
  using NodePtr = std::shared_ptr<Node>;

  /// A leaf: a value with no inputs.
  Node(BasicTensor<T> value, bool requires_grad, std::string name = {})
      : tensors_(make_tensors(std::move(value))), requires_grad_(requires_grad) {
    set_name(std::move(name));
  }

  /// A leaf holding a single number as a 0-d value, kept inline (Note [scalar nodes]).
  Node(T value, bool requires_grad, std::string name = {})
      : scalar_(value), requires_grad_(requires_grad) {
    set_name(std::move(name));
  }

  /// An op result that records its inputs and backward rule. Without a rule (nothing needed a
  /// gradient, or grad mode was off) it is a constant carrying only the op name. `op` must
  /// outlive the node (a string literal; make_op interns custom names).
  Node(const char* op, BasicTensor<T> value, InputList<T> inputs, BackwardFn<T> backward)
      : tensors_(make_tensors(std::move(value), std::move(backward))),
        inputs_(std::move(inputs)),
        op_(op),
        height_(height_above(inputs_)),
        requires_grad_(static_cast<bool>(tensors_->backward)),
        has_rule_(requires_grad_) {}

  /// An op result holding a single number as a 0-d value inline, with a scalar rule (null for a
  /// constant). At most ScalarRule<T>::max_inputs inputs.
  Node(const char* op, T value, InputList<T> inputs, const ScalarRule<T>* rule)
      : scalar_(value),
        inputs_(std::move(inputs)),
        scalar_rule_(rule),
        op_(op),
        height_(height_above(inputs_)),
        requires_grad_(rule != nullptr),
        has_rule_(requires_grad_) {}

  /// A scalar node of a two-input op whose input `number_slot` (0 or 1) is the plain number
  /// `number` and whose other input is `input` (Note [numbers in ops]).
  Node(const char* op, T value, const NodePtr& input, int number_slot, T number,
       const ScalarRule<T>* rule)
      : scalar_(value),
        inputs_(number_slot == 0 ? InputList<T>(nullptr, input) : InputList<T>(input, nullptr)),
        scalar_rule_(rule),
        op_(op),
        number_(number),
        height_(input->height_ + 1),
        number_slot_(static_cast<std::int8_t>(number_slot)),
        requires_grad_(rule != nullptr),
        has_rule_(requires_grad_) {}

  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  /// Destroys the chain of inputs iteratively: a million-node chain must not overflow the stack.
  ~Node();

  /// The forward value.
  const BasicTensor<T>& value() const { return tensors().value; }
  /// Mutable value, for in-place parameter updates (optimizers run under no-grad). A change
  /// made through it must be announced with bump_version() (Var::value() does so).
  BasicTensor<T>& value() { return tensors().value; }
  /// How many times the value has been changed in place (Note [saved versions] in
  /// src/engine.cpp).
  std::uint32_t version() const { return version_; }
  /// Records a change of the value in place: backward then refuses to run through a graph
  /// that saved the old value.
  void bump_version() { ++version_; }
  /// The value's shape (without materialising a scalar node's tensor).
  const Shape& shape() const;
  /// The value's number of elements.
  std::size_t size() const { return tensors_ ? tensors_->value.size() : 1; }
  /// True when the value is 0-d: the elementwise ops then compute on plain numbers.
  bool is_scalar() const { return !tensors_ || tensors_->value.dimension() == 0; }
  /// The first (for a one-element value, the only) element of the value.
  T scalar() const { return tensors_ ? tensors_->value.data()[0] : scalar_; }

  /// dL/d(this node), summed over every path and (for leaves) every backward call since the
  /// last `zero_grad`. Empty when no gradient has arrived yet.
  const BasicTensor<T>& grad() const;
  /// The gradient of a one-element node as a number; needs has_grad().
  T scalar_grad() const { return tensors_ ? tensors_->grad->data()[0] : scalar_grad_; }
  /// True once a gradient has been accumulated (and not cleared since).
  bool has_grad() const { return has_grad_; }
  /// Adds `g` to the gradient. Throws std::invalid_argument naming `op` and both shapes when
  /// `g`'s shape differs from the value's.
  void accumulate_grad(BasicTensor<T>&& g, std::string_view op);
  /// Adds the number `g` to the gradient of a one-element node. `op` is a C string: the
  /// engine calls this for every edge of a scalar graph, and a string_view would measure it.
  void accumulate_grad(T g, const char* op) {
    if (tensors_) return accumulate_grad(scalar_tensor(g), op);
    add_scalar_grad(g);
  }
  /// Forgets the gradient: has_grad() is false until the next one arrives, which is then moved
  /// in without a copy (PyTorch's zero_grad(set_to_none=True); no memset per step).
  void zero_grad() { has_grad_ = false; }

  /// Whether backward computes a gradient for this node.
  bool requires_grad() const { return requires_grad_; }
  /// Turns gradient collection on or off (for leaves).
  void set_requires_grad(bool on) { requires_grad_ = on; }
  /// "leaf" for leaves, otherwise the op's name ("add", "matmul", ...).
  std::string_view op() const { return op_; }
  /// The user's name for the node (empty if none).
  const std::string& name() const;
  /// Names the node for traces and DOT.
  void set_name(std::string name);
  /// A leaf has no backward rule: gradients stop and accumulate here.
  bool is_leaf() const { return !has_rule_ && !released_; }
  /// True after a backward pass without retain_graph freed this node's inputs and rule.
  bool released() const { return released_; }
  /// Throws std::logic_error naming the op when released(): backward cannot run through it.
  void require_unreleased() const;

  /// The op's inputs, in argument order (empty for leaves and constants).
  const InputList<T>& inputs() const {
    if (number_slot_ >= 0) materialize_number();
    return inputs_;
  }
  /// The value of input i (shorthand for backward rules).
  const BasicTensor<T>& input(std::size_t i) const { return inputs()[i]->value(); }
  /// The value of input i of a scalar node, as a number.
  T input_scalar(std::size_t i) const { return is_number_slot(i) ? number_ : inputs_[i]->scalar(); }
  /// Whether input i wants a gradient: rules skip the work for inputs that do not.
  bool input_needs_grad(std::size_t i) const {
    return !is_number_slot(i) && inputs_[i]->requires_grad_;
  }

  /// The rule of a scalar node (Note [scalar nodes]); null for every other node. The engine
  /// runs it on numbers; apply_backward wraps it in tensors.
  const ScalarRule<T>* scalar_rule() const { return scalar_rule_; }
  /// Runs the backward rule on `upstream` (the engine, tracers and gradcheck call this).
  GradList<T> apply_backward(const BasicTensor<T>& upstream) const;

  /// One more than the largest height of the inputs (0 for a node without inputs): a node is
  /// always higher than everything it depends on, so the engine can visit a graph's nodes
  /// highest first without sorting it (Note [backward order] in src/engine.cpp).
  std::uint32_t height() const { return height_; }

  /// Scratch mark of the engine's graph walk (avoids a hash set per backward call).
  std::uint64_t visit_mark = 0;

 private:
  friend class detail::BackwardPass<T>;

  /// Drops inputs and backward rule after a backward pass without retain_graph; moves the
  /// input handles into `graveyard` so that nothing is destroyed while the engine still walks
  /// the graph.
  void release(std::vector<NodePtr>& graveyard);
  /// Drops inputs and backward rule once the engine has taken the handles it still needs
  /// (InputList::take).
  void release_now();

  static std::uint32_t height_above(const InputList<T>& inputs) {
    std::uint32_t height = 0;
    for (const NodePtr& input : inputs) {
      if (input) height = std::max(height, input->height_ + 1);
    }
    return height;
  }

  struct Tensors {
    BasicTensor<T> value;
    // Engaged once a gradient has arrived; kept after zero_grad so that the next one reuses it.
    std::optional<BasicTensor<T>> grad;
    // The rule of a node that is not a scalar node; kept here rather than in the node, which
    // scalar graphs create by the hundred thousand and should stay small.
    BackwardFn<T> backward;
  };
  // Tensors come from the buffer cache, like the nodes: a training step makes the same ones
  // every time, and malloc would cost more than the pop from a free list.
  struct TensorsDeleter {
    void operator()(Tensors* t) const noexcept {
      t->~Tensors();
      detail::release_buffer(t, sizeof(Tensors));
    }
  };
  static std::unique_ptr<Tensors, TensorsDeleter> make_tensors(BasicTensor<T>&& value,
                                                               BackwardFn<T>&& backward = {}) {
    void* memory = detail::acquire_buffer(sizeof(Tensors));
    return std::unique_ptr<Tensors, TensorsDeleter>(
        new (memory) Tensors{std::move(value), std::nullopt, std::move(backward)});
  }
  Tensors& tensors() const {
    if (!tensors_) materialize();
    return *tensors_;
  }
  void materialize() const;
  void add_scalar_grad(T g) {
    scalar_grad_ = has_grad_ ? scalar_grad_ + g : g;
    has_grad_ = true;
  }
  bool is_number_slot(std::size_t i) const { return number_slot_ == static_cast<int>(i); }
  // Note [numbers in ops]: the plain number of `x + 0.5` stays in the op's node; the constant
  // node that traces, DOT and observers show for it is made only when one of them asks.
  void materialize_number() const;

  // Null while the node is a scalar node holding its value and gradient inline.
  mutable std::unique_ptr<Tensors, TensorsDeleter> tensors_;
  T scalar_ = T(0);
  T scalar_grad_ = T(0);
  // An input slot holding a number (Note [numbers in ops]) is null until materialize_number.
  mutable InputList<T> inputs_;
  const ScalarRule<T>* scalar_rule_ = nullptr;
  const char* op_ = "leaf";
  // Most nodes have no name: a pointer costs 8 bytes where a std::string costs 32.
  std::unique_ptr<std::string> name_;
  T number_ = T(0);
  std::uint32_t height_ = 0;
  std::uint32_t version_ = 0;
  mutable std::int8_t number_slot_ = -1;
  bool requires_grad_ = false;
  bool has_rule_ = false;
  bool has_grad_ = false;
  bool released_ = false;
};

/// Allocates a node (and its reference counts) from this thread's buffer cache: a scalar graph
/// creates and frees nodes by the hundred thousand, and malloc was a quarter of their cost.
template <class T, class... Args>
std::shared_ptr<Node<T>> make_node(Args&&... args) {
  return std::allocate_shared<Node<T>>(detail::BufferAllocator<Node<T>>(),
                                       std::forward<Args>(args)...);
}

extern template class Node<float>;
extern template class Node<double>;

}  // namespace retrograd
