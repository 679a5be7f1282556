#include "ingest/json_decoder.h"

#include <simdjson.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "ingest/field_store.h"
#include "ingest/string_cache.h"
#include "pipeline/time.h"

namespace ldh {

namespace {

namespace ondemand = simdjson::ondemand;

/// Why a line was rejected.
struct Failure {
  DeadLetterReason reason = DeadLetterReason::malformed;
  std::string detail;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/// A JSON number read in one pass: its decimal digits as an integer and a power of ten.
struct ScannedNumber {
  bool negative = false;
  bool integer = true;  // written without fraction or exponent
  bool exact = true;    // at most 19 significant digits, so `mantissa` holds them all
  std::uint64_t mantissa = 0;
  std::int64_t exponent = 0;  // value = mantissa * 10^exponent
};

/// Checks `text` against the JSON number grammar while collecting its digits.
bool scan_number(std::string_view text, ScannedNumber& number) {
  std::size_t i = 0;
  std::size_t n = text.size();
  int digits = 0;
  auto take_digit = [&](char c) {
    if (digits < 19) {
      number.mantissa = number.mantissa * 10 + static_cast<std::uint64_t>(c - '0');
      if (number.mantissa != 0) ++digits;
      return true;
    }
    number.exact = false;
    return false;
  };
  if (i < n && text[i] == '-') {
    number.negative = true;
    ++i;
  }
  if (i >= n) return false;
  if (text[i] == '0') {
    ++i;
  } else if (text[i] >= '1' && text[i] <= '9') {
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      if (!take_digit(text[i])) ++number.exponent;  // a dropped integer digit scales by 10
      ++i;
    }
  } else {
    return false;
  }
  if (i < n && text[i] == '.') {
    number.integer = false;
    ++i;
    std::size_t first = i;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      if (take_digit(text[i])) --number.exponent;
      ++i;
    }
    if (i == first) return false;
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    number.integer = false;
    ++i;
    bool negative = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    std::size_t first = i;
    std::int64_t value = 0;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      if (value < 1'000'000) value = value * 10 + (text[i] - '0');
      ++i;
    }
    if (i == first) return false;
    number.exponent += negative ? -value : value;
  }
  return i == n;
}

constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr float kFloatPowersOfTen[] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f,
                                       1e6f, 1e7f, 1e8f, 1e9f, 1e10f};

/// Converts a scanned number to the nearest double. Clinger's fast path (digits and power of
/// ten both exact, one IEEE operation) covers what sensors write; the rest goes to from_chars.
double to_double(const ScannedNumber& number, std::string_view text) {
  if (number.exact && number.mantissa <= (std::uint64_t{1} << 53) && number.exponent >= -22 &&
      number.exponent <= 22) {
    double value = static_cast<double>(number.mantissa);
    value = number.exponent < 0 ? value / kPowersOfTen[-number.exponent]
                                : value * kPowersOfTen[number.exponent];
    return number.negative ? -value : value;
  }
  double value = 0;
  auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec == std::errc::result_out_of_range) {
    // Overflow gives infinity, underflow zero or a subnormal, as strtod rounds them.
    std::string copy(text);
    value = std::strtod(copy.c_str(), nullptr);
  }
  return value;
}

/// Converts a scanned number to the nearest float with one rounding (so the shortest text of a
/// float reads back as that float).
float to_float(const ScannedNumber& number, std::string_view text) {
  if (number.exact && number.mantissa <= (std::uint64_t{1} << 24) && number.exponent >= -10 &&
      number.exponent <= 10) {
    float value = static_cast<float>(number.mantissa);
    value = number.exponent < 0 ? value / kFloatPowersOfTen[-number.exponent]
                                : value * kFloatPowersOfTen[number.exponent];
    return number.negative ? -value : value;
  }
  float value = 0;
  auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec == std::errc::result_out_of_range) {
    std::string copy(text);
    value = std::strtof(copy.c_str(), nullptr);
  }
  return value;
}

/// Reads an integer-written number into an int64; false when it does not fit.
bool to_int64(const ScannedNumber& number, std::int64_t& value) {
  if (!number.exact || number.exponent != 0) return false;
  constexpr std::uint64_t kLimit = std::uint64_t{1} << 63;
  if (number.negative) {
    if (number.mantissa > kLimit) return false;
    value = static_cast<std::int64_t>(0 - number.mantissa);
    return true;
  }
  if (number.mantissa >= kLimit) return false;
  value = static_cast<std::int64_t>(number.mantissa);
  return true;
}

