// grad(): gradients as values, on tensors or (create_graph) as Vars in a graph of their own.

#include "retrograd/grad.hpp"

#include <iterator>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include "retrograd/engine.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {

namespace detail {

namespace {
template <class T>
std::string describe(const char* what, std::size_t i, const BasicVar<T>& v) {
  std::string s = std::string(what) + " " + std::to_string(i);
  if (v.defined() && !v.name().empty()) s += " ('" + v.name() + "')";
  return s;
}

template <class T>
BasicTensor<T> ones_like(const Node<T>& n) {
  BasicTensor<T> t = BasicTensor<T>::from_shape(n.shape());
  t.fill(T(1));
  return t;
}
}  // namespace

// One pass from the outputs back to the inputs. The gradient type G is BasicTensor<T> (rules on
// tensors, today's backward arithmetic) or BasicVar<T> (create_graph: rules on Vars, every
// gradient a node). Nodes from which no requested input can be reached are skipped, so a part
// of the graph with a tensor-only rule (a custom op) matters only when the gradient flows
// through it.
template <class T>
class GradPass {
 public:
  using NodePtr = retrograd::NodePtr<T>;

  GradPass(const std::vector<BasicVar<T>>& outputs, const std::vector<BasicVar<T>>& inputs,
           const GradOptions& options)
      : outputs_(outputs), inputs_(inputs), options_(options) {}

  std::vector<BasicVar<T>> run() {
    check_arguments();
    collect();
    std::vector<BasicVar<T>> result =
        options_.create_graph ? propagate<BasicVar<T>>() : propagate<BasicTensor<T>>();
    if (!options_.create_graph && !options_.retain_graph) release();
    return result;
  }

