#include "retrograd/nn/module.hpp"

namespace retrograd::nn {

namespace {
thread_local bool inference_on = false;
}  // namespace

InferenceGuard::InferenceGuard() : previous_(inference_on) { inference_on = true; }
InferenceGuard::~InferenceGuard() { inference_on = previous_; }
bool inference_mode() { return inference_on; }

template <class T>
BasicVar<T> BasicModule<T>::infer(const BasicVar<T>& x) const {
  InferenceGuard inference;
  // Evaluation-mode forward passes leave the module unchanged (the contract in module.hpp).
  return const_cast<BasicModule*>(this)->forward(x);
}

template <class T>
BasicTensor<T> BasicModule<T>::infer_tensor(const BasicTensor<T>& x) const {
  return infer(BasicVar<T>(x)).value();
}

template <class T>
std::vector<BasicVar<T>> BasicModule<T>::parameters() const {
  std::vector<BasicVar<T>> out;
  for (NamedParameter<T>& p : named_parameters()) out.push_back(std::move(p.var));
  return out;
}

template <class T>
std::vector<NamedParameter<T>> BasicModule<T>::children_parameters() const {
  std::vector<NamedParameter<T>> out;
  // children() only hands out pointers (its contract in module.hpp).
  for (BasicModule* child : const_cast<BasicModule*>(this)->children()) {
    for (NamedParameter<T>& p : child->named_parameters()) {
      out.push_back({child->name() + "." + p.name, std::move(p.var)});
    }
  }
  return out;
}

template <class T>
std::vector<NamedBuffer<T>> BasicModule<T>::children_buffers() {
  std::vector<NamedBuffer<T>> out;
  for (BasicModule* child : children()) {
    for (const NamedBuffer<T>& b : child->named_buffers()) {
      out.push_back({child->name() + "." + b.name, b.tensor});
    }
  }
  return out;
}

template <class T>
std::vector<NamedEngine> BasicModule<T>::children_engines() {
  std::vector<NamedEngine> out;
  for (BasicModule* child : children()) {
    for (const NamedEngine& e : child->named_engines()) {
      out.push_back({child->name() + "." + e.name, e.engine});
    }
  }
  return out;
}

template <class T>
std::size_t BasicModule<T>::parameter_count() const {
  std::size_t count = 0;
  for (const NamedParameter<T>& p : named_parameters()) count += p.var.size();
  return count;
}

template <class T>
std::size_t BasicModule<T>::buffer_count() {
  std::size_t count = 0;
  for (const NamedBuffer<T>& b : named_buffers()) count += b.tensor->size();
  return count;
}

template <class T>
void BasicModule<T>::zero_grad() {
  for (NamedParameter<T>& p : named_parameters()) p.var.zero_grad();
}

template class BasicModule<float>;
template class BasicModule<double>;

}  // namespace retrograd::nn