/// Tells a bad \u escape (lone surrogate) from other string errors, for the dead-letter reason.
bool has_surrogate_escape(std::string_view raw) {
  for (std::size_t i = 0; i + 1 < raw.size(); ++i) {
    if (raw[i] != '\\') continue;
    if (raw[i + 1] == 'u' && i + 5 < raw.size() && (raw[i + 2] == 'd' || raw[i + 2] == 'D')) {
      char third = raw[i + 3];
      if ((third >= '8' && third <= '9') || (third >= 'a' && third <= 'f') ||
          (third >= 'A' && third <= 'F')) {
        return true;
      }
    }
    ++i;
  }
  return false;
}

std::string quote_token(std::string_view token) {
  constexpr std::size_t kShown = 40;
  std::string text(token.substr(0, kShown));
  if (token.size() > kShown) text += "...";
  return text;
}

class JsonDecoder final : public Decoder {
 public:
  JsonDecoder(const Schema& schema, bool validate)
      : schema_(schema), validate_(validate), seen_(schema.fields.size(), 0) {}

  std::size_t frame(std::span<const std::byte> bytes, std::size_t max_records, bool end_of_stream,
                    FrameInfo* info) const override {
    std::size_t records = 0;
    auto cut = [&](std::size_t length) {
      if (info != nullptr) info->records = records;
      return length;
    };
    const char* data = reinterpret_cast<const char*>(bytes.data());
    std::size_t size = bytes.size();
    std::size_t position = 0;
    while (position < size && records < max_records) {
      const void* newline = std::memchr(data + position, '\n', size - position);
      if (newline == nullptr) {
        if (end_of_stream) return cut(size);
        // A line longer than the cap is cut here; decode() dead-letters the piece.
        if (size - position > kMaxRecordBytes) return cut(position + kMaxRecordBytes + 1);
        return cut(position);
      }
      position = static_cast<std::size_t>(static_cast<const char*>(newline) - data) + 1;
      ++records;
    }
    return cut(position);
  }

  void decode(std::span<const std::byte> chunk, std::uint64_t chunk_offset, DecodeCursor& cursor,
              DecodeTarget& target) override {
    EventBatch& batch = *target.batch;
    const char* data = reinterpret_cast<const char*>(chunk.data());
    std::size_t size = chunk.size();
    std::size_t row = batch.size();
    bool bound = false;
    while (cursor.offset < size) {
      std::size_t start = cursor.offset;
      const void* newline = std::memchr(data + start, '\n', size - start);
      std::size_t end = newline != nullptr
                            ? static_cast<std::size_t>(static_cast<const char*>(newline) - data)
                            : size;
      std::size_t next = newline != nullptr ? end + 1 : size;
      std::size_t first = start;
      while (first < end && is_space(data[first])) ++first;
      if (first == end) {
        cursor.offset = next;
        continue;
      }
      if (row == batch.capacity()) break;
      std::size_t content_end = end;
      if (content_end > start && data[content_end - 1] == '\r') --content_end;
      std::size_t length = content_end - start;
      if (!bound) {
        bind_outputs(schema_, validate_, target, outputs_);
        cache_.use(target.strings);
        bound = true;
      }
      Failure failure;
      bool ok;
      if (length > kMaxRecordBytes) {
        failure = {DeadLetterReason::malformed,
                   "line of " + std::to_string(length) + " bytes exceeds the record limit"};
        ok = false;
      } else {
        bool last_unterminated = newline == nullptr;
        ok = decode_line(data + start, length, size - start, last_unterminated, row, target,
                         failure);
      }
      if (ok) {
        ++row;
      } else {
        add_dead_letter(target, chunk, chunk_offset, start, next - start, failure.reason,
                        std::move(failure.detail));
      }
      cursor.offset = next;
    }
    batch.resize(row);
  }

