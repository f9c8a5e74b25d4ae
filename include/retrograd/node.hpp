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
template <class T>
class GradPass;
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

namespace detail {
/// Memory for one node from this thread's node arena (Note [node handles] in src/node.cpp).
template <class T>
void* acquire_node_memory();
/// Returns a node's memory to this thread's node arena.
template <class T>
void release_node_memory(void* memory) noexcept;
}  // namespace detail

/// Shared ownership of a graph node, as a `std::shared_ptr` gives it, with the count kept in
/// the node (Note [node handles] in src/node.cpp): the count of a node recorded with a backward
/// rule, which belongs to the thread that records the graph, is a plain integer; every other
/// node (leaves, parameters, constants), which threads may share, counts atomically.
template <class T>
class NodePtr {
 public:
  NodePtr() noexcept = default;
  NodePtr(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor): as shared_ptr
  NodePtr(const NodePtr& other) noexcept : node_(other.node_) {
    if (node_) node_->add_ref();
  }
  NodePtr(NodePtr&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
  NodePtr& operator=(const NodePtr& other) noexcept { return *this = NodePtr(other); }
  NodePtr& operator=(NodePtr&& other) noexcept {
    std::swap(node_, other.node_);
    other.reset();
    return *this;
  }
  ~NodePtr() { reset(); }

  /// Takes over a node whose count is already one (make_node).
  static NodePtr adopt(Node<T>* node) noexcept {
    NodePtr p;
    p.node_ = node;
    return p;
  }
  Node<T>* get() const noexcept { return node_; }
  Node<T>& operator*() const noexcept { return *node_; }
  Node<T>* operator->() const noexcept { return node_; }
  explicit operator bool() const noexcept { return node_ != nullptr; }
  /// Whether this is the node's only handle (shared_ptr's use_count() == 1).
  bool unique() const noexcept {
    return node_ && __atomic_load_n(&node_->refs_, __ATOMIC_ACQUIRE) == 1;
  }
  /// Drops the handle (destroying the node if it was the last one).
  void reset() noexcept {
    if (node_) Node<T>::drop_ref(std::exchange(node_, nullptr));
  }
  friend bool operator==(const NodePtr& a, const NodePtr& b) { return a.node_ == b.node_; }
  friend bool operator!=(const NodePtr& a, const NodePtr& b) { return a.node_ != b.node_; }
  friend bool operator==(const NodePtr& a, std::nullptr_t) { return a.node_ == nullptr; }
  friend bool operator!=(const NodePtr& a, std::nullptr_t) { return a.node_ != nullptr; }

 private:
  Node<T>* node_ = nullptr;
};

/// The inputs of a node, in argument order. Up to three live in the node itself (most ops have
/// one to three); more go to the heap, in a block whose pointer takes the place of the three.
/// Iterates as `const NodePtr<T>&`.
template <class T>
class InputList {
 public:
  using NodePtr = retrograd::NodePtr<T>;

  InputList() noexcept : local_{} {}
  /// `{a.node(), b.node()}`: each handle is copied once, straight into its slot.
  template <class... Inputs,
            class = std::enable_if_t<(sizeof...(Inputs) > 0 && sizeof...(Inputs) <= 3) &&
                                     (std::is_convertible_v<Inputs&&, NodePtr> && ...)>>
  InputList(Inputs&&... inputs)  // NOLINT(google-explicit-constructor): `{a.node(), b.node()}`
      : local_{NodePtr(std::forward<Inputs>(inputs))...}, size_(sizeof...(Inputs)) {
    save_versions();
  }
  explicit InputList(std::vector<NodePtr> inputs)
      : local_{}, size_(static_cast<std::uint32_t>(inputs.size())) {
    if (size_ > local_count) {
      local_.~Local();
      more_ = new Spill{std::move(inputs), std::vector<std::uint32_t>(size_)};
    } else {
      std::move(inputs.begin(), inputs.end(), local_.begin());
    }
    save_versions();
  }
  InputList(InputList&& other) noexcept : local_{} { take_from(other); }
  InputList& operator=(InputList&& other) noexcept {
    if (this != &other) {
      clear();
      take_from(other);
    }
    return *this;
  }
  ~InputList() { destroy(); }

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
    destroy();
    size_ = 0;
  }
  /// Input i's version() when the list was made (Note [saved versions] in src/engine.cpp).
  std::uint32_t saved_version(std::size_t i) const {
    return spilled() ? more_->versions[i] : local_versions_[i];
  }

