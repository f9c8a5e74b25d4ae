// retrograd import: an ONNX model (as torch.onnx.export writes one) as a retrograd model file,
// which predicts, evaluates and trains further like one retrograd trained; and the model
// loading of predict and evaluate, which read .onnx files directly.

#include <iostream>
#include <retrograd/io/atomic_file.hpp>
#include <retrograd/io/model_io.hpp>
#include <retrograd/io/onnx.hpp>
#include <retrograd/nn/layers.hpp>

#include "commands.hpp"

namespace retrograd::cli {

namespace {

// ONNX carries no loss: an imported model is compiled as a classifier, with categorical
// cross-entropy (on logits unless the model ends in softmax), accuracy and SGD, so that
// evaluate can score it and the saved file states what it measures.
void compile_as_classifier(nn::Sequential& model) {
  bool softmax = false;
  nn::Module& last = model.layer(model.size() - 1);
  if (const auto* dense = dynamic_cast<const nn::Dense*>(&last)) {
    softmax = dense->activation() == nn::Activation::softmax();
  } else if (const auto* act = dynamic_cast<const nn::ActivationLayer*>(&last)) {
    softmax = act->activation() == nn::Activation::softmax();
  }
  model.compile(nn::Loss::categorical_cross_entropy(!softmax), nn::SGD(0.01), {"accuracy"});
}

bool is_onnx(const std::string& path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".onnx") == 0;
}

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
  // A chain is a Sequential (compiled as a classifier); a graph that branches a functional
  // Model.
  std::unique_ptr<nn::Module> module = io::import_onnx_module(a.model);
  if (auto* sequential = dynamic_cast<nn::Sequential*>(module.get())) {
    compile_as_classifier(*sequential);
    std::cout << sequential->summary();
  } else {
    std::cout << dynamic_cast<nn::Model&>(*module).summary();
  }
  io::save_model(*module, a.output);
  std::cout << "model: " << a.output << "\n";
}

}  // namespace

nn::Sequential load_model_file(const std::string& path) {
  if (!is_onnx(path)) return io::load_model(path);
  nn::Sequential model = io::import_onnx(path);
  compile_as_classifier(model);
  return model;
}

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
