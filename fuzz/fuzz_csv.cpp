// libFuzzer target: the CSV reader. The first byte picks the options (header, delimiter, label
// column, class labels); the rest is the file. Every input must load or throw CsvError.

#include <retrograd/data/csv.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace retrograd::data;
  retrograd::fuzz::Cursor in(data, size);
  const std::uint8_t choice = in.byte();
  CsvOptions options;
  options.header = (choice & 1) != 0;
  options.delimiter = "\t,;|"[(choice >> 1) & 3];
  const int label = (choice >> 3) & 3;  // last, first, none, by name
  if (label == 1) options.label_column = 0;
  if (label == 2) options.label_column = std::nullopt;
  if (label == 3) options.label_name = "y";
  if (choice & 0x20) options.max_classes = 10;
  const std::string text = in.rest();
  const std::string& path =
      retrograd::fuzz::write_input(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  try {
    const CsvData csv = read_csv(path, options);
    if (csv.features.dimension() != 2 || csv.features.shape()[1] != csv.feature_names.size() ||
        csv.features.shape()[1] == 0 ||
        (csv.has_labels() && csv.labels.size() != csv.features.shape()[0])) {
      std::abort();
    }
  } catch (const CsvError&) {
  }
  return 0;
}
