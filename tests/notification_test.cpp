// Alert notifications: the notifier's cooldown and de-duplication per (condition, key) and its
// payload; the webhook channel against tests/http_peer.py and the email channel against
// tests/smtp_peer.py (Debian's python3-aiosmtpd), each with a peer that is down then comes up,
// answers errors, or is slow; and one run through the Executor with windows, alerts,
// Elasticsearch and a webhook. delivered + dead-lettered == produced every time.

#include "host/notification.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include "host/elasticsearch_sink.h"
#include "http_peer.h"
#include "pipeline/time.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using std::chrono::milliseconds;
using testing::ChildProcess;
using testing::HttpPeer;
using testing::json_integer;
using testing::lines_of;

bool have_python() {
  return std::system("/usr/bin/python3 -c 'import http.server'") == 0;
}
bool have_aiosmtpd() {
  return std::system("/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null") == 0;
}

/// An alert record as the window engine writes it (docs/formats.md).
std::string alert_record(int sensor, int end_minute, const std::string& value = "29.5",
                         int revision = 0, const std::string& condition = "temperature gt 29") {
  char text[400];
  std::snprintf(text, sizeof text,
                "{\"alert\":\"%s\",\"window\":\"five-minutes\",\"start\":\"2026-11-29T04:%02d:00."
                "000Z\",\"end\":\"2026-11-29T04:%02d:00.000Z\",\"sensor_id\":%d,\"metric\":"
                "\"temperature_max\",\"value\":%s,\"threshold\":29",
                condition.c_str(), end_minute - 5, end_minute, sensor, value.c_str());
  std::string record = text;
  if (revision > 0) record += ",\"revision\":" + std::to_string(revision);
  return record + "}";
}

/// Returns the string member `name` of a JSON object's text (no escapes inside).
std::string json_string(const std::string& json, const std::string& name) {
  const std::string needle = "\"" + name + "\":\"";
  const std::size_t at = json.find(needle);
  if (at == std::string::npos) return "";
  const std::size_t begin = at + needle.size();
  return json.substr(begin, json.find('"', begin) - begin);
}

void wait_until(const std::function<bool()>& done, milliseconds limit = milliseconds(15000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
}

DeliveryConfig fast_delivery(const testing::ScratchFolder& folder, const std::string& name) {
  DeliveryConfig delivery;
  delivery.batch_records = 1;
  delivery.initial_backoff_ns = 20'000'000;
  delivery.max_backoff_ns = 200'000'000;
  delivery.max_attempts = 4;
  delivery.drain_timeout_ns = 20'000'000'000;
  delivery.dead_letter_path = folder.file(name + "-dead.jsonl");
  return delivery;
}

/// Returns the counter `name` of `statistics`, -1 when absent.
long long counter(const Sink& sink, const std::string& name) {
  std::vector<SinkCounter> counters;
  sink.statistics(counters);
  for (const auto& entry : counters) {
    if (entry.name == name) return static_cast<long long>(entry.value);
  }
  return -1;
}

void expect_accounted(const Sink& sink, const std::string& channel) {
  EXPECT_EQ(counter(sink, channel + ".produced"), counter(sink, "notified"));
  EXPECT_EQ(counter(sink, channel + ".delivered") + counter(sink, channel + ".dead_lettered"),
            counter(sink, channel + ".produced"));
}

/// tests/smtp_peer.py as a child process, logging what it receives to a file.
class SmtpPeer {
 public:
  SmtpPeer(std::string log, const std::vector<std::string>& arguments = {}, int port = 0)
      : log_(std::move(log)) {
    start(arguments, port);
  }

  void start(const std::vector<std::string>& arguments, int port) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     std::string(LDH_SOURCE_DIR) + "/tests/smtp_peer.py",
                                     "--log",
                                     log_,
                                     "--port",
                                     std::to_string(port)};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    for (int attempt = 0; attempt < 20; ++attempt) {
      process_ = std::make_unique<ChildProcess>(argv);
      const auto line = process_->read_line(milliseconds(10000));
      if (line && line->starts_with("PORT ")) {
        port_ = std::stoi(line->substr(5));
        return;
      }
      process_.reset();
      std::this_thread::sleep_for(milliseconds(100));
    }
    throw std::runtime_error("tests/smtp_peer.py did not start");
  }

  void stop() { process_.reset(); }
  int port() const { return port_; }
  std::vector<std::string> mails() const { return lines_of(testing::read_file(log_)); }

 private:
  std::string log_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

