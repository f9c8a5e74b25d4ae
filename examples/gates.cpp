// The gate examples of the backprop course, stepped through: forward values, then every gate's
// upstream x local = downstream, then the graph as DOT (and SVG when Graphviz is installed) and
// as an interactive page to step through in a browser.
//
//   gates [output-dir]     (default: the current directory)

#include <iostream>
#include <retrograd/retrograd.hpp>
#include <string>

using namespace retrograd;

namespace {

std::string out_dir = ".";

void show(const std::string& title, const std::string& file, const VarD& output) {
  const Trace<double> trace = traced_backward(output);
  std::cout << "== " << title << " ==\n"
            << trace.forward_text() << trace.backward_text() << trace.gradients_text();
  const std::string dot = out_dir + "/" + file + ".dot";
  write_dot(output, dot);
  std::cout << "graph: " << dot;
  if (render_svg(dot, out_dir + "/" + file + ".svg")) {
    std::cout << ", " << out_dir << "/" << file << ".svg";
    const std::string page = out_dir + "/" + file + ".html";
    write_html(trace, page, title);
    std::cout << "\npage: " << page;
  }
  std::cout << "\n\n";
}

// The course's MultiplyGate: a gate object with its own forward and backward.
struct MultiplyGate {
  VarD forward(const VarD& x, const VarD& y) {
    const TensorD value = x.value() * y.value();
    return make_op<double>("multiply_gate", value, {x, y},
                           [](const Node<double>& n, const TensorD& dz) -> GradList<double> {
                             // dz/dx = y, dz/dy = x
                             return {TensorD(n.input(1) * dz), TensorD(n.input(0) * dz)};
                           });
  }
};

}  // namespace

int main(int argc, char** argv) {
  ensure_fast_blas(argv);
  if (argc > 1) out_dir = argv[1];

  // 1. f = (x + y) * z at x = -2, y = 5, z = -4.
  {
    VarD x(-2.0, requires_grad, "x"), y(5.0, requires_grad, "y"), z(-4.0, requires_grad, "z");
    VarD q = (x + y).named("q");
    VarD f = (q * z).named("f");
    show("1. f = (x + y) * z", "gates_1", f);
  }

  // 2. The max gate routes the whole gradient to the larger input:
  //    f = 2 * (x * y + max(z, w)) at x = 3, y = -4, z = 2, w = -1.
  {
    VarD x(3.0, requires_grad, "x"), y(-4.0, requires_grad, "y");
    VarD z(2.0, requires_grad, "z"), w(-1.0, requires_grad, "w");
    VarD p = (x * y).named("p");
    VarD m = maximum(z, w).named("m");
    VarD s = (p + m).named("s");
    VarD f = (s * 2.0).named("f");
    show("2. f = 2 * (x * y + max(z, w))", "gates_2", f);
  }

  // 3. The sigmoid neuron 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))).
  {
    VarD w0(2.0, requires_grad, "w0"), x0(-1.0, requires_grad, "x0");
    VarD w1(-3.0, requires_grad, "w1"), x1(-2.0, requires_grad, "x1");
    VarD w2(-3.0, requires_grad, "w2");
    VarD dot = (w0 * x0 + w1 * x1 + w2).named("dot");
    VarD f = (1.0 / (1.0 + exp(-dot))).named("f");
    show("3. sigmoid neuron", "gates_3", f);
  }

  // 4. A custom MultiplyGate gives the same gradients as the built-in multiply.
  {
    VarD x(-2.0, requires_grad, "x"), y(5.0, requires_grad, "y"), z(-4.0, requires_grad, "z");
    MultiplyGate gate;
    VarD q = (x + y).named("q");
    VarD f = gate.forward(q, z).named("f");
    show("4. custom MultiplyGate: f = (x + y) * z", "gates_4", f);
  }
  return 0;
}
