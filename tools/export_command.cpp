// retrograd export: the weights of a saved model alone, as a NumPy .npz file.

#include <iomanip>
#include <iostream>
#include <retrograd/io/atomic_file.hpp>
#include <retrograd/io/model_io.hpp>
#include <retrograd/io/weights.hpp>

#include "commands.hpp"

namespace retrograd::cli {

namespace {

struct ExportArgs {
  std::string model = "model.rg";
  std::string output;
};

void run_export(const ExportArgs& a) {
  try {
    io::check_writable(a.output, "--output");
  } catch (const io::FileWriteError& e) {
    throw UsageError(e.what());
  }
  nn::Sequential model = io::load_model(a.model);
  io::save_weights(model, a.output);
  std::size_t arrays = 0, values = 0;
  std::size_t width = 0;
  for (const auto& p : model.named_parameters()) width = std::max(width, p.name.size());
  for (const auto& b : model.named_buffers()) width = std::max(width, b.name.size());
  auto line = [&](const std::string& name, const Shape& shape, const char* kind) {
    std::cout << "  " << std::left << std::setw(static_cast<int>(width)) << name << "  "
              << std::setw(12) << shape_string(shape) << kind << "\n";
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
      "Write a saved model's parameters and buffers as a NumPy .npz file (one <name>.npy per "
      "tensor, float32), for numpy.load or PyTorch");
  cmd->add_option("--model", a->model, "Model file written by retrograd train")
      ->capture_default_str();
  cmd->add_option("--output", a->output, "The .npz file to write")->required();
  cmd->callback([a] { run_export(*a); });
}

}  // namespace retrograd::cli
