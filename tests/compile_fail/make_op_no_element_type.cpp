// Must not compile: the value is an xtensor expression, so make_op cannot tell its element type.
// tests/CMakeLists.txt checks that the compiler says what to write instead.
#include <retrograd/retrograd.hpp>

using namespace retrograd;

VarD square(const VarD& x) {
  return make_op("square", x.value() * x.value(), {x},
                 [](const Node<double>& n, const TensorD& g) -> GradList<double> {
                   return {TensorD(2.0 * g * n.input(0))};
                 });
}
