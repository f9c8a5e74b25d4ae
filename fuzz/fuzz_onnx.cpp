// libFuzzer target: the ONNX importer (io::deserialize_onnx) on any bytes. Every input must
// import or throw OnnxFileError; an imported model must also run on one row of zeros.

#include <retrograd/io/onnx.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace retrograd;
  try {
    const nn::Sequential model =
        io::deserialize_onnx(std::vector<std::uint8_t>(data, data + size), "fuzz.onnx");
    const std::size_t width = model.input_features();
    if (width > 0 && width <= 4096) {
      Tensor x = Tensor::from_shape({1, width});
      x.fill(0);
      model.predict(x);
    }
  } catch (const io::OnnxFileError&) {
  }
  return 0;
}
