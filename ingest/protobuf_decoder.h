#pragma once

#include <memory>

#include "ingest/decoder.h"

namespace ldh {

/// Creates the decoder of length-delimited protobuf messages (docs/formats.md), driven by each
/// field's proto_number and proto_type. Throws UserError when a field's proto type cannot hold
/// its DataType or two fields share a number. `validate` = false skips NaN and UTF-8 checks.
std::unique_ptr<Decoder> make_protobuf_decoder(const Schema& schema, bool validate);

/// Returns the proto type a field is written as, resolving ProtoType::by_type.
ProtoType resolved_proto_type(const Field& field);

/// Returns the field number a field is written with: proto_number, or its position + 1 when 0.
std::uint32_t resolved_proto_number(const Schema& schema, std::size_t index);

}  // namespace ldh
