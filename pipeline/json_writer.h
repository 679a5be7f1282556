#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ldh {

/// Appends the shortest text that reads back to exactly `value`, as std::to_chars prints it (0.1,
/// 1e+300).
void append_shortest(std::string& out, double value);
/// Appends the shortest text that reads back to exactly `value` as a float.
void append_shortest(std::string& out, float value);

/// Appends a JSON number in shortest round-trip form; NaN and infinities become null.
void append_json_number(std::string& out, double value);
void append_json_number(std::string& out, float value);

/// Bytes write_json_number() may write.
inline constexpr std::size_t kJsonNumberBytes = 32;
/// Writes what append_json_number() appends to `out`, which has kJsonNumberBytes of room, and
/// returns its end: for writers that size their buffer once per record.
char* write_json_number(char* out, double value);
char* write_json_number(char* out, float value);

/// Appends `text` as a JSON string with quotes. Valid UTF-8 passes through; control characters,
/// quotes and backslashes are escaped; invalid UTF-8 bytes become U+FFFD.
void append_json_string(std::string& out, std::string_view text);

/// Tells whether `text` is valid UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace ldh
