// retrograd export: a saved model as an ONNX graph (.onnx), or its weights alone as a NumPy .npz
// file; the output's extension chooses.

#include <iomanip>
#include <iostream>
#include <retrograd/io/model_io.hpp>
#include <retrograd/io/onnx.hpp>
#include <retrograd/io/weights.hpp>

#include "commands.hpp"
#include "output_path.hpp"

namespace retrograd::cli {

namespace {

struct ExportArgs {
  std::string model = "model.rg";
  std::string output;
  std::int64_t opset = io::onnx_max_opset;
  bool overwrite = false;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void run_export_onnx(const ExportArgs& a, nn::Sequential& model) {
  try {
    io::export_onnx(model, a.output, {a.opset});
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string(e.what()));
  }
  std::size_t layers = 0;
  for (nn::Module* layer : model.children()) {
    std::cout << "  " << layer->name() << " (" << layer->type() << ")\n";
    ++layers;
  }
  std::cout << "onnx: " << a.output << " (" << layers << " layers, opset " << a.opset << ")\n";
}

void run_export(const ExportArgs& a) {
  check_output_path("--output", a.output, a.overwrite);
  const bool onnx = ends_with(a.output, ".onnx");
  if (!onnx && !ends_with(a.output, ".npz")) {
    throw UsageError("--output: " + a.output + ": the extension names the format: .onnx or .npz");
  }
  nn::Sequential model = io::load_model(a.model);
  if (onnx) return run_export_onnx(a, model);
  io::save_weights(model, a.output);
  std::size_t arrays = 0, values = 0;
  std::size_t width = 0;
  for (const auto& p : model.named_parameters()) width = std::max(width, p.name.size());
  for (const auto& b : model.named_buffers()) width = std::max(width, b.name.size());
  // Shapes as wide as the longest (a convolution's 4-d one) plus a gap, 12 at least.
  std::size_t shape_width = 10;
  for (const auto& p : model.named_parameters()) {
    shape_width = std::max(shape_width, shape_string(p.var.shape()).size());
  }
  auto line = [&](const std::string& name, const Shape& shape, const char* kind) {
    std::cout << "  " << std::left << std::setw(static_cast<int>(width)) << name << "  "
              << std::setw(static_cast<int>(shape_width + 2)) << shape_string(shape) << kind
              << "\n";
    ++arrays;
    values += shape_size(shape);
  };
  for (const auto& p : model.named_parameters()) line(p.name, p.var.shape(), "parameter");
  for (const auto& b : model.named_buffers()) line(b.name, b.tensor->shape(), "buffer");
  std::cout << "weights: " << a.output << " (" << arrays << " float32 arrays, " << values
            << " values; Dense W is inputs x outputs)\n";
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Write a saved model as an ONNX graph (--output m.onnx), for ONNX runtimes, or its "
      "parameters and buffers as a NumPy .npz file (--output w.npz: one <name>.npy per tensor, "
      "float32), for numpy.load or PyTorch");
  cmd->add_option("--model", a->model, "Model file written by retrograd train")
      ->capture_default_str();
  cmd->add_option("--output", a->output, "The .onnx or .npz file to write")->required();
  cmd->add_option("--opset", a->opset, "ONNX operator set version of an .onnx output")
      ->check(CLI::Range(io::onnx_min_opset, io::onnx_max_opset))
      ->capture_default_str();
  cmd->add_flag("--overwrite", a->overwrite, "Replace --output if it exists");
  cmd->callback([a] { run_export(*a); });
}

}  // namespace retrograd::cli
