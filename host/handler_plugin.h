#pragma once

// Event handlers from shared libraries (`handlers: {NAME: {plugin: PATH, config: {...}}}`),
// through the C interface of host/ldh_plugin.h. See docs/events.md#plugins.

#include <memory>
#include <string>

#include "host/event_processor.h"
#include "host/ldh_plugin.h"
#include "pipeline/config.h"

namespace ldh {

/// A handler plugin loaded with dlopen. Loading checks that the library exports every function
/// of the interface and implements LDH_PLUGIN_API_VERSION, and refuses it otherwise.
class HandlerPlugin {
 public:
  /// Loads `path`; throws UserError naming the file and what is wrong with it.
  explicit HandlerPlugin(const std::string& path);
  ~HandlerPlugin();
  HandlerPlugin(const HandlerPlugin&) = delete;
  HandlerPlugin& operator=(const HandlerPlugin&) = delete;

  const std::string& path() const { return path_; }

 private:
  friend class PluginHandler;
  friend class PluginHandlerFactory;
  std::string path_;
  void* library_ = nullptr;
  ldh_handler_create_function create_ = nullptr;
  ldh_handler_handle_function handle_ = nullptr;
  ldh_handler_destroy_function destroy_ = nullptr;
};

/// Makes the handlers of one configured plugin, one per event processor worker; each keeps
/// the library loaded while it lives.
class PluginHandlerFactory final : public HandlerFactory {
 public:
  /// Loads the plugin; throws ConfigError at `config.where` naming the file and the problem.
  explicit PluginHandlerFactory(const HandlerConfig& config);
  /// Calls the plugin's create function; throws ConfigError with the plugin's reason when it
  /// refuses its configuration.
  std::unique_ptr<EventHandler> create() override;
  /// Returns "handler NAME (PATH)".
  std::string describe() const override;

 private:
  HandlerConfig config_;
  std::shared_ptr<HandlerPlugin> plugin_;
};

}  // namespace ldh
