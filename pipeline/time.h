#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ldh {

/// Parses ISO-8601 / RFC 3339 text ("2026-11-29T04:22:00.123Z", "...+01:00", up to 9 fraction
/// digits; a space may replace the T) into nanoseconds since the epoch. nullopt when malformed or
/// outside the int64 nanosecond range (years 1678 to 2261).
std::optional<std::int64_t> parse_iso8601(std::string_view text);

/// Formats nanoseconds since the epoch as UTC ISO-8601 with `fraction_digits` (0, 3, 6 or 9)
/// digits after the seconds, e.g. 2026-11-29T04:22:00.000Z.
std::string format_iso8601(std::int64_t nanoseconds, int fraction_digits = 3);

/// Appends format_iso8601() to `out` without allocating a temporary.
void append_iso8601(std::string& out, std::int64_t nanoseconds, int fraction_digits = 3);

/// Returns the current wall-clock time in nanoseconds since the epoch.
std::int64_t wall_clock_ns();

}  // namespace ldh
