#include "host/handler_plugin.h"

#include <dlfcn.h>

#include <array>

namespace ldh {

namespace {

/// Bytes of the buffers a plugin writes its messages into.
constexpr std::size_t kMessageBytes = 1024;

/// Returns the text a plugin wrote into `buffer`, never reading past its end.
std::string message_of(const std::array<char, kMessageBytes>& buffer) {
  std::size_t length = 0;
  while (length < buffer.size() && buffer[length] != '\0') ++length;
  return std::string(buffer.data(), length);
}

/// Looks up `name` in `library`, or returns nullptr.
void* find_symbol(void* library, const char* name) {
  dlerror();
  return dlsym(library, name);
}

}  // namespace

HandlerPlugin::HandlerPlugin(const std::string& path) : path_(path) {
  library_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library_ == nullptr) {
    const char* reason = dlerror();
    throw UserError("cannot load handler plugin " + path + ": " +
                    (reason != nullptr ? reason : "dlopen failed"));
  }
  const auto refuse = [&](const std::string& message) {
    dlclose(library_);
    library_ = nullptr;
    throw UserError("handler plugin " + path + " " + message);
  };
  auto* version = reinterpret_cast<ldh_plugin_api_version_function>(
      find_symbol(library_, "ldh_plugin_api_version"));
  if (version == nullptr) {
    refuse(
        "is not an ldh handler plugin: it does not export ldh_plugin_api_version (see "
        "host/ldh_plugin.h)");
  }
  const std::uint32_t implemented = version();
  if (implemented != LDH_PLUGIN_API_VERSION) {
    refuse("implements handler interface version " + std::to_string(implemented) +
           ", but this ldh implements version " + std::to_string(LDH_PLUGIN_API_VERSION) +
           ": rebuild it against this ldh's host/ldh_plugin.h");
  }
  create_ =
      reinterpret_cast<ldh_handler_create_function>(find_symbol(library_, "ldh_handler_create"));
  handle_ =
      reinterpret_cast<ldh_handler_handle_function>(find_symbol(library_, "ldh_handler_handle"));
  destroy_ =
      reinterpret_cast<ldh_handler_destroy_function>(find_symbol(library_, "ldh_handler_destroy"));
  for (const auto& [function, name] :
       {std::pair<void*, const char*>{reinterpret_cast<void*>(create_), "ldh_handler_create"},
        {reinterpret_cast<void*>(handle_), "ldh_handler_handle"},
        {reinterpret_cast<void*>(destroy_), "ldh_handler_destroy"}}) {
    if (function == nullptr) {
      refuse("does not export " + std::string(name) + ", which handler interface version " +
             std::to_string(LDH_PLUGIN_API_VERSION) + " requires (see host/ldh_plugin.h)");
    }
  }
}

HandlerPlugin::~HandlerPlugin() {
  if (library_ != nullptr) dlclose(library_);
}

/// One instance a plugin created; destroyed through the plugin, before the library unloads.
class PluginHandler final : public EventHandler {
 public:
  PluginHandler(std::shared_ptr<HandlerPlugin> plugin, void* instance)
      : plugin_(std::move(plugin)), instance_(instance) {}
  ~PluginHandler() override { plugin_->destroy_(instance_); }
  PluginHandler(const PluginHandler&) = delete;
  PluginHandler& operator=(const PluginHandler&) = delete;

  HandlerOutcome handle(std::string_view event) override {
    // The interface promises a NUL-terminated text.
    text_.assign(event);
    message_[0] = '\0';
    const int status =
        plugin_->handle_(instance_, text_.c_str(), text_.size(), message_.data(), message_.size());
    std::string message = message_of(message_);
    switch (status) {
      case LDH_HANDLER_OK:
        return {HandlerOutcome::Kind::handled, std::move(message)};
      case LDH_HANDLER_RETRY:
        return {HandlerOutcome::Kind::retry, std::move(message)};
      case LDH_HANDLER_FAILED:
        return {HandlerOutcome::Kind::failed, std::move(message)};
      default:
        return {HandlerOutcome::Kind::failed, "the plugin returned unknown status " +
                                                  std::to_string(status) +
                                                  (message.empty() ? "" : ": " + message)};
    }
  }

 private:
  std::shared_ptr<HandlerPlugin> plugin_;
  void* instance_;
  std::string text_;
  std::array<char, kMessageBytes> message_{};
};

PluginHandlerFactory::PluginHandlerFactory(const HandlerConfig& config) : config_(config) {
  try {
    plugin_ = std::make_shared<HandlerPlugin>(config.plugin);
  } catch (const UserError& error) {
    throw ConfigError(config.where, "handlers." + config.name + ".plugin: " + error.what());
  }
}

std::unique_ptr<EventHandler> PluginHandlerFactory::create() {
  std::array<char, kMessageBytes> error{};
  void* instance = plugin_->create_(config_.name.c_str(), config_.config_json.c_str(), error.data(),
                                    error.size());
  if (instance == nullptr) {
    const std::string reason = message_of(error);
    throw ConfigError(config_.where, "handlers." + config_.name + ": plugin " + plugin_->path() +
                                         " refused to create the handler: " +
                                         (reason.empty() ? "it gave no reason" : reason));
  }
  return std::make_unique<PluginHandler>(plugin_, instance);
}

std::string PluginHandlerFactory::describe() const {
  return "handler " + config_.name + " (" + plugin_->path() + ")";
}

}  // namespace ldh