EmailConfig email_config(int port, const testing::ScratchFolder& folder) {
  EmailConfig email;
  email.smtp = "smtp://127.0.0.1:" + std::to_string(port);
  email.from = "ldh@example.com";
  email.to = {"ops@example.com", "oncall@example.com"};
  email.timeout_ns = 5'000'000'000;
  email.delivery = fast_delivery(folder, "email");
  return email;
}

std::unique_ptr<AlertNotifier> notifier_for(std::unique_ptr<Transport> transport,
                                            const DeliveryConfig& delivery,
                                            std::int64_t cooldown_ns = 300'000'000'000) {
  std::vector<std::unique_ptr<Sink>> channels;
  channels.push_back(std::make_unique<DeliverySink>(std::move(transport), delivery));
  return std::make_unique<AlertNotifier>(cooldown_ns, std::move(channels));
}

// ---------------------------------------------------------------------------------------------
// The notifier

TEST(AlertNotifierTest, HoldsBackRepeatsWithinTheCooldownPerConditionAndKey) {
  std::string sent;
  std::vector<std::unique_ptr<Sink>> channels;
  channels.push_back(std::make_unique<testing::StringSink>(sent));
  AlertNotifier notifier(300'000'000'000, std::move(channels));
  notifier.write(alert_record(1, 10) + "\n" + alert_record(1, 11) + "\n");
  notifier.write(alert_record(1, 12) + "\n");                                // held back
  notifier.write(alert_record(2, 11) + "\n");                                // another key
  notifier.write(alert_record(1, 12, "31", 0, "temperature gt 30") + "\n");  // another condition
  notifier.write(alert_record(1, 10, "29.7", 1) + "\n");  // a revision of the first: held back
  notifier.write(alert_record(1, 15) + "\n");             // the cooldown has run out
  const NotifierCounters counters = notifier.counters();
  EXPECT_EQ(counters.alerts, 7u);
  EXPECT_EQ(counters.notified, 4u);
  EXPECT_EQ(counters.held_back, 3u);
  const auto notifications = lines_of(sent);
  ASSERT_EQ(notifications.size(), 4u);
  EXPECT_NE(notifications[0].find("\"record\":" + alert_record(1, 10) + "}"), std::string::npos);
  EXPECT_NE(notifications[1].find("\"record\":" + alert_record(2, 11) + "}"), std::string::npos);
  EXPECT_NE(notifications[3].find("\"heldBack\":3"), std::string::npos) << notifications[3];
  EXPECT_NE(notifications[3].find("\"record\":" + alert_record(1, 15) + "}"), std::string::npos);
}

TEST(AlertNotifierTest, WithoutCooldownStillDropsReEmissionsOfANotifiedAlert) {
  std::string sent;
  std::vector<std::unique_ptr<Sink>> channels;
  channels.push_back(std::make_unique<testing::StringSink>(sent));
  AlertNotifier notifier(0, std::move(channels));
  notifier.write(alert_record(1, 10) + "\n" + alert_record(1, 11) + "\n" + alert_record(1, 12) +
                 "\n" + alert_record(1, 12, "30", 1) + "\n" + alert_record(1, 12) + "\n");
  EXPECT_EQ(notifier.counters().notified, 3u);
  EXPECT_EQ(notifier.counters().held_back, 2u);
}

TEST(AlertNotifierTest, ForgetsKeysAnHourAfterTheirCooldown) {
  std::string sent;
  std::vector<std::unique_ptr<Sink>> channels;
  channels.push_back(std::make_unique<testing::StringSink>(sent));
  AlertNotifier notifier(60'000'000'000, std::move(channels));
  notifier.write(alert_record(1, 10) + "\n");
  // Two hours later (event time), thousands of other keys: sensor 1 is forgotten on the way.
  std::string later;
  for (int sensor = 2; sensor < 5000; ++sensor) {
    later +=
        "{\"alert\":\"temperature gt 29\",\"window\":\"five-minutes\",\"start\":\"2026-11-"
        "29T06:05:00.000Z\",\"end\":\"2026-11-29T06:10:00.000Z\",\"sensor_id\":" +
        std::to_string(sensor) +
        ",\"metric\":\"temperature_max\",\"value\":30,"
        "\"threshold\":29}\n";
  }
  notifier.write(later);
  EXPECT_EQ(notifier.counters().notified, 4999u);
  notifier.write(alert_record(1, 10, "29.5", 1) + "\n");
  EXPECT_EQ(notifier.counters().notified, 5000u) << "a forgotten key is notified again";
}

TEST(AlertNotifierTest, WritesTheDocumentedPayload) {
  std::string sent;
  std::vector<std::unique_ptr<Sink>> channels;
  channels.push_back(std::make_unique<testing::StringSink>(sent));
  AlertNotifier notifier(300'000'000'000, std::move(channels));
  const std::string record = alert_record(14, 8, "29.15", 2);
  const std::int64_t before = wall_clock_ns();
  notifier.write(record + "\n");
  const auto notifications = lines_of(sent);
  ASSERT_EQ(notifications.size(), 1u);
  const std::string& payload = notifications[0];
  const std::string expected_start =
      "{\"type\":\"alert\",\"id\":\"" + sha256_id(record) +
      "\",\"text\":\"temperature gt 29: temperature_max = 29.15 for sensor_id=14 in window "
      "five-minutes (2026-11-29T04:03:00.000Z to 2026-11-29T04:08:00.000Z), revision 2\","
      "\"condition\":\"temperature gt 29\",\"key\":{\"sensor_id\":14},\"heldBack\":0,"
      "\"notifiedAt\":\"";
  EXPECT_EQ(payload.substr(0, expected_start.size()), expected_start) << payload;
  const auto notified_at = parse_iso8601(json_string(payload, "notifiedAt"));
  ASSERT_TRUE(notified_at.has_value()) << payload;
  EXPECT_GE(*notified_at, before - 1'000'000);
  EXPECT_TRUE(payload.ends_with(",\"record\":" + record + "}")) << payload;
}

TEST(AlertNotifierTest, NotifiesALineItCannotReadAsItIs) {
  std::string sent;
  std::vector<std::unique_ptr<Sink>> channels;
  channels.push_back(std::make_unique<testing::StringSink>(sent));
  AlertNotifier notifier(300'000'000'000, std::move(channels));
  notifier.write("disk full on node 3\n");
  EXPECT_EQ(notifier.counters().notified, 1u);
  EXPECT_NE(sent.find("\"condition\":\"disk full on node 3\",\"key\":{}"), std::string::npos)
      << sent;
  EXPECT_NE(sent.find("\"record\":\"disk full on node 3\"}"), std::string::npos) << sent;
}

TEST(AlertNotifierTest, KeepsNestedMembersOfOtherRecordsWhole) {
  std::string sent;
  std::vector<std::unique_ptr<Sink>> channels;
  channels.push_back(std::make_unique<testing::StringSink>(sent));
  AlertNotifier notifier(300'000'000'000, std::move(channels));
  notifier.write(
      "{\"alert\":\"disk full\",\"host\":{\"name\":\"n3\",\"disks\":[1,2]},\"time\":\"2026-11-"
      "29T04:00:00Z\"}\n");
  EXPECT_NE(sent.find("\"condition\":\"disk full\",\"key\":{\"host\":{\"name\":\"n3\",\"disks\":[1,"
                      "2]}},"),
            std::string::npos)
      << sent;
}

TEST(AlertNotifierTest, FormatsAReadableQuotedPrintableMail) {
  EmailConfig email;
  email.from = "ldh@example.com";
  email.to = {"ops@example.com"};
  std::string sent;
  std::vector<std::unique_ptr<Sink>> channels;
  channels.push_back(std::make_unique<testing::StringSink>(sent));
  AlertNotifier notifier(0, std::move(channels));
  // A long non-ASCII key makes an encoded, folded subject and soft line breaks in the body.
  const std::string record =
      "{\"alert\":\"temperature gt 29\",\"window\":\"five-minutes\",\"start\":\"2026-11-29T04:03:"
      "00.000Z\",\"end\":\"2026-11-29T04:08:00.000Z\",\"location\":\"Zürich Hauptbahnhof, Gleis "
      "7, Technikraum unter der Halle\",\"metric\":\"temperature_max\",\"value\":31.5,"
      "\"threshold\":29}";
  notifier.write(record + "\n");
  const std::string mail =
      format_alert_mail(lines_of(sent).at(0), email, 1'795'000'000'000'000'000, "<1@example.com>");
  EXPECT_NE(mail.find("From: ldh@example.com\r\nTo: ops@example.com\r\nSubject: =?UTF-8?B?"),
            std::string::npos)
      << mail;
  EXPECT_NE(mail.find("\r\nDate: Wed, 18 Nov 2026 11:06:40 +0000\r\n"), std::string::npos) << mail;
  EXPECT_NE(mail.find("Message-ID: <1@example.com>\r\n"), std::string::npos);
  EXPECT_NE(mail.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  EXPECT_NE(mail.find("Z=C3=BCrich"), std::string::npos) << mail;
  // Every line ends in CRLF and fits in 78 characters (RFC 5322).
  std::size_t begin = 0;
  while (begin < mail.size()) {
    const std::size_t end = mail.find("\r\n", begin);
    ASSERT_NE(end, std::string::npos) << "an unterminated line";
    EXPECT_LE(end - begin, 78u) << mail.substr(begin, end - begin);
    EXPECT_EQ(mail.substr(begin, end - begin).find('\n'), std::string::npos);
    begin = end + 2;
  }
}

// ---------------------------------------------------------------------------------------------
// Webhook

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_python()) GTEST_SKIP() << "/usr/bin/python3 is not installed";
  }

  WebhookConfig webhook_config(const HttpPeer& peer) {
    WebhookConfig webhook;
    webhook.url = peer.url() + "/hooks/ldh";
    webhook.headers = {{"Authorization", "Bearer s3cret"}};
    webhook.timeout_ns = 2'000'000'000;
    webhook.delivery = fast_delivery(folder_, "webhook");
    return webhook;
  }

  testing::ScratchFolder folder_;
};

TEST_F(WebhookTest, PostsEachNotificationAsJsonWithTheConfiguredHeaders) {
  HttpPeer peer;
  AlertConfig alerts;
  alerts.notifications = {NotificationChannel::webhook};
  alerts.webhook = webhook_config(peer);
  auto notifier = make_alert_notifier(alerts);
  ASSERT_NE(notifier, nullptr);
  for (int sensor = 1; sensor <= 3; ++sensor) notifier->write(alert_record(sensor, 10) + "\n");
  notifier->finish();
  expect_accounted(*notifier, "webhook");
  EXPECT_EQ(counter(*notifier, "webhook.delivered"), 3);
  const auto calls = lines_of(peer.query("webhooks"));
  ASSERT_EQ(calls.size(), 3u);
  for (int sensor = 1; sensor <= 3; ++sensor) {
    const std::string& call = calls[static_cast<std::size_t>(sensor - 1)];
    EXPECT_NE(call.find("\"path\": \"/hooks/ldh\""), std::string::npos) << call;
    EXPECT_NE(call.find("\"Authorization\": \"Bearer s3cret\""), std::string::npos) << call;
    EXPECT_NE(call.find("\"Content-Type\": \"application/json\""), std::string::npos) << call;
    // The body is a JSON string inside the peer's record: its quotes are escaped.
    EXPECT_NE(call.find("for sensor_id=" + std::to_string(sensor) + " in window five-minutes"),
              std::string::npos)
        << call;
    EXPECT_NE(call.find("\\\"sensor_id\\\":" + std::to_string(sensor) + ","), std::string::npos);
  }
}

TEST_F(WebhookTest, DeliversOnceAPeerThatWasDownComesUp) {
  HttpPeer peer;
  const int port = peer.port();
  WebhookConfig webhook = webhook_config(peer);
  webhook.delivery.max_attempts = 100;
  peer.stop();
  auto notifier = notifier_for(std::make_unique<WebhookTransport>(webhook), webhook.delivery);
  notifier->write(alert_record(1, 10) + "\n" + alert_record(2, 10) + "\n");
  wait_until([&] { return counter(*notifier, "webhook.retried") >= 2; });
  EXPECT_GE(counter(*notifier, "webhook.retried"), 2);
  peer.start({}, port);
  notifier->finish();
  expect_accounted(*notifier, "webhook");
  EXPECT_EQ(counter(*notifier, "webhook.delivered"), 2);
  EXPECT_EQ(lines_of(peer.query("webhooks")).size(), 2u);
}

TEST_F(WebhookTest, RetriesA500AndDeadLettersWhenAttemptsRunOut) {
  HttpPeer peer({"--webhook-status", "500", "--webhook-count", "2"});
  WebhookConfig webhook = webhook_config(peer);
  auto notifier = notifier_for(std::make_unique<WebhookTransport>(webhook), webhook.delivery);
  notifier->write(alert_record(1, 10) + "\n");
  notifier->finish();
  EXPECT_EQ(counter(*notifier, "webhook.delivered"), 1);
  EXPECT_EQ(counter(*notifier, "webhook.retried"), 2);

  peer.control("{\"webhookStatus\": 500, \"webhookCount\": -1}");
  auto failing = notifier_for(std::make_unique<WebhookTransport>(webhook), webhook.delivery);
  failing->write(alert_record(2, 10) + "\n" + alert_record(3, 10) + "\n");
  failing->finish();
  expect_accounted(*failing, "webhook");
  EXPECT_EQ(counter(*failing, "webhook.dead_lettered"), 2);
  const auto dead = lines_of(testing::read_file(webhook.delivery.dead_letter_path));
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_NE(dead[0].find("\"reason\":\"out of attempts\",\"attempts\":4,\"error\":\"HTTP 500"),
            std::string::npos)
      << dead[0];
  EXPECT_NE(dead[0].find("\"record\":{\"type\":\"alert\""), std::string::npos) << dead[0];
}

TEST_F(WebhookTest, RefusesForGoodWhatThePeerAnswers400) {
  HttpPeer peer({"--webhook-status", "400"});
  WebhookConfig webhook = webhook_config(peer);
  auto notifier = notifier_for(std::make_unique<WebhookTransport>(webhook), webhook.delivery);
  notifier->write(alert_record(1, 10) + "\n");
  notifier->finish();
  EXPECT_EQ(counter(*notifier, "webhook.dead_lettered"), 1);
  EXPECT_EQ(counter(*notifier, "webhook.retried"), 0);
}

TEST_F(WebhookTest, RetriesWhenASlowPeerTimesOut) {
  HttpPeer peer({"--delay", "1.5"});
  WebhookConfig webhook = webhook_config(peer);
  webhook.timeout_ns = 300'000'000;
  auto notifier = notifier_for(std::make_unique<WebhookTransport>(webhook), webhook.delivery);
  notifier->write(alert_record(1, 10) + "\n");
  wait_until([&] { return counter(*notifier, "webhook.retried") >= 1; });
  peer.control("{\"delay\": 0}");
  notifier->finish();
  expect_accounted(*notifier, "webhook");
  EXPECT_EQ(counter(*notifier, "webhook.delivered"), 1);
  EXPECT_GE(counter(*notifier, "webhook.retried"), 1);
  // The call that timed out may have reached the peer too: every copy has the same id.
  wait_until([&] { return json_integer(peer.query("state"), "webhookCalls") >= 2; },
             milliseconds(3000));
  const auto calls = lines_of(peer.query("webhooks"));
  ASSERT_GE(calls.size(), 1u);
  const std::string id = "\\\"id\\\":\\\"" + sha256_id(alert_record(1, 10)) + "\\\"";
  for (const auto& call : calls) EXPECT_NE(call.find(id), std::string::npos) << call;
}

// ---------------------------------------------------------------------------------------------
// Email

class EmailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_aiosmtpd()) GTEST_SKIP() << "python3-aiosmtpd is not installed";
  }
  testing::ScratchFolder folder_;
};

