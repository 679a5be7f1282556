#pragma once

#include <memory>
#include <optional>

#include "ingest/binary_frame.h"
#include "ingest/decoder.h"

namespace ldh {

/// Creates the decoder of ldh's binary frames (docs/formats.md): fixed-layout little-endian
/// records behind an "LDHF" header. `validate` = false skips the NaN and UTF-8 checks.
std::unique_ptr<Decoder> make_binary_decoder(const Schema& schema, bool validate);

/// Checks the frame at `position` of a binary chunk as the decoder does, for the decoder and
/// the device path alike: garbage, a cut frame and a frame of another schema (or record size)
/// become dead letters in target.dead_letters with the decoder's words. Returns the header of
/// a frame of `schema_id` records of `record_size` bytes, else nothing; `next` is where the
/// walk goes on (chunk.size() to stop).
std::optional<FrameHeader> check_frame(std::span<const std::byte> chunk, std::uint64_t chunk_offset,
                                       std::size_t position, std::uint32_t schema_id,
                                       std::size_t record_size, const DecodeTarget& target,
                                       std::size_t& next);

}  // namespace ldh
