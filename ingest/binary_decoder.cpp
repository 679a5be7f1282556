#include "ingest/binary_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "ingest/binary_frame.h"
#include "ingest/field_store.h"
#include "ingest/string_cache.h"

namespace ldh {

namespace {

/// Where one field sits in a record and what checking it needs.
struct FieldLayout {
  std::size_t offset = 0;
  std::uint32_t width = 0;
  DataType type = DataType::int32;
  std::int64_t unit_ns = 1;
  bool reject_nan = false;
};

template <typename T>
T load(const unsigned char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

class BinaryDecoder final : public Decoder {
  static constexpr std::size_t kBlockRecords = 128;

 public:
  BinaryDecoder(const Schema& schema, bool validate)
      : schema_(schema), validate_(validate), record_size_(schema.binary_record_size()) {
    LDH_USER_CHECK(!schema_.fields.empty(), "a binary schema needs at least one field");
    for (std::size_t i = 0; i < schema_.fields.size(); ++i) {
      const Field& field = schema_.fields[i];
      FieldLayout layout;
      layout.offset = schema_.binary_offset(i);
      layout.width = static_cast<std::uint32_t>(binary_width(field));
      layout.type = field.type;
      layout.unit_ns = field.type == DataType::timestamp && field.time_unit != TimeUnit::iso8601
                           ? nanoseconds_per(field.time_unit)
                           : 1;
      layout.reject_nan = validate && !field.allow_nan;
      layouts_.push_back(layout);
    }
  }

  std::size_t frame(std::span<const std::byte> bytes, std::size_t max_records, bool end_of_stream,
                    FrameInfo* info) const override {
    std::size_t records = 0;
    auto cut = [&](std::size_t length) {
      if (info != nullptr) info->records = records;
      return length;
    };
    std::size_t position = 0;
    while (position < bytes.size() && records < max_records) {
      std::size_t rest = bytes.size() - position;
      FrameScan scan = scan_frame(bytes.subspan(position), kMaxRecordBytes);
      switch (scan.step) {
        case FrameStep::frame:
          if (scan.size > rest) return cut(end_of_stream ? bytes.size() : position);
          position += static_cast<std::size_t>(scan.size);
          records += std::max<std::size_t>(scan.header.record_count, 1);
          break;
        case FrameStep::short_tail:
          return cut(end_of_stream ? bytes.size() : position);
        case FrameStep::garbage:
          if (scan.magic_follows) {
            position += static_cast<std::size_t>(scan.size);
            ++records;
            break;
          }
          if (end_of_stream) return cut(bytes.size());
          // The garbage may go on in bytes not read yet; wait unless it already passes the
          // record cap (the last three bytes may begin a magic, so they stay).
          if (rest > kMaxRecordBytes) return cut(bytes.size() - 3);
          return cut(position);
      }
    }
    return cut(position);
  }

  void decode(std::span<const std::byte> chunk, std::uint64_t chunk_offset, DecodeCursor& cursor,
              DecodeTarget& target) override {
    EventBatch& batch = *target.batch;
    bool bound = false;
    while (!cursor.done(chunk.size())) {
      const std::size_t position = cursor.offset;
      std::size_t next = 0;
      const std::optional<FrameHeader> frame =
          check_frame(chunk, chunk_offset, position, schema_.id, record_size_, target, next);
      if (!frame) {
        cursor = {next, 0};
        continue;
      }
      const FrameHeader& header = *frame;
      if (cursor.record < header.record_count) {
        if (batch.full()) return;
        if (!bound) {
          bind_outputs(schema_, validate_, target, outputs_);
          cache_.use(target.strings);
          bound = true;
        }
        std::size_t count = std::min<std::size_t>(header.record_count - cursor.record,
                                                  batch.capacity() - batch.size());
        std::size_t records_offset =
            position + header.header_size + static_cast<std::size_t>(cursor.record) * record_size_;
        decode_records(chunk, chunk_offset, records_offset, count, target);
        cursor.record += static_cast<std::uint32_t>(count);
      }
      if (cursor.record >= header.record_count) cursor = {next, 0};
    }
  }

 private:
  /// Decodes `count` whole records starting at `records_offset` in `chunk` into the rows after
  /// the batch's end, column by column; records that fail a check are dead-lettered and removed.
  void decode_records(std::span<const std::byte> chunk, std::uint64_t chunk_offset,
                      std::size_t records_offset, std::size_t count, DecodeTarget& target) {
    EventBatch& batch = *target.batch;
    const auto* records = reinterpret_cast<const unsigned char*>(chunk.data()) + records_offset;
    std::size_t row = batch.size();
    bool any_bad = false;
    // Column by column within blocks of records small enough to stay in L1 across the columns.
    for (std::size_t first = 0; first < count; first += kBlockRecords) {
      const std::size_t block = std::min(kBlockRecords, count - first);
      const unsigned char* block_records = records + first * record_size_;
      for (std::size_t i = 0; i < layouts_.size(); ++i) {
        any_bad |= decode_column(layouts_[i], outputs_[i], block_records, block, row + first,
                                 *target.strings);
      }
    }
    if (!any_bad) {
      batch.resize(row + count);
      return;
    }
    // Rare path: find each bad record's first failing field, in schema order, then close the gaps.
    std::size_t kept = 0;
    for (std::size_t r = 0; r < count; ++r) {
      const unsigned char* record = records + r * record_size_;
      DeadLetterReason reason{};
      std::string detail;
      if (check_record(record, reason, detail)) {
        if (kept != r) move_row(row + r, row + kept);
        ++kept;
      } else {
        add_dead_letter(target, chunk, chunk_offset, records_offset + r * record_size_,
                        record_size_, reason, std::move(detail));
      }
    }
    batch.resize(row + kept);
  }

  /// Fills one column for `count` records; returns whether any value failed its check.
  bool decode_column(const FieldLayout& layout, const FieldOutput& out,
                     const unsigned char* records, std::size_t count, std::size_t row,
                     StringDictionary& strings) {
    const std::size_t stride = record_size_;
    const unsigned char* p = records + layout.offset;
    if (out.validity != nullptr) std::memset(out.validity + row, 1, count);
    bool bad = false;
    switch (layout.type) {
      case DataType::int32:
        if (out.data == nullptr) return false;
        for (std::size_t r = 0; r < count; ++r) {
          static_cast<std::int32_t*>(out.data)[row + r] = load<std::int32_t>(p + r * stride);
        }
        return false;
      case DataType::int64:
        if (out.data == nullptr) return false;
        for (std::size_t r = 0; r < count; ++r) {
          static_cast<std::int64_t*>(out.data)[row + r] = load<std::int64_t>(p + r * stride);
        }
        return false;
      case DataType::timestamp: {
        const std::int64_t unit = layout.unit_ns;
        auto* values = static_cast<std::int64_t*>(out.data);
        for (std::size_t r = 0; r < count; ++r) {
          std::int64_t nanoseconds;
          bad |= !scale_timestamp(load<std::int64_t>(p + r * stride), unit, &nanoseconds);
          if (values != nullptr) values[row + r] = nanoseconds;
        }
        return bad;
      }
      case DataType::float32: {
        auto* values = static_cast<float*>(out.data);
        for (std::size_t r = 0; r < count; ++r) {
          float value = load<float>(p + r * stride);
          bad |= value != value;
          if (values != nullptr) values[row + r] = value;
        }
        return bad && layout.reject_nan;
      }
      case DataType::float64: {
        auto* values = static_cast<double*>(out.data);
        for (std::size_t r = 0; r < count; ++r) {
          double value = load<double>(p + r * stride);
          bad |= value != value;
          if (values != nullptr) values[row + r] = value;
        }
        return bad && layout.reject_nan;
      }
      case DataType::boolean: {
        auto* values = static_cast<std::uint8_t*>(out.data);
        for (std::size_t r = 0; r < count; ++r) {
          std::uint8_t value = p[r * stride];
          bad |= value > 1;
          if (values != nullptr) values[row + r] = value;
        }
        return bad;
      }
      case DataType::string: {
        auto* values = static_cast<std::int32_t*>(out.data);
        const std::uint32_t width = layout.width;
        for (std::size_t r = 0; r < count; ++r) {
          const char* slot = reinterpret_cast<const char*>(p + r * stride);
          std::int32_t id = cache_.find(slot, width);
          if (id < 0) id = resolve_slot(slot, width, strings);
          bad |= id < 0;
          if (values != nullptr) values[row + r] = id;
        }
        return bad;
      }
    }
    return false;
  }

  /// Returns the text of a string slot (up to the first NUL), or false when the padding or the
  /// UTF-8 is bad.
  bool slot_text(const char* slot, std::uint32_t width, std::string_view& text,
                 DeadLetterReason* reason, std::string* problem) const {
    const void* nul = std::memchr(slot, 0, width);
    std::size_t length =
        nul == nullptr ? width : static_cast<std::size_t>(static_cast<const char*>(nul) - slot);
    for (std::size_t i = length; i < width; ++i) {
      if (slot[i] != 0) {
        if (problem != nullptr) {
          *reason = DeadLetterReason::malformed;
          *problem = "bytes after the terminating NUL are not all NUL";
        }
        return false;
      }
    }
    text = std::string_view(slot, length);
    if (validate_ && !simdjson::validate_utf8(text.data(), text.size())) {
      if (problem != nullptr) {
        *reason = DeadLetterReason::invalid_utf8;
        *problem = "invalid UTF-8";
      }
      return false;
    }
    return true;
  }

  /// Interns a string slot missing from the cache; -1 when it fails its checks.
  std::int32_t resolve_slot(const char* slot, std::uint32_t width, StringDictionary& strings) {
    std::string_view text;
    if (!slot_text(slot, width, text, nullptr, nullptr)) return -1;
    std::int32_t id = strings.intern(text);
    cache_.insert(slot, width, id);
    return id;
  }

  /// Checks one record field by field; on the first failure fills `reason` and `detail`.
  bool check_record(const unsigned char* record, DeadLetterReason& reason,
                    std::string& detail) const {
    for (std::size_t i = 0; i < layouts_.size(); ++i) {
      const FieldLayout& layout = layouts_[i];
      const Field& field = schema_.fields[i];
      const unsigned char* p = record + layout.offset;
      switch (layout.type) {
        case DataType::timestamp: {
          std::int64_t value = load<std::int64_t>(p);
          std::int64_t nanoseconds;
          if (!scale_timestamp(value, layout.unit_ns, &nanoseconds)) {
            reason = DeadLetterReason::out_of_range;
            detail =
                describe_store_failure(field, StoreStatus::out_of_range, std::to_string(value));
            return false;
          }
          break;
        }
        case DataType::float32:
        case DataType::float64: {
          bool nan = layout.type == DataType::float32 ? load<float>(p) != load<float>(p)
                                                      : load<double>(p) != load<double>(p);
          if (nan && layout.reject_nan) {
            reason = DeadLetterReason::not_a_number;
            detail = describe_store_failure(field, StoreStatus::not_a_number, "");
            return false;
          }
          break;
        }
        case DataType::boolean:
          if (*p > 1) {
            reason = DeadLetterReason::wrong_type;
            detail = describe_store_failure(field, StoreStatus::wrong_type,
                                            "the byte " + std::to_string(*p));
            return false;
          }
          break;
        case DataType::string: {
          std::string_view text;
          std::string problem;
          if (!slot_text(reinterpret_cast<const char*>(p), layout.width, text, &reason, &problem)) {
            detail = "field '" + field.name + "': " + problem;
            return false;
          }
          break;
        }
        case DataType::int32:
        case DataType::int64:
          break;
      }
    }
    return true;
  }

  /// Moves the values of row `from` to row `to` in every kept column.
  void move_row(std::size_t from, std::size_t to) {
    for (const FieldOutput& out : outputs_) {
      if (out.data != nullptr) {
        std::size_t width = storage_width(out.type);
        std::memcpy(static_cast<char*>(out.data) + to * width,
                    static_cast<const char*>(out.data) + from * width, width);
      }
      if (out.validity != nullptr) out.validity[to] = out.validity[from];
    }
  }

  Schema schema_;
  bool validate_;
  std::size_t record_size_;
  std::vector<FieldLayout> layouts_;
  std::vector<FieldOutput> outputs_;
  StringCache cache_;
};

}  // namespace

std::optional<FrameHeader> check_frame(std::span<const std::byte> chunk, std::uint64_t chunk_offset,
                                       std::size_t position, std::uint32_t schema_id,
                                       std::size_t record_size, const DecodeTarget& target,
                                       std::size_t& next) {
  const std::size_t rest = chunk.size() - position;
  const FrameScan scan = scan_frame(chunk.subspan(position), kMaxRecordBytes);
  next = chunk.size();
  if (scan.step == FrameStep::short_tail) {
    add_dead_letter(target, chunk, chunk_offset, position, rest, DeadLetterReason::truncated,
                    "the stream ends inside a frame header (" + std::to_string(rest) + " bytes)");
    return std::nullopt;
  }
  if (scan.step == FrameStep::garbage) {
    const auto size = static_cast<std::size_t>(scan.size);
    add_dead_letter(
        target, chunk, chunk_offset, position, size, DeadLetterReason::malformed,
        std::to_string(size) + " bytes that are not a frame (no \"LDHF\" magic or a bad header)");
    next = position + size;
    return std::nullopt;
  }
  const FrameHeader& header = scan.header;
  if (scan.size > rest) {
    add_dead_letter(target, chunk, chunk_offset, position, rest, DeadLetterReason::truncated,
                    "frame of " + std::to_string(scan.size) + " bytes is cut after " +
                        std::to_string(rest) + " bytes");
    return std::nullopt;
  }
  next = position + static_cast<std::size_t>(scan.size);
  if (header.schema_id != schema_id || header.record_size != record_size) {
    add_dead_letter(
        target, chunk, chunk_offset, position, next - position, DeadLetterReason::schema_mismatch,
        "frame for schema id " + std::to_string(header.schema_id) + " with " +
            std::to_string(header.record_size) + "-byte records; expected id " +
            std::to_string(schema_id) + " with " + std::to_string(record_size) + "-byte records");
    return std::nullopt;
  }
  return header;
}

std::unique_ptr<Decoder> make_binary_decoder(const Schema& schema, bool validate) {
  return std::make_unique<BinaryDecoder>(schema, validate);
}

}  // namespace ldh