 private:
  /// Parses one line into `row`; on failure fills `failure` (the row is then left unused).
  bool decode_line(const char* line, std::size_t length, std::size_t available, bool unterminated,
                   std::size_t row, DecodeTarget& target, Failure& failure) {
    simdjson::padded_string_view view;
    if (available >= length + simdjson::SIMDJSON_PADDING) {
      // The following lines of the chunk are the padding simdjson may read into.
      view = simdjson::padded_string_view(line, length, available);
    } else {
      scratch_.assign(line, length);
      scratch_.resize(length + simdjson::SIMDJSON_PADDING, '\0');
      view = simdjson::padded_string_view(scratch_.data(), length, scratch_.size());
    }
    ondemand::document document;
    simdjson::error_code error = parser_.iterate(view).get(document);
    if (error) return parse_failure(error, unterminated, failure);
    ondemand::object object;
    error = document.get_object().get(object);
    if (error) {
      if (error == simdjson::INCORRECT_TYPE) {
        failure = {DeadLetterReason::malformed, "expected a JSON object"};
        return false;
      }
      return parse_failure(error, unterminated, failure);
    }
    ++generation_;
    std::size_t hint = 0;
    for (auto member : object) {
      ondemand::field field;
      error = std::move(member).get(field);
      if (error) return parse_failure(error, unterminated, failure);
      std::string_view key;
      error = field.unescaped_key().get(key);
      if (error) return parse_failure(error, unterminated, failure);
      int index = find_field(key, hint);
      if (index < 0) continue;
      hint = static_cast<std::size_t>(index) + 1;
      if (seen_[static_cast<std::size_t>(index)] == generation_) {
        failure = {
            DeadLetterReason::malformed,
            "field '" + schema_.fields[static_cast<std::size_t>(index)].name + "' appears twice"};
        return false;
      }
      seen_[static_cast<std::size_t>(index)] = generation_;
      if (!store_value(static_cast<std::size_t>(index), field.value(), row, target, failure)) {
        return false;
      }
    }
    if (document.current_location().error() != simdjson::OUT_OF_BOUNDS) {
      failure = {DeadLetterReason::malformed, "content after the JSON object"};
      return false;
    }
    for (std::size_t i = 0; i < schema_.fields.size(); ++i) {
      if (seen_[i] == generation_) continue;
      const Field& field = schema_.fields[i];
      if (field.required) {
        failure = {DeadLetterReason::missing_field,
                   "required field '" + field.name + "' is missing"};
        return false;
      }
      outputs_[i].put_null(row);
    }
    return true;
  }

  bool parse_failure(simdjson::error_code error, bool unterminated, Failure& failure) const {
    if (error == simdjson::UTF8_ERROR) {
      failure = {DeadLetterReason::invalid_utf8, "the line is not valid UTF-8"};
    } else if (unterminated && (error == simdjson::UNCLOSED_STRING ||
                                error == simdjson::INCOMPLETE_ARRAY_OR_OBJECT)) {
      failure = {DeadLetterReason::truncated, "the stream ends inside a JSON object"};
    } else {
      failure = {DeadLetterReason::malformed,
                 std::string("invalid JSON: ") + simdjson::error_message(error)};
    }
    return false;
  }

  /// Compares short keys inline; a libc memcmp call costs more than the compare itself.
  static bool same_text(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }

