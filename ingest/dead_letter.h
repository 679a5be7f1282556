#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ldh {

/// Classifies why a record could not be decoded; each reason has its own counter.
enum class DeadLetterReason : std::uint8_t {
  malformed,        // not parseable at all (bad JSON, bad frame header, garbage between frames)
  truncated,        // the input ended inside a frame or message
  bad_varint,       // a protobuf varint longer than 10 bytes or past the end
  schema_mismatch,  // a binary frame for another schema id or record size
  wrong_type,       // a value of another type than the schema's
  missing_field,    // a required field is absent
  not_a_number,     // NaN where the schema forbids it
  out_of_range,     // a value that does not fit the field's type
  invalid_utf8,     // a string that is not valid UTF-8
};
inline constexpr std::size_t kDeadLetterReasonCount = 9;

std::string_view to_string(DeadLetterReason reason);

/// One record that could not be decoded, with what a person needs to find and fix it.
struct DeadLetter {
  std::uint32_t source_index = 0;
  std::uint64_t offset = 0;  // byte offset of the record in its source's stream
  DeadLetterReason reason = DeadLetterReason::malformed;
  std::string detail;  // e.g. "field 'humidity': expected a number, got a string"
  std::string record;  // the raw bytes (cut to at most kDeadLetterRecordBytes)
};

/// Caps how much of a bad record is kept, so a huge garbage region cannot exhaust memory.
inline constexpr std::size_t kDeadLetterRecordBytes = 4096;

/// Counts dead letters per reason.
struct DeadLetterCounts {
  std::array<std::uint64_t, kDeadLetterReasonCount> by_reason{};
  void add(DeadLetterReason reason) { ++by_reason[static_cast<std::size_t>(reason)]; }
  std::uint64_t total() const;
};

}  // namespace ldh
