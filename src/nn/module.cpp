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
