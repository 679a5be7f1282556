#include "ingest/dead_letter.h"

namespace ldh {

std::string_view to_string(DeadLetterReason reason) {
  switch (reason) {
    case DeadLetterReason::malformed:
      return "malformed";
    case DeadLetterReason::truncated:
      return "truncated";
    case DeadLetterReason::bad_varint:
      return "bad_varint";
    case DeadLetterReason::schema_mismatch:
      return "schema_mismatch";
    case DeadLetterReason::wrong_type:
      return "wrong_type";
    case DeadLetterReason::missing_field:
      return "missing_field";
    case DeadLetterReason::not_a_number:
      return "not_a_number";
    case DeadLetterReason::out_of_range:
      return "out_of_range";
    case DeadLetterReason::invalid_utf8:
      return "invalid_utf8";
  }
  return "?";
}

std::uint64_t DeadLetterCounts::total() const {
  std::uint64_t sum = 0;
  for (auto count : by_reason) sum += count;
  return sum;
}

}  // namespace ldh
