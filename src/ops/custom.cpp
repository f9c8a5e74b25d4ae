// make_op: an op written outside the library, recorded like a built-in one.

#include <mutex>
#include <string>
#include <unordered_set>

#include "ops/op_machinery.hpp"
#include "retrograd/ops.hpp"

namespace retrograd {
using namespace detail;

namespace {
/// Custom op names live as long as the program: a node keeps a pointer to its op's name, not a
/// copy.
const char* intern(const std::string& name) {
  static std::mutex mutex;
  static std::unordered_set<std::string> names;
  std::lock_guard<std::mutex> lock(mutex);
  return names.insert(name).first->c_str();
}
}  // namespace

namespace detail {
template <class T>
BasicVar<T> record_custom_op(std::string op, BasicTensor<T> value,
                             const std::vector<BasicVar<T>>& inputs, BackwardFn<T> backward) {
  std::vector<NodePtr<T>> nodes;
  nodes.reserve(inputs.size());
  for (const BasicVar<T>& input : inputs) nodes.push_back(node_of(op.c_str(), input));
  return record(intern(op), std::move(value), InputList<T>(std::move(nodes)), std::move(backward));
}

template BasicVar<float> record_custom_op(std::string, Tensor, const std::vector<Var>&,
                                          BackwardFn<float>);
template BasicVar<double> record_custom_op(std::string, TensorD, const std::vector<VarD>&,
                                           BackwardFn<double>);
}  // namespace detail

}  // namespace retrograd