 private:
  void check_arguments() const {
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      const BasicVar<T>& out = outputs_[i];
      if (!out.defined())
        throw std::invalid_argument("grad: output " + std::to_string(i) + " is an empty Var");
      if (!out.requires_grad()) {
        throw std::logic_error(
            "grad: " + describe("output", i, out) + " (op '" + std::string(out.op()) +
            "') does not require a gradient: no input of its graph requires one, it was computed "
            "under NoGradGuard, or it is a gradient computed without create_graph");
      }
      if (out.size() != 1) {
        throw std::invalid_argument("grad: " + describe("output", i, out) + " has shape " +
                                    shape_string(out.shape()) +
                                    "; outputs must be single numbers (sum them first)");
      }
    }
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      const BasicVar<T>& in = inputs_[i];
      if (!in.defined())
        throw std::invalid_argument("grad: input " + std::to_string(i) + " is an empty Var");
      if (!in.requires_grad()) {
        throw std::invalid_argument("grad: " + describe("input", i, in) +
                                    " does not require a gradient");
      }
    }
  }

  // Every node the outputs depend on, inputs before the nodes that use them, and whether a
  // requested input can be reached from it.
  void collect() {
    for (const BasicVar<T>& in : inputs_) wanted_[in.node().get()] = true;
    std::vector<std::pair<NodePtr, std::size_t>> stack;
    for (const BasicVar<T>& out : outputs_) {
      if (seen_.count(out.node().get())) continue;
      seen_[out.node().get()] = true;
      stack.emplace_back(out.node(), 0);
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (node->released()) node->require_unreleased();
        const bool stop = wanted_.count(node.get()) || node->is_leaf();
        if (!stop && next < node->inputs().size()) {
          const NodePtr& input = node->inputs()[next++];
          if (input->requires_grad() && !seen_.count(input.get())) {
            seen_[input.get()] = true;
            stack.emplace_back(input, 0);
          }
          continue;
        }
        bool reaches = wanted_.count(node.get()) > 0;
        if (!stop) {
          for (const NodePtr& input : node->inputs())
            reaches = reaches || reaches_.count(input.get());
        }
        if (reaches) {
          reaches_[node.get()] = true;
          order_.push_back(node);
        }
        stack.pop_back();
      }
    }
  }

  static void add(BasicTensor<T>& sum, BasicTensor<T>&& g) { sum += g; }
  static void add(BasicVar<T>& sum, BasicVar<T>&& g) { sum = sum + g; }
  static bool present(const BasicTensor<T>& g) { return g.size() != 0; }
  static bool present(const BasicVar<T>& g) { return g.defined(); }
  static BasicTensor<T> seed(const Node<T>& n, BasicTensor<T>*) { return ones_like(n); }
  static BasicVar<T> seed(const Node<T>& n, BasicVar<T>*) {
    return n.is_scalar() ? BasicVar<T>(T(1)) : BasicVar<T>(ones_like(n));
  }
  static GradList<T> apply(const NodePtr& n, const BasicTensor<T>& g) {
    return n->apply_backward(g);
  }
  static VarGrads<T> apply(const NodePtr& n, const BasicVar<T>& g) {
    if (n->scalar_rule()) return n->scalar_rule()->vars(n, g);
    return n->rule()->vars(n, g);
  }
  static BasicVar<T> result(BasicTensor<T>&& g) { return BasicVar<T>(std::move(g)); }
  static BasicVar<T> result(BasicVar<T>&& g) { return std::move(g); }

  template <class G>
  std::vector<BasicVar<T>> propagate() {
    std::unordered_map<const Node<T>*, G> grads;
    for (const BasicVar<T>& out : outputs_) {
      if (!reaches_.count(out.node().get())) continue;
      G s = seed(*out.node(), static_cast<G*>(nullptr));
      auto found = grads.find(out.node().get());
      if (found == grads.end()) {
        grads.emplace(out.node().get(), std::move(s));
      } else {
        add(found->second, std::move(s));
      }
    }
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      const NodePtr& node = *it;
      if (wanted_.count(node.get()) || node->is_leaf()) continue;
      const auto found = grads.find(node.get());
      if (found == grads.end()) continue;
      check_versions(*node);
      auto shares = apply(node, found->second);
      const auto& inputs = node->inputs();
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!node->input_needs_grad(i) || !present(shares[i])) continue;
        if (!reaches_.count(inputs[i].get())) continue;
        auto into = grads.find(inputs[i].get());
        if (into == grads.end()) {
          grads.emplace(inputs[i].get(), std::move(shares[i]));
        } else {
          add(into->second, std::move(shares[i]));
        }
      }
    }
    std::vector<BasicVar<T>> result_list;
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      auto found = grads.find(inputs_[i].node().get());
      if (found != grads.end()) {
        result_list.push_back(result(G(found->second)));
      } else if (options_.allow_unused) {
        result_list.emplace_back();
      } else {
        throw std::invalid_argument("grad: " + describe("input", i, inputs_[i]) +
                                    " is not used by the outputs; pass allow_unused = true to "
                                    "get an empty Var for it");
      }
    }
    return result_list;
  }

  // Note [saved versions] in src/engine.cpp: a rule would read a value changed in place since.
  static void check_versions(const Node<T>& node) {
    const InputList<T>& inputs = node.inputs_;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const Node<T>* input = inputs[i].get();
      if (!input || input->version() == inputs.saved_version(i)) continue;
      throw std::logic_error("grad: input " + std::to_string(i) + " of " + std::string(node.op()) +
                             " ('" + input->name() +
                             "') was changed in place after the graph used it; build the graph "
                             "again after changing it");
    }
  }

  void release() {
    std::vector<NodePtr> graveyard;
    for (const NodePtr& node : order_) {
      if (!wanted_.count(node.get())) node->release(graveyard);
    }
  }

  const std::vector<BasicVar<T>>& outputs_;
  const std::vector<BasicVar<T>>& inputs_;
  const GradOptions options_;
  std::unordered_map<const Node<T>*, bool> wanted_, seen_, reaches_;
  std::vector<NodePtr> order_;
};

template <class T>
std::vector<BasicVar<T>> grad(const std::vector<BasicVar<T>>& outputs,
                              const std::vector<BasicVar<T>>& inputs, const GradOptions& options) {
  return GradPass<T>(outputs, inputs, options).run();
}

}  // namespace detail

