// retrograd import: an ONNX model (as torch.onnx.export writes one) as a retrograd model file,
// which predicts, evaluates and trains further like one retrograd trained.

#include <iostream>
#include <retrograd/io/atomic_file.hpp>
#include <retrograd/io/model_io.hpp>
#include <retrograd/io/onnx.hpp>

#include "commands.hpp"

namespace retrograd::cli {

namespace {

struct ImportArgs {
  std::string model;
  std::string output = "model.rg";
};

void run_import(const ImportArgs& a) {
  try {
    io::check_writable(a.output, "--output");
  } catch (const io::FileWriteError& e) {
    throw UsageError(e.what());
  }
  nn::Sequential model = io::import_onnx(a.model);
  io::save_model(model, a.output);
  std::cout << model.summary() << "model: " << a.output << "\n";
}

}  // namespace

void add_import_command(CLI::App& app) {
  auto a = std::make_shared<ImportArgs>();
  CLI::App* cmd =
      app.add_subcommand("import", "Read an ONNX model (a chain of " + io::onnx_importable_ops() +
                                       ") and save it as a retrograd model file");
  cmd->add_option("--model", a->model, "The .onnx file to read")->required();
  cmd->add_option("--output", a->output, "The retrograd model file to write")
      ->capture_default_str();
  cmd->callback([a] { run_import(*a); });
}

}  // namespace retrograd::cli
