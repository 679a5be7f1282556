#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ingest/dead_letter.h"
#include "pipeline/batch.h"
#include "pipeline/schema.h"
#include "pipeline/string_dictionary.h"

namespace ldh {

/// Caps one record (JSON line, protobuf message, binary frame); anything longer is dead-lettered,
/// so a corrupt length can never make a source buffer without bound.
inline constexpr std::size_t kMaxRecordBytes = 16u << 20;

/// Tells a decoder where decoded rows and bad records go.
struct DecodeTarget {
  EventBatch* batch = nullptr;
  /// Maps schema field index to the batch slot it fills.
  const std::vector<int>* field_slots = nullptr;
  StringDictionary* strings = nullptr;
  /// Receives bad records in stream order.
  std::vector<DeadLetter>* dead_letters = nullptr;
  std::uint32_t source_index = 0;
};

/// Remembers how far decoding of a chunk got, so a chunk can fill several batches.
struct DecodeCursor {
  std::size_t offset = 0;    // byte offset in the chunk of the next unread record or frame
  std::uint32_t record = 0;  // binary only: next record inside the frame at `offset`
  bool done(std::size_t chunk_size) const { return offset >= chunk_size; }
};

/// What Decoder::frame() found besides the prefix length.
struct FrameInfo {
  std::size_t records = 0;
  bool framing_lost = false;
};

/// Turns bytes of one format into rows of a batch. One instance per thread (it keeps caches);
/// the StringDictionary it interns into is shared and thread-safe.
class Decoder {
 public:
  virtual ~Decoder() = default;

  /// Returns the length of the longest prefix of `bytes` made of whole records, stopping after
  /// about `max_records` records, so a source can cut its stream into independent chunks.
  /// Returns 0 when more bytes are needed; with `end_of_stream`, a non-empty input always gives
  /// a non-zero length (a trailing partial record is then dead-lettered by decode()).
  /// Fills `info` (when given) with the number of whole records in the prefix, for pacing, and
  /// whether the prefix ends in bytes after which the stream cannot be framed again (a broken
  /// protobuf length prefix): the source then ends the stream there, and decode() dead-letters
  /// the rest of the chunk saying so.
  virtual std::size_t frame(std::span<const std::byte> bytes, std::size_t max_records,
                            bool end_of_stream, FrameInfo* info = nullptr) const = 0;

  /// Decodes records of `chunk` from `cursor` on, appending rows to target.batch until the chunk
  /// is consumed or the batch is full, and advances `cursor`. `chunk_offset` is the chunk's
  /// offset in the source stream, for dead-letter offsets. Bad records are appended to
  /// target.dead_letters and skipped; decode never throws for bad input.
  virtual void decode(std::span<const std::byte> chunk, std::uint64_t chunk_offset,
                      DecodeCursor& cursor, DecodeTarget& target) = 0;
};

/// Creates a decoder for `format` and `schema`. `validate` = false skips value checks (UTF-8 of
/// strings, NaN in floats that forbid it) but never structure or range checks. Throws UserError
/// when the schema cannot be read in that format (docs/formats.md).
std::unique_ptr<Decoder> make_decoder(Format format, const Schema& schema, bool validate = true);

}  // namespace ldh
