#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/device.h"

namespace ldh {

/// Reads command-line options of the form `--name VALUE`, `--name=VALUE` and `--flag`.
class Arguments {
 public:
  Arguments(int argc, char** argv, int first);
  /// Removes `--name` and tells whether it was there.
  bool flag(std::string_view name);
  /// Removes `--name VALUE` (or `alias VALUE`) and returns VALUE.
  std::optional<std::string> value(std::string_view name, std::string_view alias = {});
  /// Returns the remaining positional arguments; a leftover option is a UserError.
  std::vector<std::string> positionals();

 private:
  std::vector<std::string> items_;
};

std::uint64_t parse_count(const std::string& text, std::string_view option);
double parse_real(const std::string& text, std::string_view option);
std::int64_t parse_duration_option(const std::string& text, std::string_view option);
Backend parse_backend(const std::string& text);
/// Returns the number of hardware threads (at least 1).
unsigned default_threads();

}  // namespace ldh
