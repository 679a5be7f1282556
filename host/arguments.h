#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/device.h"
#include "host/executor.h"

namespace ldh {

/// Reads command-line options of the form `--name VALUE`, `--name=VALUE` and `--flag`.
class Arguments {
 public:
  Arguments(int argc, char** argv, int first);
  /// Removes `--name` and tells whether it was there.
  bool flag(std::string_view name);
  /// Removes `--name VALUE` (or `alias VALUE`) and returns VALUE.
  std::optional<std::string> value(std::string_view name, std::string_view alias = {});
  /// Removes `--name VALUE` and returns VALUE as a whole number within [minimum, maximum];
  /// anything else is a UserError naming the option and the range.
  std::optional<std::uint64_t> count(std::string_view name, std::uint64_t minimum,
                                     std::uint64_t maximum);
  /// Removes `--name VALUE` and returns VALUE as a duration of at least `minimum` ns.
  std::optional<std::int64_t> duration(std::string_view name, std::int64_t minimum);
  /// Returns the remaining positional arguments; a leftover option is a UserError.
  std::vector<std::string> positionals();

 private:
  std::vector<std::string> items_;
};

double parse_real(const std::string& text, std::string_view option);
Backend parse_backend(const std::string& text);
/// Returns the number of hardware threads (at least 1).
unsigned default_threads();

/// Reads --threads and --batch-size, the options every command that runs a pipeline takes.
void read_pipeline_options(Arguments& arguments, RunOptions& options);

}  // namespace ldh
