#pragma once
// Internal: the field numbers of the onnx.proto messages retrograd reads and writes (onnx.proto
// of ONNX 1.12, proto2 syntax), the element types it knows, and the IR version each opset needs.

#include <cstdint>

namespace retrograd::io::detail::onnx {

namespace model {  // ModelProto
inline constexpr std::uint32_t ir_version = 1, producer_name = 2, producer_version = 3, graph = 7,
                               opset_import = 8;
}
namespace opset {  // OperatorSetIdProto
inline constexpr std::uint32_t domain = 1, version = 2;
}
namespace graph {  // GraphProto
inline constexpr std::uint32_t node = 1, name = 2, initializer = 5, input = 11, output = 12;
}
namespace node {  // NodeProto
inline constexpr std::uint32_t input = 1, output = 2, name = 3, op_type = 4, attribute = 5,
                               domain = 7;
}
namespace attribute {  // AttributeProto
inline constexpr std::uint32_t name = 1, f = 2, i = 3, s = 4, t = 5, floats = 7, ints = 8,
                               type = 20;
// AttributeProto.AttributeType
inline constexpr std::int64_t type_float = 1, type_int = 2, type_string = 3, type_tensor = 4,
                              type_floats = 6, type_ints = 7;
}  // namespace attribute
namespace tensor {  // TensorProto
inline constexpr std::uint32_t dims = 1, data_type = 2, float_data = 4, int64_data = 7, name = 8,
                               raw_data = 9, external_data = 13, data_location = 14;
// TensorProto.DataType
inline constexpr std::int64_t type_float = 1, type_int64 = 7;
}  // namespace tensor
namespace value_info {  // ValueInfoProto
inline constexpr std::uint32_t name = 1, type = 2;
}
namespace type {  // TypeProto and TypeProto.Tensor
inline constexpr std::uint32_t tensor_type = 1;
inline constexpr std::uint32_t elem_type = 1, shape = 2;
}  // namespace type
namespace shape {  // TensorShapeProto and its Dimension
inline constexpr std::uint32_t dim = 1;
inline constexpr std::uint32_t dim_value = 1, dim_param = 2;
}  // namespace shape

/// The IR version that introduced `opset` (ONNX's versioning table): 13 and 14 came with IR 7,
/// 15 to 17 with IR 8.
inline std::int64_t ir_version_for(std::int64_t opset) { return opset <= 14 ? 7 : 8; }

}  // namespace retrograd::io::detail::onnx