std::vector<Var> grad(const std::vector<Var>& outputs, const std::vector<Var>& inputs,
                      const GradOptions& options) {
  return detail::grad(outputs, inputs, options);
}
std::vector<VarD> grad(const std::vector<VarD>& outputs, const std::vector<VarD>& inputs,
                       const GradOptions& options) {
  return detail::grad(outputs, inputs, options);
}
std::vector<Var> grad(const Var& output, const std::vector<Var>& inputs,
                      const GradOptions& options) {
  return detail::grad(std::vector<Var>{output}, inputs, options);
}
std::vector<VarD> grad(const VarD& output, const std::vector<VarD>& inputs,
                       const GradOptions& options) {
  return detail::grad(std::vector<VarD>{output}, inputs, options);
}

namespace detail {
namespace {
/// The gradient graph backward(create_graph) left in a leaf. Kept beside the graph, per thread
/// (a graph belongs to one thread), keyed by the leaf's node. It holds the leaf, so that the key
/// cannot be reused by another node; the next backward(create_graph) drops the entries whose
/// gradient is gone and those whose leaf nothing else holds.
template <class T>
struct GradGraph {
  NodePtr<T> leaf;
  BasicVar<T> grad;
};
template <class T>
std::unordered_map<const Node<T>*, GradGraph<T>>& grad_graphs() {
  thread_local std::unordered_map<const Node<T>*, GradGraph<T>> table;
  return table;
}

/// The leaf's gradient graph while it still is the leaf's gradient: not after zero_grad, nor
/// after a plain backward changed the value (`.grad()` is then not the graph's value).
template <class T>
BasicVar<T> current_grad_graph(const NodePtr<T>& leaf) {
  const auto found = grad_graphs<T>().find(leaf.get());
  if (found == grad_graphs<T>().end()) return {};
  if (!leaf->has_grad() || leaf->grad() != found->second.grad.value()) return {};
  return found->second.grad;
}
}  // namespace

template <class T>
void backward(const BasicVar<T>& output, const GradOptions& options) {
  if (!options.create_graph) return output.backward(options.retain_graph);
  // every leaf that requires a gradient, found without recursion
  std::vector<BasicVar<T>> leaves;
  std::unordered_map<const Node<T>*, bool> seen;
  std::vector<const Node<T>*> todo{output.node().get()};
  while (!todo.empty()) {
    const Node<T>* node = todo.back();
    todo.pop_back();
    if (!node || seen.count(node)) continue;
    seen[node] = true;
    if (node->released()) node->require_unreleased();
    for (const auto& input : node->inputs()) {
      if (!input || !input->requires_grad()) continue;
      if (seen.count(input.get())) continue;
      if (input->is_leaf()) {
        seen[input.get()] = true;
        leaves.emplace_back(input);
      } else {
        todo.push_back(input.get());
      }
    }
  }
  const std::vector<BasicVar<T>> grads = grad<T>({output}, leaves, {true, true, true});
  // entries of leaves held by nothing else, or whose gradient was cleared or replaced; until
  // none is left, as dropping one graph can leave another entry's leaf held by nothing else
  for (bool dropped = true; dropped;) {
    dropped = false;
    for (auto it = grad_graphs<T>().begin(); it != grad_graphs<T>().end();) {
      const NodePtr<T>& leaf = it->second.leaf;
      const bool current =
          !leaf.unique() && leaf->has_grad() && leaf->grad() == it->second.grad.value();
      dropped |= !current;
      it = current ? std::next(it) : grad_graphs<T>().erase(it);
    }
  }
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    if (!grads[i].defined()) continue;
    const NodePtr<T>& leaf = leaves[i].node();
    // gradients add up: onto the earlier graph, or onto an earlier plain gradient as a constant
    const BasicVar<T> before = current_grad_graph(leaf);
    BasicVar<T> total = grads[i];
    if (before.defined()) {
      total = before + grads[i];
    } else if (leaf->has_grad()) {
      total = BasicVar<T>(BasicTensor<T>(leaf->grad())) + grads[i];
    }
    leaf->zero_grad();
    leaf->accumulate_grad(BasicTensor<T>(total.value()), "backward");
    grad_graphs<T>()[leaf.get()] = GradGraph<T>{leaf, total};
  }
}