 private:
  static constexpr std::size_t local_count = 3;
  using Local = std::array<NodePtr, local_count>;
  struct Spill {
    std::vector<NodePtr> nodes;
    std::vector<std::uint32_t> versions;
  };

  bool spilled() const { return size_ > local_count; }
  const NodePtr* data() const { return spilled() ? more_->nodes.data() : local_.data(); }
  NodePtr* data() { return spilled() ? more_->nodes.data() : local_.data(); }
  std::uint32_t* versions() { return spilled() ? more_->versions.data() : local_versions_.data(); }
  void save_versions() {
    std::uint32_t* saved = versions();
    const NodePtr* inputs = data();
    for (std::size_t i = 0; i < size_; ++i) saved[i] = inputs[i] ? inputs[i]->version() : 0;
  }
  // Drops the handles and leaves local_ active with every slot empty. Slots from size_ on are
  // always empty: only the used ones are visited.
  void destroy() noexcept {
    if (spilled()) {
      delete more_;
      new (&local_) Local{};
    } else {
      for (std::uint32_t i = 0; i < size_; ++i) local_[i].reset();
    }
  }
  // Expects this list empty (local_ active, size 0).
  void take_from(InputList& other) noexcept {
    if (other.spilled()) {
      local_.~Local();
      more_ = std::exchange(other.more_, nullptr);
      new (&other.local_) Local{};
    } else {
      local_ = std::move(other.local_);
    }
    local_versions_ = other.local_versions_;
    size_ = std::exchange(other.size_, 0);
  }

  // The first three inputs, or (more than three) the block holding all of them.
  union {
    Local local_;
    Spill* more_;
  };
  std::array<std::uint32_t, local_count> local_versions_{};
  std::uint32_t size_ = 0;
};

template <class T>
class BasicVar;

/// The gradients of a rule run on Vars (create_graph): one per input, in input order; an empty
/// (default-constructed) Var where an input needs none.
template <class T>
using VarGrads = std::vector<BasicVar<T>>;

/// The local backward rule of an op: given the node (its inputs' values and its own output
/// value) and the upstream gradient dL/d(output), returns dL/d(input) for each input.
/// Rules read what they need from the node instead of copying it (see docs/design.md).
///
/// Note [one rule, two paths]: a rule written once over a value type that is either a tensor or
/// a Var runs on tensors for backward() and on Vars for grad(..., {.create_graph = true}),
/// where its gradients are themselves nodes of a graph. A rule that runs on tensors only (a
/// custom op's lambda) is not differentiable: vars() throws naming the op.
template <class T>
class Rule {
 public:
  /// dL/d(input i) for each input of `node`, as tensors.
  virtual GradList<T> tensors(const Node<T>& node, const BasicTensor<T>& upstream) const = 0;
  /// Whether vars() computes the gradients as Vars.
  virtual bool differentiable() const { return false; }
  /// dL/d(input i) for each input of `node` as Vars in a graph; throws std::logic_error naming
  /// the op unless differentiable().
  virtual VarGrads<T> vars(const NodePtr<T>& node, const BasicVar<T>& upstream) const;
  /// Destroys the rule and returns its memory to the buffer cache.
  virtual void destroy() const noexcept = 0;

 protected:
  ~Rule() = default;
};

namespace detail {
/// What a rule body derives from: a class with `tensors(node, g)`, a constant `differentiable`
/// and, when that is true, `vars(node, g)`. BackwardFn wraps it in one Rule object.
struct RuleBody {};

/// A rule body in memory from the buffer cache (rules are made per node, like tensors).
template <class T, class Body>
class PooledRule final : public Rule<T> {
 public:
  explicit PooledRule(Body body) : body_(std::move(body)) {}
  GradList<T> tensors(const Node<T>& node, const BasicTensor<T>& upstream) const override {
    return body_.tensors(node, upstream);
  }
  bool differentiable() const override { return Body::differentiable; }
  VarGrads<T> vars(const NodePtr<T>& node, const BasicVar<T>& upstream) const override {
    if constexpr (Body::differentiable) {
      return body_.vars(node, upstream);
    } else {
      return Rule<T>::vars(node, upstream);
    }
  }
  void destroy() const noexcept override {
    auto* self = const_cast<PooledRule*>(this);
    self->~PooledRule();
    release_buffer(self, sizeof(PooledRule));
  }