TEST_F(EmailTest, MailsEachNotificationToEveryRecipient) {
  SmtpPeer peer(folder_.file("mails.jsonl"));
  AlertConfig alerts;
  alerts.notifications = {NotificationChannel::email};
  alerts.email = email_config(peer.port(), folder_);
  auto notifier = make_alert_notifier(alerts);
  const std::string record = alert_record(14, 8, "29.15");
  notifier->write(record + "\n");
  notifier->finish();
  expect_accounted(*notifier, "email");
  EXPECT_EQ(counter(*notifier, "email.delivered"), 1);
  const auto mails = peer.mails();
  ASSERT_EQ(mails.size(), 1u);
  const std::string& mail = mails[0];
  EXPECT_NE(mail.find("\"from\": \"ldh@example.com\""), std::string::npos) << mail;
  EXPECT_NE(mail.find("\"to\": [\"ops@example.com\", \"oncall@example.com\"]"), std::string::npos);
  EXPECT_NE(mail.find("\"subject\": \"temperature gt 29: temperature_max = 29.15 for sensor_id=14 "
                      "in window five-minutes (2026-11-29T04:03:00.000Z to "
                      "2026-11-29T04:08:00.000Z)\""),
            std::string::npos)
      << mail;
  EXPECT_NE(mail.find("Condition: temperature gt 29\\r\\nKey: sensor_id=14\\r\\n"),
            std::string::npos)
      << mail;
  // The record comes back whole once the quoted-printable body is decoded.
  std::string escaped;
  for (char c : record) escaped += c == '"' ? std::string("\\\"") : std::string(1, c);
  EXPECT_NE(mail.find("Alert record:\\r\\n" + escaped), std::string::npos) << mail;
  EXPECT_NE(mail.find("\"Auto-Submitted\": \"auto-generated\""), std::string::npos);
}

