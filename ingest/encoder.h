#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>

#include "pipeline/schema.h"

namespace ldh {

/// One value of a row to encode. monostate = absent; int64 for integer fields and for timestamps
/// (nanoseconds since the epoch, converted to the field's unit); double for floats; bool; string.
/// Integers and doubles convert into each other's numeric fields.
using FieldValue = std::variant<std::monostate, std::int64_t, double, bool, std::string>;

/// Writes rows in one wire format, the inverse of the format's Decoder, for `ldh gen`, the
/// built-in generator and tests. Not thread-safe; one per stream.
class Encoder {
 public:
  virtual ~Encoder() = default;

  /// Appends the record of `row` (values in schema order) to `out`.
  virtual void append(std::span<const FieldValue> row, std::string& out) = 0;

  /// Appends one deliberately bad record made from `row`, of a kind picked by `choice`, so
  /// dead-letter handling can be exercised (kinds per format in docs/formats.md).
  virtual void append_malformed(std::span<const FieldValue> row, std::uint64_t choice,
                                std::string& out) = 0;

  /// Appends whatever is still buffered (binary: closes the open frame).
  virtual void flush(std::string& out) = 0;
};

/// Creates an encoder for `format` and `schema`; binary frames close after `frame_records`
/// records or on flush().
std::unique_ptr<Encoder> make_encoder(Format format, const Schema& schema,
                                      std::uint32_t frame_records = 1024);

}  // namespace ldh
