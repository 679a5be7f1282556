#pragma once

#include <string>
#include <vector>

#include "ingest/dead_letter.h"
#include "pipeline/batch.h"
#include "pipeline/operator.h"
#include "pipeline/string_dictionary.h"

namespace ldh {

/// Formats rows of a batch as flat JSON objects, one per line, fields in plan order: numbers in
/// shortest round-trip form (NaN and infinities as null), timestamps as ISO-8601 UTC, strings
/// escaped, nulls as null. One instance per thread (it caches dictionary strings).
class EventJsonWriter {
 public:
  EventJsonWriter(std::vector<PlanField> fields, const StringDictionary& strings);

  /// Appends row `row` of `batch` and a newline to `out`.
  void append_row(const EventBatch& batch, std::size_t row, std::string& out);
  /// Appends every row whose selection byte equals `code` (kLive for the output).
  void append_rows(const EventBatch& batch, std::uint8_t code, std::string& out);

 private:
  std::string_view string_of(std::int32_t id);
  std::vector<PlanField> fields_;
  std::vector<std::string> keys_;  // `"name":` with the leading comma or brace
  const StringDictionary& strings_;
  std::vector<std::string_view> cache_;
};

/// Appends one dead letter as a JSON line: source, offset, reason, detail and the record (as
/// text when it is valid UTF-8, else base64 in `record_base64`).
void append_dead_letter(const DeadLetter& letter, std::string_view source_name, std::string& out);

}  // namespace ldh