TEST_F(EmailTest, DecodesANonAsciiSubject) {
  SmtpPeer peer(folder_.file("mails.jsonl"));
  const EmailConfig email = email_config(peer.port(), folder_);
  auto notifier = notifier_for(std::make_unique<EmailTransport>(email), email.delivery);
  notifier->write(
      "{\"alert\":\"temperature gt 29\",\"window\":\"minute\",\"start\":\"2026-11-29T04:03:00."
      "000Z\",\"end\":\"2026-11-29T04:04:00.000Z\",\"location\":\"Zürich Hauptbahnhof, Gleis 7, "
      "Technikraum\",\"metric\":\"temperature_max\",\"value\":31.5,\"threshold\":29}\n");
  notifier->finish();
  ASSERT_EQ(peer.mails().size(), 1u);
  EXPECT_NE(peer.mails()[0].find("for location=\\\"Z\\u00fcrich Hauptbahnhof, Gleis 7, "
                                 "Technikraum\\\" in window minute"),
            std::string::npos)
      << peer.mails()[0];
}

TEST_F(EmailTest, DeliversOnceAServerThatWasDownComesUp) {
  SmtpPeer peer(folder_.file("mails.jsonl"));
  const int port = peer.port();
  peer.stop();
  EmailConfig email = email_config(port, folder_);
  email.delivery.max_attempts = 100;
  auto notifier = notifier_for(std::make_unique<EmailTransport>(email), email.delivery);
  notifier->write(alert_record(1, 10) + "\n" + alert_record(2, 10) + "\n");
  wait_until([&] { return counter(*notifier, "email.retried") >= 2; });
  EXPECT_GE(counter(*notifier, "email.retried"), 2);
  peer.start({}, port);
  notifier->finish();
  expect_accounted(*notifier, "email");
  EXPECT_EQ(counter(*notifier, "email.delivered"), 2);
  EXPECT_EQ(peer.mails().size(), 2u);
}