 private:
  Body body_;
};

/// A rule written on tensors only: a lambda (const Node<T>&, const BasicTensor<T>&) ->
/// GradList<T>, as custom ops give.
template <class T, class F>
class TensorRule : public RuleBody {
 public:
  static constexpr bool differentiable = false;
  explicit TensorRule(F f) : f_(std::move(f)) {}
  GradList<T> tensors(const Node<T>& node, const BasicTensor<T>& upstream) const {
    return f_(node, upstream);
  }

 private:
  F f_;
};
}  // namespace detail

/// A node's backward rule: one Rule object (Note [one rule, two paths]), or none. Made from a
/// tensor lambda (not differentiable) or from a rule body (the op machinery's two-path rules).
template <class T>
class BackwardFn {
 public:
  BackwardFn() = default;
  BackwardFn(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): `backward = nullptr`
  /// A rule body (the op machinery's two-path rules).
  template <class R, std::enable_if_t<std::is_base_of_v<detail::RuleBody, R>, int> = 0>
  BackwardFn(R rule)  // NOLINT(google-explicit-constructor): ops pass their rule directly
      : rule_(make<R>(std::move(rule))) {}
  /// A tensor lambda (const Node<T>&, const BasicTensor<T>&) -> GradList<T>.
  template <class F,
            std::enable_if_t<!std::is_base_of_v<detail::RuleBody, F> &&
                                 std::is_invocable_r_v<GradList<T>, const F&, const Node<T>&,
                                                       const BasicTensor<T>&>,
                             int> = 0>
  BackwardFn(F f)  // NOLINT(google-explicit-constructor): `record(..., [](n, g) {...})`
      : rule_(make<detail::TensorRule<T, F>>(detail::TensorRule<T, F>(std::move(f)))) {}

  explicit operator bool() const { return static_cast<bool>(rule_); }
  /// Runs the rule on tensors.
  GradList<T> operator()(const Node<T>& node, const BasicTensor<T>& upstream) const {
    return rule_->tensors(node, upstream);
  }
  /// The rule object; null when there is none.
  const Rule<T>* get() const { return rule_.get(); }

