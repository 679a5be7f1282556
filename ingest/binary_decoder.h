#pragma once

#include <memory>

#include "ingest/decoder.h"

namespace ldh {

/// Creates the decoder of ldh's binary frames (docs/formats.md): fixed-layout little-endian
/// records behind an "LDHF" header. `validate` = false skips the NaN and UTF-8 checks.
std::unique_ptr<Decoder> make_binary_decoder(const Schema& schema, bool validate);

}  // namespace ldh