TEST_F(EmailTest, RetriesA4xxReplyAndRefusesA5xxForGood) {
  SmtpPeer peer(folder_.file("mails.jsonl"), {"--fail-code", "451", "--fail-count", "2"});
  const EmailConfig email = email_config(peer.port(), folder_);
  auto notifier = notifier_for(std::make_unique<EmailTransport>(email), email.delivery);
  notifier->write(alert_record(1, 10) + "\n");
  notifier->finish();
  EXPECT_EQ(counter(*notifier, "email.delivered"), 1);
  EXPECT_EQ(counter(*notifier, "email.retried"), 2);

  SmtpPeer refusing(folder_.file("refused.jsonl"), {"--fail-code", "550"});
  const EmailConfig refused = email_config(refusing.port(), folder_);
  auto failing = notifier_for(std::make_unique<EmailTransport>(refused), refused.delivery);
  failing->write(alert_record(1, 10) + "\n");
  failing->finish();
  expect_accounted(*failing, "email");
  EXPECT_EQ(counter(*failing, "email.dead_lettered"), 1);
  EXPECT_EQ(counter(*failing, "email.retried"), 0);
  const std::string dead = testing::read_file(refused.delivery.dead_letter_path);
  EXPECT_NE(dead.find("\"reason\":\"refused by the destination\",\"attempts\":1"),
            std::string::npos)
      << dead;
  EXPECT_NE(dead.find("(SMTP 550)"), std::string::npos) << dead;
}