 private:
  struct Destroy {
    void operator()(const Rule<T>* rule) const noexcept { rule->destroy(); }
  };
  template <class R>
  static const Rule<T>* make(R rule) {
    using Pooled = detail::PooledRule<T, R>;
    return new (detail::acquire_buffer(sizeof(Pooled))) Pooled(std::move(rule));
  }
  std::unique_ptr<const Rule<T>, Destroy> rule_;
};

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
  /// Whether vars() computes the gradients as Vars (Note [one rule, two paths]).
  virtual bool differentiable() const { return false; }
  /// dL/d(input i) as Vars in a graph; throws std::logic_error naming the op unless
  /// differentiable().
  virtual VarGrads<T> vars(const NodePtr<T>& node, const BasicVar<T>& upstream) const;

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
  using NodePtr = retrograd::NodePtr<T>;

  /// A leaf: a value with no inputs.
  Node(BasicTensor<T> value, bool requires_grad, std::string name = {})
      : flags_{requires_grad, false} {
    set_name(std::move(name));
    set_tensors(make_tensors(std::move(value)));
  }

  /// A leaf holding a single number as a 0-d value, kept inline (Note [scalar nodes]).
  Node(T value, bool requires_grad, std::string name = {})
      : storage_{{value, T(0)}}, flags_{requires_grad, false} {
    set_name(std::move(name));
  }

  /// An op result that records its inputs and backward rule. Without a rule (nothing needed a
  /// gradient, or grad mode was off) it is a constant carrying only the op name. `op` must
  /// outlive the node (a string literal; make_op interns custom names).
  Node(const char* op, BasicTensor<T> value, InputList<T> inputs, BackwardFn<T> backward)
      : height_(height_above(inputs)),
        inputs_(std::move(inputs)),
        op_(op),
        flags_{static_cast<bool>(backward), static_cast<bool>(backward)} {
    set_tensors(make_tensors(std::move(value), std::move(backward)));
  }

  /// An op result holding a single number as a 0-d value inline, with a scalar rule (null for a
  /// constant). At most ScalarRule<T>::max_inputs inputs.
  Node(const char* op, T value, InputList<T> inputs, const ScalarRule<T>* rule)
      : height_(height_above(inputs)),
        inputs_(std::move(inputs)),
        scalar_rule_(rule),
        op_(op),
        storage_{{value, T(0)}},
        flags_{rule != nullptr, rule != nullptr} {}

  /// A scalar node of a two-input op whose input `number_slot` (0 or 1) is the plain number
  /// `number` and whose other input is `input` (Note [numbers in ops]).
  Node(const char* op, T value, const NodePtr& input, int number_slot, T number,
       const ScalarRule<T>* rule)
      : height_(input->height_ + 1),
        inputs_(number_slot == 0 ? InputList<T>(nullptr, input) : InputList<T>(input, nullptr)),
        scalar_rule_(rule),
        op_(op),
        storage_{{value, T(0)}},
        number_(number),
        number_slot_(static_cast<std::int8_t>(number_slot)),
        flags_{rule != nullptr, rule != nullptr} {}

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
  std::size_t size() const { return flags_.has_tensors ? storage_.tensors->value.size() : 1; }
  /// True when the value is 0-d: the elementwise ops then compute on plain numbers.
  bool is_scalar() const { return !flags_.has_tensors || storage_.tensors->value.dimension() == 0; }
  /// The first (for a one-element value, the only) element of the value.
  T scalar() const {
    return flags_.has_tensors ? storage_.tensors->value.data()[0] : storage_.number.value;
  }

  /// dL/d(this node), summed over every path and (for leaves) every backward call since the
  /// last `zero_grad`. Empty when no gradient has arrived yet.
  const BasicTensor<T>& grad() const;
  /// The gradient of a one-element node as a number; needs has_grad().
  T scalar_grad() const {
    return flags_.has_tensors ? storage_.tensors->grad->data()[0] : storage_.number.grad;
  }
  /// True once a gradient has been accumulated (and not cleared since).
  bool has_grad() const { return flags_.has_grad; }
  /// Adds `g` to the gradient. Throws std::invalid_argument naming `op` and both shapes when
  /// `g`'s shape differs from the value's.
  void accumulate_grad(BasicTensor<T>&& g, std::string_view op);
  /// Adds the number `g` to the gradient of a one-element node. `op` is a C string: the
  /// engine calls this for every edge of a scalar graph, and a string_view would measure it.
  void accumulate_grad(T g, const char* op) {
    if (flags_.has_tensors) return accumulate_grad(scalar_tensor(g), op);
    add_scalar_grad(g);
  }
  /// Forgets the gradient: has_grad() is false until the next one arrives, which is then moved
  /// in without a copy (PyTorch's zero_grad(set_to_none=True); no memset per step).
  void zero_grad() { flags_.has_grad = false; }

  /// Whether backward computes a gradient for this node.
  bool requires_grad() const { return flags_.requires_grad; }
  /// Turns gradient collection on or off (for leaves).
  void set_requires_grad(bool on) { flags_.requires_grad = on; }
  /// "leaf" for leaves, otherwise the op's name ("add", "matmul", ...).
  std::string_view op() const { return op_; }
  /// The user's name for the node (empty if none).
  const std::string& name() const;
  /// Names the node for traces and DOT.
  void set_name(std::string name);
  /// A leaf has no backward rule: gradients stop and accumulate here.
  bool is_leaf() const { return !flags_.has_rule && !flags_.released; }
  /// True after a backward pass without retain_graph freed this node's inputs and rule.
  bool released() const { return flags_.released; }
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
    return !is_number_slot(i) && inputs_[i]->flags_.requires_grad;
  }

  /// The rule of a scalar node (Note [scalar nodes]); null for every other node. The engine
  /// runs it on numbers; apply_backward wraps it in tensors.
  const ScalarRule<T>* scalar_rule() const { return scalar_rule_; }
  /// The rule of any other node that has one; null for leaves, constants and scalar nodes.
  const Rule<T>* rule() const {
    return flags_.has_tensors ? storage_.tensors->backward.get() : nullptr;
  }
  /// Whether the rule can run on Vars (grad with create_graph); false for a node without one.
  bool has_differentiable_rule() const {
    if (scalar_rule_) return scalar_rule_->differentiable();
    return rule() && rule()->differentiable();
  }
  /// Runs the backward rule on `upstream` (the engine, tracers and gradcheck call this).
  GradList<T> apply_backward(const BasicTensor<T>& upstream) const;

  /// One more than the largest height of the inputs (0 for a node without inputs): a node is
  /// always higher than everything it depends on, so the engine can visit a graph's nodes
  /// highest first without sorting it (Note [backward order] in src/engine.cpp).
  std::uint32_t height() const { return height_; }

  /// Scratch mark of the engine's graph walk (avoids a hash set per backward call). 32 bits:
  /// a mark could only be mistaken for a new one after 2^32 further walks.
  std::uint32_t visit_mark = 0;

 private:
  friend class detail::BackwardPass<T>;
  friend class detail::GradPass<T>;
  friend class retrograd::NodePtr<T>;

  /// Drops inputs and backward rule after a backward pass without retain_graph; moves the
  /// input handles into `graveyard` so that nothing is destroyed while the engine still walks
  /// the graph.
  void release(std::vector<NodePtr>& graveyard);
  /// Drops inputs and backward rule once the engine has taken the handles it still needs
  /// (InputList::take).
  void release_now();

  // Note [node handles] in src/node.cpp: a node recorded with a rule counts its handles with
  // plain arithmetic, every other node atomically.
  bool confined() const { return flags_.has_rule || flags_.released; }
  void add_ref() const noexcept {
    if (confined()) {
      ++refs_;
    } else {
      __atomic_add_fetch(&refs_, 1, __ATOMIC_RELAXED);
    }
  }
  static void drop_ref(Node* node) noexcept {
    const bool last = node->confined() ? --node->refs_ == 0
                                       : __atomic_sub_fetch(&node->refs_, 1, __ATOMIC_ACQ_REL) == 0;
    if (last) destroy(node);
  }
  static void destroy(Node* node) noexcept;

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
  // Tensors come from the buffer cache, like the tensors' data: a training step makes the same
  // ones every time, and malloc would cost more than the pop from a free list.
  static Tensors* make_tensors(BasicTensor<T>&& value, BackwardFn<T>&& backward = {}) {
    void* memory = detail::acquire_buffer(sizeof(Tensors));
    return new (memory) Tensors{std::move(value), std::nullopt, std::move(backward)};
  }
  void set_tensors(Tensors* tensors) const {
    storage_.tensors = tensors;
    flags_.has_tensors = true;
  }
  Tensors& tensors() const {
    if (!flags_.has_tensors) materialize();
    return *storage_.tensors;
  }
  void materialize() const;
  void add_scalar_grad(T g) {
    storage_.number.grad = flags_.has_grad ? storage_.number.grad + g : g;
    flags_.has_grad = true;
  }
  bool is_number_slot(std::size_t i) const { return number_slot_ == static_cast<int>(i); }
  // Note [numbers in ops]: the plain number of `x + 0.5` stays in the op's node; the constant
  // node that traces, DOT and observers show for it is made only when one of them asks.
  void materialize_number() const;

  // A scalar node holds its value and gradient inline; any other node (and a scalar node once
  // value() or grad() was asked for) holds them in a Tensors block (flags_.has_tensors).
  union Storage {
    struct Number {
      T value;
      T grad;
    } number;
    Tensors* tensors;
  };
  struct Flags {
    Flags(bool wants_grad, bool with_rule)
        : requires_grad(wants_grad),
          has_rule(with_rule),
          has_grad(false),
          released(false),
          has_tensors(false) {}
    bool requires_grad : 1;
    bool has_rule : 1;
    bool has_grad : 1;
    bool released : 1;
    bool has_tensors : 1;
  };

  mutable std::uint32_t refs_ = 1;
  std::uint32_t version_ = 0;
  std::uint32_t height_ = 0;
  // An input slot holding a number (Note [numbers in ops]) is null until materialize_number.
  mutable InputList<T> inputs_;
  const ScalarRule<T>* scalar_rule_ = nullptr;
  const char* op_ = "leaf";
  // Most nodes have no name: a pointer costs 8 bytes where a std::string costs 32.
  std::unique_ptr<std::string> name_;
  mutable Storage storage_{};
  T number_ = T(0);
  mutable std::int8_t number_slot_ = -1;
  mutable Flags flags_;
};

/// Makes a node in this thread's node arena (Note [node handles] in src/node.cpp): a scalar
/// graph creates and frees nodes by the hundred thousand.
template <class T, class... Args>
NodePtr<T> make_node(Args&&... args) {
  void* memory = detail::acquire_node_memory<T>();
  try {
    return NodePtr<T>::adopt(new (memory) Node<T>(std::forward<Args>(args)...));
  } catch (...) {
    detail::release_node_memory<T>(memory);
    throw;
  }
}

extern template class Rule<float>;
extern template class Rule<double>;
extern template class ScalarRule<float>;
extern template class ScalarRule<double>;
extern template class Node<float>;
extern template class Node<double>;

}  // namespace retrograd