template <class T>
BasicVar<T> grad_var(const BasicVar<T>& leaf) {
  if (!leaf.defined()) throw std::invalid_argument("grad_var: an empty Var");
  const BasicVar<T> g = current_grad_graph(leaf.node());
  if (!g.defined()) {
    const std::string name = leaf.name().empty() ? std::string(leaf.op()) : "'" + leaf.name() + "'";
    throw std::logic_error("grad_var: " + name +
                           " has no gradient graph: call backward(output, {.create_graph = "
                           "true}) first (a plain backward or zero_grad since then drops it)");
  }
  return g;
}
}  // namespace detail

void backward(const Var& output, const GradOptions& options) { detail::backward(output, options); }
void backward(const VarD& output, const GradOptions& options) { detail::backward(output, options); }
Var grad_var(const Var& leaf) { return detail::grad_var(leaf); }
VarD grad_var(const VarD& leaf) { return detail::grad_var(leaf); }

template <class T>
BasicTensor<T> hvp(const VarFunction<T>& f, const BasicTensor<T>& x, const BasicTensor<T>& v) {
  if (v.shape() != x.shape()) {
    throw std::invalid_argument("hvp: v of shape " + shape_string(v.shape()) +
                                " differs from x of shape " + shape_string(x.shape()));
  }
  const BasicVar<T> xv(x, requires_grad, "x");
  const BasicVar<T> g = detail::grad<T>({f(xv)}, {xv}, {true}).at(0);
  // d <g, v> / dx = H v (H is symmetric)
  const BasicVar<T> gv = sum(g * BasicVar<T>(v));
  const std::vector<BasicVar<T>> hv = detail::grad<T>({gv}, {xv}, {false, false, true});
  if (!hv[0].defined()) return BasicTensor<T>(xt::zeros<T>(x.shape()));
  return hv[0].value();
}

template <class T>
BasicTensor<T> hessian(const VarFunction<T>& f, const BasicTensor<T>& x) {
  const std::size_t n = x.size();
  const BasicVar<T> xv(x, requires_grad, "x");
  const BasicVar<T> g = reshape(detail::grad<T>({f(xv)}, {xv}, {true}).at(0), Shape{n});
  BasicTensor<T> h = BasicTensor<T>::from_shape({n, n});
  for (std::size_t i = 0; i < n; ++i) {
    const std::vector<BasicVar<T>> row = detail::grad<T>(
        {slice(g, 0, static_cast<std::int64_t>(i), static_cast<std::int64_t>(i + 1))}, {xv},
        {false, true, true});
    for (std::size_t j = 0; j < n; ++j)
      h(i, j) = row[0].defined() ? row[0].value().data()[j] : T(0);
  }
  return h;
}

template <class T>
BasicTensor<T> jacobian(const VarFunction<T>& f, const BasicTensor<T>& x) {
  const BasicVar<T> xv(x, requires_grad, "x");
  const BasicVar<T> y = f(xv);
  const std::size_t m = y.size(), n = x.size();
  const BasicVar<T> flat = reshape(y, Shape{m});
  BasicTensor<T> jac = BasicTensor<T>::from_shape({m, n});
  for (std::size_t i = 0; i < m; ++i) {
    const std::vector<BasicVar<T>> row = detail::grad<T>(
        {slice(flat, 0, static_cast<std::int64_t>(i), static_cast<std::int64_t>(i + 1))}, {xv},
        {false, true, true});
    for (std::size_t j = 0; j < n; ++j)
      jac(i, j) = row[0].defined() ? row[0].value().data()[j] : T(0);
  }
  return jac;
}

template BasicTensor<float> hvp(const VarFunction<float>&, const Tensor&, const Tensor&);
template BasicTensor<double> hvp(const VarFunction<double>&, const TensorD&, const TensorD&);
template BasicTensor<float> hessian(const VarFunction<float>&, const Tensor&);
template BasicTensor<double> hessian(const VarFunction<double>&, const TensorD&);
template BasicTensor<float> jacobian(const VarFunction<float>&, const Tensor&);
template BasicTensor<double> jacobian(const VarFunction<double>&, const TensorD&);

}  // namespace retrograd
