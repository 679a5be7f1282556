#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace ldh {

/// Points at a place in a configuration file, for messages a user can act on.
struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown

  /// Formats as FILE:LINE:COL (or just FILE when the position is unknown).
  std::string to_string() const;
};

/// Reports a mistake of the user's (bad configuration, bad arguments, missing file): never a bug.
class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One problem found in a configuration file.
struct ConfigDiagnostic {
  SourceLocation where;
  std::string message;

  /// Formats as "FILE:LINE:COL: error: MESSAGE".
  std::string to_string() const;
};

/// Carries every problem found in a configuration, so `ldh validate` can list them all at once.
class ConfigError : public UserError {
 public:
  explicit ConfigError(std::vector<ConfigDiagnostic> diagnostics);
  ConfigError(SourceLocation where, const std::string& message);
  const std::vector<ConfigDiagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<ConfigDiagnostic> diagnostics_;
};

/// Signals a broken internal invariant: a bug in ldh, not in the user's input.
class LogicError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// Reports a failing CUDA runtime call or a missing device.
class DeviceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_logic_error(const char* condition, const char* file, int line,
                                    const std::string& message);

}  // namespace ldh

/// Checks an internal invariant; a failure is a bug in ldh and throws ldh::LogicError.
#define LDH_EXPECTS(condition, message)                                                    \
  do {                                                                                     \
    if (!(condition)) ::ldh::throw_logic_error(#condition, __FILE__, __LINE__, (message)); \
  } while (0)

/// Checks something the user controls; a failure throws ldh::UserError with the message.
#define LDH_USER_CHECK(condition, message)             \
  do {                                                 \
    if (!(condition)) throw ::ldh::UserError(message); \
  } while (0)
