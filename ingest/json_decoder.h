#pragma once

#include <memory>

#include "ingest/decoder.h"

namespace ldh {

/// Creates the decoder of JSON lines (one object per line; docs/formats.md). `validate` = false
/// accepts NaN in floats that forbid it (UTF-8 is always checked by the JSON parser).
std::unique_ptr<Decoder> make_json_decoder(const Schema& schema, bool validate);

}  // namespace ldh
