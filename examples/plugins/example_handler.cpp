// An example ldh event handler plugin (host/ldh_plugin.h, docs/events.md#plugins): appends each
// event it is given to a JSON lines file. Its configuration (`handlers.NAME.config`):
//
//   path: events-seen.jsonl   the file to append to (required)
//   transientFailures: 2      each handler instance answers its first 2 events "retry"
//   failWhen: "\"error\""     events whose text contains this fail for good
//
// Build it as a module (see examples/plugins/CMakeLists.txt):
//   g++ -std=c++20 -shared -fPIC -fvisibility=hidden -I. -o ldh_example_handler.so
//       examples/plugins/example_handler.cpp   (all on one line, from the repository root)
//
// LDH_EXAMPLE_WRONG_VERSION and LDH_EXAMPLE_INCOMPLETE build the broken variants the tests
// expect ldh to refuse.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "host/ldh_plugin.h"

namespace {

struct ExampleHandler {
  int file = -1;
  long transient_failures = 0;
  std::string fail_when;
};

/// Returns the text after `"key":` in a flat JSON object with optional spaces, or "" (enough
/// for this example's configuration; a real plugin would use a JSON parser).
std::string_view member(std::string_view json, std::string_view key) {
  std::string quoted(1, '"');
  quoted.append(key);
  quoted += '"';
  const std::size_t at = json.find(quoted);
  if (at == std::string_view::npos) return {};
  std::string_view rest = json.substr(at + quoted.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == ':')) rest.remove_prefix(1);
  return rest;
}

/// Reads a string member without escapes; "" when absent.
std::string string_member(std::string_view json, std::string_view key) {
  std::string_view value = member(json, key);
  if (value.empty() || value.front() != '"') return "";
  value.remove_prefix(1);
  std::string text;
  for (std::size_t i = 0; i < value.size() && value[i] != '"'; ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) ++i;
    text += value[i];
  }
  return text;
}

void write_message(char* buffer, std::size_t capacity, const char* text) {
  if (capacity == 0) return;
  std::snprintf(buffer, capacity, "%s", text);
}

}  // namespace

extern "C" {

LDH_PLUGIN_EXPORT uint32_t ldh_plugin_api_version(void) {
#ifdef LDH_EXAMPLE_WRONG_VERSION
  return LDH_PLUGIN_API_VERSION + 1;
#else
  return LDH_PLUGIN_API_VERSION;
#endif
}

LDH_PLUGIN_EXPORT void* ldh_handler_create(const char* name, const char* config_json, char* error,
                                           size_t error_capacity) {
  static_cast<void>(name);
  const std::string path = string_member(config_json, "path");
  if (path.empty()) {
    write_message(error, error_capacity, "config.path (the file to append events to) is required");
    return nullptr;
  }
  auto* handler = new ExampleHandler;
  handler->file = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (handler->file < 0) {
    std::snprintf(error, error_capacity, "cannot open %s: %s", path.c_str(), std::strerror(errno));
    delete handler;
    return nullptr;
  }
  const std::string_view failures = member(config_json, "transientFailures");
  if (!failures.empty()) handler->transient_failures = std::strtol(failures.data(), nullptr, 10);
  handler->fail_when = string_member(config_json, "failWhen");
  return handler;
}

LDH_PLUGIN_EXPORT int ldh_handler_handle(void* instance, const char* event_json, size_t size,
                                         char* message, size_t message_capacity) {
  auto* handler = static_cast<ExampleHandler*>(instance);
  const std::string_view event(event_json, size);
  if (!handler->fail_when.empty() && event.find(handler->fail_when) != std::string_view::npos) {
    write_message(message, message_capacity, "the event matches failWhen");
    return LDH_HANDLER_FAILED;
  }
  if (handler->transient_failures > 0) {
    --handler->transient_failures;
    write_message(message, message_capacity, "a simulated transient failure");
    return LDH_HANDLER_RETRY;
  }
  // One write per line: O_APPEND keeps lines of concurrent handlers whole.
  std::string line(event);
  line += '\n';
  if (write(handler->file, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::snprintf(message, message_capacity, "write failed: %s", std::strerror(errno));
    return LDH_HANDLER_RETRY;
  }
  return LDH_HANDLER_OK;
}

#ifndef LDH_EXAMPLE_INCOMPLETE
LDH_PLUGIN_EXPORT void ldh_handler_destroy(void* instance) {
  auto* handler = static_cast<ExampleHandler*>(instance);
  close(handler->file);
  delete handler;
}
#endif

}  // extern "C"