TEST_F(EmailTest, RetriesWhenASlowServerTimesOut) {
  auto peer = std::make_unique<SmtpPeer>(folder_.file("mails.jsonl"),
                                         std::vector<std::string>{"--delay", "3"});
  const int port = peer->port();
  EmailConfig email = email_config(port, folder_);
  email.timeout_ns = 400'000'000;
  email.delivery.max_attempts = 100;
  auto notifier = notifier_for(std::make_unique<EmailTransport>(email), email.delivery);
  notifier->write(alert_record(1, 10) + "\n");
  wait_until([&] { return counter(*notifier, "email.retried") >= 1; });
  EXPECT_GE(counter(*notifier, "email.retried"), 1);
  peer->stop();
  peer->start({}, port);
  notifier->finish();
  expect_accounted(*notifier, "email");
  EXPECT_EQ(counter(*notifier, "email.delivered"), 1);
  EXPECT_GE(peer->mails().size(), 1u);
}

TEST_F(EmailTest, UsesStartTlsAndLogsIn) {
  if (std::system("command -v openssl >/dev/null") != 0) GTEST_SKIP() << "no openssl";
  const std::string certificate = folder_.file("cert.pem");
  const std::string key = folder_.file("key.pem");
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      key + " -out " + certificate + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  SmtpPeer peer(folder_.file("mails.jsonl"), {"--certificate", certificate, "--key", key,
                                              "--username", "ldh", "--password", "pa55"});
  EmailConfig email = email_config(peer.port(), folder_);
  email.start_tls = true;
  email.tls.ca_file = certificate;
  email.username = "ldh";
  email.password = "pa55";
  auto notifier = notifier_for(std::make_unique<EmailTransport>(email), email.delivery);
  notifier->write(alert_record(1, 10) + "\n");
  notifier->finish();
  EXPECT_EQ(counter(*notifier, "email.delivered"), 1);
  const auto mails = peer.mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_NE(mails[0].find("\"tls\": true"), std::string::npos) << mails[0];
  EXPECT_NE(mails[0].find("\"login\": \"ldh\""), std::string::npos) << mails[0];

  // Without STARTTLS the server refuses the mail: that is for good, not retried.
  email.start_tls = false;
  email.delivery.dead_letter_path = folder_.file("plain-dead.jsonl");
  auto plain = notifier_for(std::make_unique<EmailTransport>(email), email.delivery);
  plain->write(alert_record(2, 10) + "\n");
  plain->finish();
  EXPECT_EQ(counter(*plain, "email.dead_lettered"), 1);
  EXPECT_EQ(counter(*plain, "email.retried"), 0);
}

