#include "pipeline/error.h"

namespace ldh {

std::string SourceLocation::to_string() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string ConfigDiagnostic::to_string() const {
  return where.to_string() + ": error: " + message;
}

namespace {
std::string join_diagnostics(const std::vector<ConfigDiagnostic>& diagnostics) {
  std::string text;
  for (const auto& diagnostic : diagnostics) {
    if (!text.empty()) text += '\n';
    text += diagnostic.to_string();
  }
  return text;
}
}  // namespace

ConfigError::ConfigError(std::vector<ConfigDiagnostic> diagnostics)
    : UserError(join_diagnostics(diagnostics)), diagnostics_(std::move(diagnostics)) {}

ConfigError::ConfigError(SourceLocation where, const std::string& message)
    : ConfigError(std::vector<ConfigDiagnostic>{{std::move(where), message}}) {}

void throw_logic_error(const char* condition, const char* file, int line,
                       const std::string& message) {
  throw LogicError(std::string("internal error at ") + file + ":" + std::to_string(line) + ": " +
                   message + " (" + condition + ")");
}

}  // namespace ldh
