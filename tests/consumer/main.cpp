#include <filesystem>
#include <iostream>
#include <retrograd/retrograd.hpp>

int main() {
  using namespace retrograd;
  VarD x(-2.0, requires_grad), y(5.0, requires_grad), z(-4.0, requires_grad);
  VarD f = (x + y) * z;
  f.backward();
  std::cout << "df/dx = " << x.grad_item() << " df/dy = " << y.grad_item()
            << " df/dz = " << z.grad_item() << "\n";
  // io links libzip privately: the installed package must still bring it to the link.
  nn::Dense layer(2, 1);
  const std::string path = (std::filesystem::temp_directory_path() / "consumer.npz").string();
  io::save_weights(layer, path);
  io::load_weights(layer, path);
  std::filesystem::remove(path);
}
