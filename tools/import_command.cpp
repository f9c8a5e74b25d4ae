// retrograd import: an ONNX model (as torch.onnx.export writes one) as a retrograd model file,
// which predicts, evaluates and trains further like one retrograd trained; and the model
// loading of predict and evaluate, which read .onnx files directly.

#include <iostream>
#include <retrograd/io/model_io.hpp>
#include <retrograd/io/onnx.hpp>
#include <retrograd/nn/layers.hpp>
#include <retrograd/nn/model.hpp>

#include "commands.hpp"
#include "output_path.hpp"

namespace retrograd::cli {

namespace {

// ONNX carries no loss: an imported model is compiled as a classifier, with categorical
// cross-entropy (on logits unless the model ends in softmax), accuracy and SGD, so that
// evaluate can score it and the saved file states what it measures.
void compile_as_classifier(nn::Sequential& model) {
  bool softmax = false;
  nn::Module* last = &model.layer(model.size() - 1);
  // A functional model ends in the layer its output step calls.
  if (auto* functional = dynamic_cast<nn::Model*>(last)) {
    const nn::ModelStep& out = functional->steps()[functional->output_steps().front()];
    if (out.kind == "layer") last = functional->children()[out.layer];
  }
  if (const auto* dense = dynamic_cast<const nn::Dense*>(last)) {
    softmax = dense->activation() == nn::Activation::softmax();
  } else if (const auto* act = dynamic_cast<const nn::ActivationLayer*>(last)) {
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
  bool overwrite = false;
};

void run_import(const ImportArgs& a) {
  check_output_path("--output", a.output, a.overwrite);
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
  std::unique_ptr<nn::Module> module =
      is_onnx(path) ? io::import_onnx_module(path) : io::load_module(path);
  if (dynamic_cast<nn::Sequential*>(module.get())) {
    if (!is_onnx(path)) return io::load_model(path);  // with its loss, classes and scaling
    nn::Sequential model = std::move(dynamic_cast<nn::Sequential&>(*module));
    compile_as_classifier(model);
    return model;
  }
  // A functional model: a Sequential of that one layer, which the commands read like any.
  auto* functional = dynamic_cast<nn::Model*>(module.get());
  if (!functional || functional->input_steps().size() != 1 ||
      functional->output_steps().size() != 1) {
    throw UsageError("--model: " + path + " holds a " + module->type() +
                     (functional ? " of several inputs or outputs" : "") +
                     "; predict and evaluate take a model of one input and one output");
  }
  nn::Sequential model;
  if (const Shape in = functional->input_shapes().front(); in.size() > 1) {
    model.set_input_shape(in);
  }
  model.add(std::move(module));
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
  cmd->add_flag("--overwrite", a->overwrite, "Replace --output if it exists");
  cmd->callback([a] { run_import(*a); });
}

}  // namespace retrograd::cli