  /// Finds a key's field, trying first the one after the previous key (producers usually write
  /// fields in schema order).
  int find_field(std::string_view key, std::size_t hint) const {
    const auto& fields = schema_.fields;
    if (hint < fields.size() && same_text(fields[hint].name, key)) return static_cast<int>(hint);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (same_text(fields[i].name, key)) return static_cast<int>(i);
    }
    return -1;
  }

  bool store_value(std::size_t index, ondemand::value& value, std::size_t row, DecodeTarget& target,
                   Failure& failure) {
    const Field& field = schema_.fields[index];
    const FieldOutput& out = outputs_[index];
    std::string_view token = value.raw_json_token();
    while (!token.empty() && is_space(token.back())) token.remove_suffix(1);
    if (token.empty()) {
      failure = {DeadLetterReason::malformed, "field '" + field.name + "' has no value"};
      return false;
    }
    auto wrong = [&](StoreStatus status, std::string_view got) {
      failure = {reason_of(status), describe_store_failure(field, status, got)};
      return false;
    };
    switch (token.front()) {
      case '"': {
        if (field.type != DataType::string && field.type != DataType::timestamp) {
          return wrong(StoreStatus::wrong_type, "a string");
        }
        std::string_view text;
        simdjson::error_code error = value.get_string().get(text);
        if (error) {
          bool surrogate = error == simdjson::STRING_ERROR && has_surrogate_escape(token);
          failure = {
              surrogate ? DeadLetterReason::invalid_utf8 : DeadLetterReason::malformed,
              "field '" + field.name + "': " +
                  (surrogate ? "a \\u escape is not a valid code point" : "bad escape in string")};
          return false;
        }
        if (field.type == DataType::string) {
          std::int32_t id = cache_.find(text.data(), text.size());
          if (id < 0) {
            id = target.strings->intern(text);
            cache_.insert(text.data(), text.size(), id);
          }
          out.put(row, id);
          return true;
        }
        auto nanoseconds = parse_iso8601(text);
        if (!nanoseconds) return wrong(StoreStatus::wrong_type, "the string " + quote_token(token));
        out.put(row, *nanoseconds);
        return true;
      }
      case '{':
        return wrong(StoreStatus::wrong_type, "an object");
      case '[':
        return wrong(StoreStatus::wrong_type, "an array");
      case 't':
      case 'f':
        if (token != "true" && token != "false") break;
        if (field.type != DataType::boolean) return wrong(StoreStatus::wrong_type, "a boolean");
        out.put(row, static_cast<std::uint8_t>(token == "true"));
        return true;
      case 'n':
        if (token != "null") break;
        if (field.required) {
          failure = {DeadLetterReason::missing_field,
                     "required field '" + field.name + "' is null"};
          return false;
        }
        out.put_null(row);
        return true;
      case '-':
      case 'N':
      case 'I':
        return store_number(field, out, token, row, failure);
      default:
        if (token.front() >= '0' && token.front() <= '9') {
          return store_number(field, out, token, row, failure);
        }
        break;
    }
    failure = {DeadLetterReason::malformed,
               "field '" + field.name + "': invalid literal " + quote_token(token)};
    return false;
  }

  bool store_number(const Field& field, const FieldOutput& out, std::string_view token,
                    std::size_t row, Failure& failure) {
    auto fail = [&](StoreStatus status) {
      failure = {reason_of(status),
                 describe_store_failure(field, status, "the number " + quote_token(token))};
      return false;
    };
    // NaN and the infinities as Python's json module writes them.
    bool special = token == "NaN" || token == "Infinity" || token == "-Infinity";
    ScannedNumber number;
    if (!special && !scan_number(token, number)) {
      failure = {DeadLetterReason::malformed,
                 "field '" + field.name + "': invalid number " + quote_token(token)};
      return false;
    }
    if (field.type == DataType::boolean || field.type == DataType::string ||
        (field.type == DataType::timestamp && field.time_unit == TimeUnit::iso8601)) {
      return fail(StoreStatus::wrong_type);
    }
    StoreStatus status;
    if (special) {
      double value = token == "NaN" ? std::numeric_limits<double>::quiet_NaN()
                                    : (token.front() == '-' ? -1.0 : 1.0) *
                                          std::numeric_limits<double>::infinity();
      status = store_double(out, row, value);
    } else if (field.type == DataType::float32) {
      // The text is a finite literal, so an infinite result means it overflowed.
      float value = to_float(number, token);
      if (value - value != 0) return fail(StoreStatus::out_of_range);
      status = store_float(out, row, value);
    } else if (field.type == DataType::float64) {
      double value = to_double(number, token);
      if (value - value != 0) return fail(StoreStatus::out_of_range);
      status = store_double(out, row, value);
    } else if (number.integer) {
      std::int64_t value = 0;
      if (!to_int64(number, value)) return fail(StoreStatus::out_of_range);
      status = store_signed(out, row, value);
    } else {
      status = store_double(out, row, to_double(number, token));
    }
    if (status != StoreStatus::ok) return fail(status);
    return true;
  }

  Schema schema_;
  bool validate_;
  ondemand::parser parser_;
  std::string scratch_;
  std::vector<std::uint64_t> seen_;
  std::uint64_t generation_ = 0;
  std::vector<FieldOutput> outputs_;
  StringCache cache_;
};

}  // namespace

std::unique_ptr<Decoder> make_json_decoder(const Schema& schema, bool validate) {
  return std::make_unique<JsonDecoder>(schema, validate);
}

}  // namespace ldh