// ---------------------------------------------------------------------------------------------
// Through the executor

TEST(NotificationPipelineTest, WindowsAlertsElasticsearchAndAWebhookInOneRun) {
  if (!have_python()) GTEST_SKIP() << "/usr/bin/python3 is not installed";
  testing::ScratchFolder folder;
  // Some bulk items are answered 429 the first time, so the run retries on the way.
  HttpPeer peer({"--throttle-every", "5"});
  const std::string yaml = R"yaml(
input:
  sources:
    - {name: sensors, type: generator, events: 6000, sensors: 10, interval: 1s, seed: 7,
       start: "2026-11-29T04:00:00Z"}
)yaml" + testing::sensor_format("json") +
                           R"yaml(processing:
  groupBy: [sensor_id]
  watermark: {maxOutOfOrderness: 5s}
  windows:
    - {name: minute, type: tumbling, size: 1m, metrics: [avg, max], measures: [temperature]}
output:
  destinations:
    - {type: jsonl, path: )yaml" +
                           folder.file("results.jsonl") +
                           R"yaml(}
    - type: elasticsearch
      url: )yaml" + peer.url() +
                           R"yaml(
      index: sensor-metrics
      batch: {size: 100, interval: 50ms}
      retry: {initialDelay: 10ms, maxDelay: 100ms}
      deadLetter: )yaml" + folder.file("es-dead.jsonl") +
                           R"yaml(
  alerts:
    conditions:
      - {metric: temperature, operator: gt, value: 20}
    path: )yaml" + folder.file("alerts.jsonl") +
                           R"yaml(
    notifications: [webhook]
    cooldown: 3m
    webhook:
      url: )yaml" + peer.url() +
                           R"yaml(/alerts
      retry: {initialDelay: 10ms}
      deadLetter: )yaml" + folder.file("webhook-dead.jsonl") +
                           "\n";
  RunOptions options;
  options.dead_letter_path = folder.file("dead.jsonl");
  Executor executor(parse_config(yaml, folder.file("run.yaml")), options);
  const RunSummary summary = executor.run(executor.make_sources(), executor.make_sinks());
  const auto results = lines_of(testing::read_file(folder.file("results.jsonl")));
  const auto alerts = lines_of(testing::read_file(folder.file("alerts.jsonl")));
  ASSERT_GT(results.size(), 0u);
  ASSERT_GT(alerts.size(), 0u);
  EXPECT_EQ(summary.windows.alerts, alerts.size());
  std::map<std::string, std::map<std::string, std::uint64_t>> counters;
  for (const auto& sink : summary.sinks) {
    for (const auto& entry : sink.counters) counters[sink.name][entry.name] = entry.value;
  }
  const auto& elasticsearch = counters["elasticsearch " + peer.url() + " index sensor-metrics"];
  EXPECT_EQ(elasticsearch.at("produced"), results.size());
  EXPECT_EQ(elasticsearch.at("delivered"), results.size());
  EXPECT_GT(elasticsearch.at("retried"), 0u);
  const auto& notifications = counters["alert notifications (webhook " + peer.url() + "/alerts)"];
  EXPECT_EQ(notifications.at("alerts"), alerts.size());
  EXPECT_EQ(notifications.at("notified") + notifications.at("held_back"), alerts.size());
  EXPECT_GT(notifications.at("held_back"), 0u) << "the cooldown holds back repeats";
  EXPECT_EQ(notifications.at("webhook.delivered"), notifications.at("notified"));
  const std::string state = peer.query("state");
  EXPECT_EQ(json_integer(state, "documents"), static_cast<long long>(results.size()));
  EXPECT_EQ(json_integer(state, "webhookCalls"),
            static_cast<long long>(notifications.at("notified")));
}

}  // namespace
}  // namespace ldh
