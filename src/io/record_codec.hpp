#pragma once
// Internal: Records as bytes (docs/io.md, "Records"). Little-endian whatever the host.
//
//   record  = u32 field count, then per field: str key, u8 tag, value
//   str     = u32 length, bytes
//   value   = i64 (tag 1) | f64 (2) | str (3)
//           | tensor (4): u8 rank <= 8, u64 dims, f32 values in row-major order
//           | u64 list (5) | f64 list (6): u64 count, values
//           | record list (7): u32 count, records
//
// The decoder checks every count against the bytes left before it allocates, so the memory a
// file can ask for is bounded by a small multiple of its size.

#include <cstdint>
#include <string>
#include <vector>

#include "retrograd/nn/record.hpp"

namespace retrograd::io::detail {

/// Appends `record`'s encoding to `out`.
void encode_record(const nn::Record& record, std::vector<std::uint8_t>& out);

/// Decodes one record from bytes [begin, end) of `bytes`; `begin` moves past it. `source`
/// names the bytes in errors (ModelFileError with the byte offset).
nn::Record decode_record(const std::uint8_t* bytes, std::size_t& begin, std::size_t end,
                         const std::string& source);

}  // namespace retrograd::io::detail
