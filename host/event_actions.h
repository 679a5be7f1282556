#pragma once

// The built-in actions of event rules (`notify`, `log`, `webhook`, `kafka`) as event handlers,
// and the event processor a configuration describes. See docs/events.md#actions.

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "host/delivery.h"
#include "host/event_processor.h"
#include "host/sink.h"
#include "pipeline/config.h"

namespace ldh {

/// Makes handlers that send each event as one record through their own Transport (a webhook,
/// an SMTP server, a Kafka topic), mapping delivered to handled, retry to a transient failure
/// and failed to a permanent one. With `stamp`, the event gets a `notifiedAt` member first (the
/// alert notification form that the notify channels send).
class TransportHandlerFactory final : public HandlerFactory {
 public:
  TransportHandlerFactory(std::string description,
                          std::function<std::unique_ptr<Transport>()> make_transport, bool stamp);
  std::unique_ptr<EventHandler> create() override;
  std::string describe() const override { return description_; }

 private:
  std::string description_;
  std::function<std::unique_ptr<Transport>()> make_transport_;
  bool stamp_;
};

/// Makes handlers that append each event as one JSON line to `events.log`, shared by every
/// worker; the file is written through (flushed) before an event counts as handled.
class LogHandlerFactory final : public HandlerFactory {
 public:
  /// Removes a previous run's file; the file opens with the first event.
  explicit LogHandlerFactory(std::string path);
  std::unique_ptr<EventHandler> create() override;
  std::string describe() const override { return "log " + path_; }

  /// Appends one line; throws UserError when the file cannot be written.
  void append(std::string_view event);

 private:
  std::string path_;
  std::mutex mutex_;
  std::unique_ptr<FileSink> file_;
};

/// Creates the event processor `config.events` describes: one handler per log file,
/// notification channel, rule webhook, rule Kafka topic and plugin, and one route per rule.
/// Loads the plugins; throws ConfigError for one that is refused. Not started.
std::unique_ptr<EventProcessor> make_event_processor(const Config& config);

}  // namespace ldh
