// libFuzzer target: the ONNX importer (io::deserialize_onnx_module: chains and branching
// graphs) on any bytes. Every input must import or throw OnnxFileError; an imported model must
// also run on one row of zeros.

#include <retrograd/io/onnx.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace retrograd;
  try {
    const std::unique_ptr<nn::Module> model =
        io::deserialize_onnx_module(std::vector<std::uint8_t>(data, data + size), "fuzz.onnx");
    const std::size_t width = model->input_features();
    if (width > 0 && width <= 4096) {
      Tensor x = Tensor::from_shape({1, width});
      x.fill(0);
      model->infer_tensor(x);
    }
  } catch (const io::OnnxFileError&) {
  }
  return 0;
}
