#include "host/event_actions.h"

#include <filesystem>
#include <map>
#include <optional>
#include <span>

#include "host/handler_plugin.h"
#include "host/kafka_sink.h"
#include "host/notification.h"
#include "pipeline/time.h"

namespace ldh {

namespace {

class TransportHandler final : public EventHandler {
 public:
  TransportHandler(std::unique_ptr<Transport> transport, bool stamp)
      : transport_(std::move(transport)), stamp_(stamp) {}

  HandlerOutcome handle(std::string_view event) override {
    std::string_view record = event;
    if (stamp_ && !event.empty()) {
      // `{...}` becomes `{...,"notifiedAt":"..."}`.
      stamped_.assign(event.substr(0, event.size() - 1));
      stamped_ += ",\"notifiedAt\":\"";
      append_iso8601(stamped_, wall_clock_ns(), 6);
      stamped_ += "\"}";
      record = stamped_;
    }
    DeliveryOutcome outcome;
    transport_->send(std::span<const std::string_view>(&record, 1),
                     std::span<DeliveryOutcome>(&outcome, 1));
    switch (outcome.kind) {
      case DeliveryOutcome::Kind::delivered:
        return {HandlerOutcome::Kind::handled, ""};
      case DeliveryOutcome::Kind::retry:
        return {HandlerOutcome::Kind::retry, std::move(outcome.error)};
      case DeliveryOutcome::Kind::failed:
        return {HandlerOutcome::Kind::failed, std::move(outcome.error)};
    }
    return {HandlerOutcome::Kind::failed, "unknown delivery outcome"};
  }

 private:
  std::unique_ptr<Transport> transport_;
  bool stamp_;
  std::string stamped_;
};

class LogHandler final : public EventHandler {
 public:
  explicit LogHandler(LogHandlerFactory& log) : log_(log) {}
  HandlerOutcome handle(std::string_view event) override {
    log_.append(event);
    return {};
  }

 private:
  LogHandlerFactory& log_;
};

}  // namespace

TransportHandlerFactory::TransportHandlerFactory(
    std::string description, std::function<std::unique_ptr<Transport>()> make_transport, bool stamp)
    : description_(std::move(description)),
      make_transport_(std::move(make_transport)),
      stamp_(stamp) {}

std::unique_ptr<EventHandler> TransportHandlerFactory::create() {
  return std::make_unique<TransportHandler>(make_transport_(), stamp_);
}

LogHandlerFactory::LogHandlerFactory(std::string path) : path_(std::move(path)) {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

std::unique_ptr<EventHandler> LogHandlerFactory::create() {
  return std::make_unique<LogHandler>(*this);
}

void LogHandlerFactory::append(std::string_view event) {
  std::lock_guard lock(mutex_);
  if (!file_) file_ = std::make_unique<FileSink>(path_);
  file_->write(event);
  file_->write("\n");
  file_->flush();
}

std::unique_ptr<EventProcessor> make_event_processor(const Config& config) {
  const EventsConfig& events = config.events;
  std::vector<std::unique_ptr<HandlerFactory>> factories;
  std::vector<EventRoute> routes;
  // Handlers that several rules share: the log file, the notification channels, each plugin.
  std::optional<std::size_t> log;
  std::vector<std::size_t> channels;
  std::map<std::string, std::size_t> plugins;
  const auto add = [&](std::unique_ptr<HandlerFactory> factory) {
    factories.push_back(std::move(factory));
    return factories.size() - 1;
  };
  for (const auto& rule : events.rules) {
    EventRoute& route = routes.emplace_back();
    for (const auto& type : events.types) {
      if (type.name == rule.event) route.priority = type.priority;
    }
    switch (rule.action) {
      case EventAction::log:
        if (!log) log = add(std::make_unique<LogHandlerFactory>(events.log_path));
        route.handlers.push_back(*log);
        break;
      case EventAction::notify:
        if (channels.empty()) {
          for (NotificationChannel channel : config.alerts.notifications) {
            if (channel == NotificationChannel::webhook) {
              const WebhookConfig& webhook = config.alerts.webhook;
              channels.push_back(add(std::make_unique<TransportHandlerFactory>(
                  "notify webhook " + webhook.url,
                  [webhook] { return std::make_unique<WebhookTransport>(webhook); }, true)));
            } else {
              const EmailConfig& email = config.alerts.email;
              channels.push_back(add(std::make_unique<TransportHandlerFactory>(
                  "notify email " + email.smtp,
                  [email] { return std::make_unique<EmailTransport>(email); }, true)));
            }
          }
        }
        route.handlers.insert(route.handlers.end(), channels.begin(), channels.end());
        break;
      case EventAction::webhook: {
        const WebhookConfig webhook = rule.webhook;
        route.handlers.push_back(add(std::make_unique<TransportHandlerFactory>(
            "webhook " + webhook.url,
            [webhook] { return std::make_unique<WebhookTransport>(webhook); }, false)));
        break;
      }
      case EventAction::kafka: {
        const KafkaSinkConfig kafka = rule.kafka;
        route.handlers.push_back(add(std::make_unique<TransportHandlerFactory>(
            "kafka topic " + kafka.topic,
            [kafka] { return std::make_unique<KafkaTransport>(kafka); }, false)));
        break;
      }
      case EventAction::handler: {
        auto found = plugins.find(rule.handler);
        if (found == plugins.end()) {
          const HandlerConfig* handler = nullptr;
          for (const auto& candidate : config.handlers) {
            if (candidate.name == rule.handler) handler = &candidate;
          }
          if (handler == nullptr) {
            throw ConfigError(rule.where, "no handler is named '" + rule.handler + "'");
          }
          found =
              plugins.emplace(rule.handler, add(std::make_unique<PluginHandlerFactory>(*handler)))
                  .first;
        }
        route.handlers.push_back(found->second);
        break;
      }
    }
  }
  return std::make_unique<EventProcessor>(std::move(factories), std::move(routes), events);
}

}  // namespace ldh
