#include <iostream>

#include <retrograd/retrograd.hpp>

int main() {
  using namespace retrograd;
  VarD x(-2.0, requires_grad), y(5.0, requires_grad), z(-4.0, requires_grad);
  VarD f = (x + y) * z;
  f.backward();
  std::cout << "df/dx = " << x.grad_item() << " df/dy = " << y.grad_item()
            << " df/dz = " << z.grad_item() << "\n";
}
