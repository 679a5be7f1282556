#pragma once

// Alert notifications (`output.alerts.notifications: [email, webhook]`): the notifier turns
// alert records into notifications, holds back repeats per (condition, key), and hands each
// notification to every channel, a DeliverySink with a webhook or email Transport, so a slow,
// failing or absent peer is retried and never stalls the pipeline. See docs/outputs.md.

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "host/delivery.h"
#include "host/http_client.h"
#include "host/sink.h"
#include "pipeline/config.h"

namespace ldh {

/// POSTs each notification (one JSON object) to `output.alerts.webhook.url`: 2xx is delivered,
/// 408, 429, 5xx and no answer are retried, other answers refuse it for good.
class WebhookTransport final : public Transport {
 public:
  explicit WebhookTransport(const WebhookConfig& config);
  void send(std::span<const std::string_view> records,
            std::span<DeliveryOutcome> outcomes) override;
  std::string describe() const override { return "webhook " + request_.url; }

 private:
  HttpClient client_;
  HttpRequest request_;
};

/// Mails each notification to `output.alerts.email.to`: a 4xx reply or no server is retried,
/// a 5xx reply refuses it for good.
class EmailTransport final : public Transport {
 public:
  explicit EmailTransport(const EmailConfig& config);
  void send(std::span<const std::string_view> records,
            std::span<DeliveryOutcome> outcomes) override;
  std::string describe() const override;

 private:
  EmailConfig config_;
  MailClient client_;
  MailRequest request_;
  std::uint64_t random_state_;
};

/// Formats the mail of one notification: RFC 5322 headers (the subject is the notification's
/// text) and a quoted-printable UTF-8 body, with CRLF line ends. `now_ns` dates it;
/// `message_id` is unique per mail.
std::string format_alert_mail(std::string_view notification, const EmailConfig& config,
                              std::int64_t now_ns, std::string_view message_id);

/// What the notifier did with the alert records it was given.
struct NotifierCounters {
  std::uint64_t alerts = 0;     // alert records received
  std::uint64_t notified = 0;   // notifications handed to the channels
  std::uint64_t held_back = 0;  // repeats within the cooldown, and re-emissions
};

/// Receives alert records (JSON lines, docs/formats.md) and notifies each channel of every
/// alert, except that after a notification for a (condition, key), further alerts for it whose
/// event time (the window's end) is less than the cooldown later are held back: a revision or
/// replay of an alert already notified never goes out again. Thread-safe.
class AlertNotifier final : public Sink {
 public:
  /// Notifies through `channels`, each given every notification as one JSON line.
  AlertNotifier(std::int64_t cooldown_ns, std::vector<std::unique_ptr<Sink>> channels);
  ~AlertNotifier() override;

  void write(std::string_view alerts) override;
  void flush() override;
  /// Delivers or dead-letters every notification, channel by channel (each bounded by its
  /// drain timeout).
  void finish() override;
  std::string describe() const override;
  /// The notifier's counters, then each channel's as "<channel>.<counter>".
  void statistics(std::vector<SinkCounter>& out) const override;

  NotifierCounters counters() const;

 private:
  struct Recent {
    std::int64_t notified_time = 0;  // event time of the last notification
    std::uint64_t held_back = 0;     // alerts held back since
  };

  void notify(std::string_view record);
  /// Forgets (condition, key)s whose last notification is long past, so the map stays bounded.
  void forget_old();

  std::int64_t cooldown_ns_;
  std::vector<std::unique_ptr<Sink>> channels_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Recent> recent_;
  std::int64_t newest_time_;
  NotifierCounters counters_;
  std::string notification_;
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

/// Creates the notifier `config.notifications` asks for (a DeliverySink per channel); nullptr
/// when it names no channel.
std::unique_ptr<AlertNotifier> make_alert_notifier(const AlertConfig& config);

}  // namespace ldh
