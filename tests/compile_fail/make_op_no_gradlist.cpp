// Must not compile: the backward rule returns a std::vector, not a GradList. tests/CMakeLists.txt
// checks that the compiler says what to write instead.
#include <retrograd/retrograd.hpp>

using namespace retrograd;

VarD square(const VarD& x) {
  return make_op("square", TensorD(x.value() * x.value()), {x},
                 [](const Node<double>& n, const TensorD& g) {
                   return std::vector<TensorD>{TensorD(2.0 * g * n.input(0))};
                 });
}
