#include "host/notification.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <limits>
#include <optional>
#include <random>

#include "host/elasticsearch_sink.h"
#include "pipeline/json_writer.h"
#include "pipeline/time.h"

namespace ldh {

namespace ondemand = simdjson::ondemand;

namespace {

/// (condition, key)s are forgotten this long (event time) after their cooldown ran out.
constexpr std::int64_t kForgetAfterNs = 3'600'000'000'000;
/// Alerts between two sweeps of forgotten (condition, key)s.
constexpr std::uint64_t kSweepEvery = 4096;

/// Copies `text` into `scratch` with the padding simdjson reads into, and returns a view of it.
simdjson::padded_string_view padded(std::string& scratch, std::string_view text) {
  scratch.assign(text);
  scratch.resize(text.size() + simdjson::SIMDJSON_PADDING, '\0');
  return simdjson::padded_string_view(scratch.data(), text.size(), scratch.size());
}

/// Returns the token without the spaces simdjson leaves after it.
std::string_view trimmed(std::string_view token) {
  while (!token.empty() && std::string_view(" \t\r\n").find(token.back()) != std::string_view::npos)
    token.remove_suffix(1);
  return token;
}

/// Tells whether `later` is less than `span` after `earlier` (or before it), without overflow.
bool within(std::int64_t earlier, std::int64_t later, std::int64_t span) {
  if (later <= earlier) return true;
  return static_cast<std::uint64_t>(later) - static_cast<std::uint64_t>(earlier) <
         static_cast<std::uint64_t>(span);
}

bool retryable(long status) {
  return status == 0 || status == 408 || status == 429 || status >= 500;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void append_base64(std::string& out, std::string_view bytes) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned value = (static_cast<unsigned char>(bytes[i]) << 16) |
                           (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                           static_cast<unsigned char>(bytes[i + 2]);
    out += kDigits[(value >> 18) & 63];
    out += kDigits[(value >> 12) & 63];
    out += kDigits[(value >> 6) & 63];
    out += kDigits[value & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned value = static_cast<unsigned char>(bytes[i]) << 16;
    out += kDigits[(value >> 18) & 63];
    out += kDigits[(value >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned value = (static_cast<unsigned char>(bytes[i]) << 16) |
                           (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kDigits[(value >> 18) & 63];
    out += kDigits[(value >> 12) & 63];
    out += kDigits[(value >> 6) & 63];
    out += '=';
  }
}

/// Appends a Subject header: plain when it is short printable ASCII, else RFC 2047 encoded
/// words of whole UTF-8 characters, one per folded line.
void append_subject(std::string& out, std::string_view text) {
  constexpr std::size_t kMaxBytes = 900;
  std::string subject;
  for (char c : text.substr(0, kMaxBytes)) {
    subject += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;  // headers are one line
  }
  out += "Subject: ";
  const bool plain = std::all_of(subject.begin(), subject.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x7f; });
  if (plain && subject.size() <= 78) {
    out += subject;
    out += "\r\n";
    return;
  }
  std::size_t begin = 0;
  while (begin < subject.size()) {
    // 39 bytes make 52 base64 digits: with "Subject: " and the markers, 73 characters a line.
    std::size_t end = std::min(subject.size(), begin + 39);
    // Never split a UTF-8 sequence: back up to the start of a character.
    while (end < subject.size() && end > begin &&
           (static_cast<unsigned char>(subject[end]) & 0xC0) == 0x80) {
      --end;
    }
    if (begin != 0) out += "\r\n ";
    out += "=?UTF-8?B?";
    append_base64(out, std::string_view(subject).substr(begin, end - begin));
    out += "?=";
    begin = end;
  }
  out += "\r\n";
}

/// Appends `text` (lines separated by \n) quoted-printable, with CRLF line ends and soft
/// breaks keeping lines within 76 characters.
void append_quoted_printable(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::size_t line_length = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\r\n";
      line_length = 0;
      continue;
    }
    const bool at_line_end = i + 1 == text.size() || text[i + 1] == '\n';
    const bool literal =
        (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    const std::size_t width = literal ? 1 : 3;
    if (line_length + width > 75) {
      out += "=\r\n";
      line_length = 0;
    }
    if (literal) {
      out += static_cast<char>(c);
    } else {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    line_length += width;
  }
  if (text.empty() || text.back() != '\n') out += "\r\n";
}

/// Appends an RFC 5322 date (always in English, whatever the locale).
void append_mail_date(std::string& out, std::int64_t now_ns) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = static_cast<std::time_t>(now_ns / 1'000'000'000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[64];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[parts.tm_wday],
                parts.tm_mday, kMonths[parts.tm_mon], parts.tm_year + 1900, parts.tm_hour,
                parts.tm_min, parts.tm_sec);
  out += text;
}

std::uint64_t next_random(std::uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Webhook

WebhookTransport::WebhookTransport(const WebhookConfig& config) : client_(config.tls) {
  request_.url = config.url;
  request_.timeout_ns = config.timeout_ns;
  request_.connect_timeout_ns = std::min<std::int64_t>(config.timeout_ns, 5'000'000'000);
  bool content_type = false;
  for (const auto& [name, value] : config.headers) {
    content_type = content_type || equal_ignoring_case(name, "Content-Type");
    request_.headers.push_back(name + ": " + value);
  }
  if (!content_type) request_.headers.push_back("Content-Type: application/json");
}

void WebhookTransport::send(std::span<const std::string_view> records,
                            std::span<DeliveryOutcome> outcomes) {
  for (std::size_t i = 0; i < records.size(); ++i) {
    const HttpResponse response = client_.post(request_, records[i]);
    if (response.status >= 200 && response.status < 300) continue;
    if (response.status == 0) {
      // The peer is unreachable: the rest of the batch waits for the retry too.
      const std::string error = "no answer from " + request_.url + ": " + response.error;
      for (std::size_t j = i; j < records.size(); ++j) {
        outcomes[j] = {DeliveryOutcome::Kind::retry, error};
      }
      return;
    }
    outcomes[i].kind =
        retryable(response.status) ? DeliveryOutcome::Kind::retry : DeliveryOutcome::Kind::failed;
    outcomes[i].error =
        "HTTP " + std::to_string(response.status) + ": " + response.body.substr(0, 300);
  }
}

// ---------------------------------------------------------------------------------------------
// Email

EmailTransport::EmailTransport(const EmailConfig& config)
    : config_(config), client_(config.tls), random_state_(std::random_device{}() | 1) {
  request_.url = config.smtp;
  request_.from = config.from;
  request_.to = config.to;
  request_.require_start_tls = config.start_tls;
  request_.username = config.username;
  request_.password = config.password;
  request_.timeout_ns = config.timeout_ns;
  request_.connect_timeout_ns = std::min<std::int64_t>(config.timeout_ns, 5'000'000'000);
}

std::string EmailTransport::describe() const {
  std::string text = "email " + config_.smtp + " to ";
  for (std::size_t i = 0; i < config_.to.size(); ++i) text += (i == 0 ? "" : ", ") + config_.to[i];
  return text;
}

void EmailTransport::send(std::span<const std::string_view> records,
                          std::span<DeliveryOutcome> outcomes) {
  const std::string domain = config_.from.substr(config_.from.find('@') + 1);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::int64_t now = wall_clock_ns();
    char id[80];
    std::snprintf(id, sizeof id, "<%016llx.%llx@",
                  static_cast<unsigned long long>(next_random(random_state_)),
                  static_cast<unsigned long long>(now));
    const std::string message_id = id + domain + ">";
    const MailResponse response =
        client_.send(request_, format_alert_mail(records[i], config_, now, message_id));
    if (response.sent) continue;
    if (response.code == 0 && response.transient) {
      // No server: the rest of the batch waits for the retry too.
      for (std::size_t j = i; j < records.size(); ++j) {
        outcomes[j] = {DeliveryOutcome::Kind::retry, response.error};
      }
      return;
    }
    outcomes[i] = {
        response.transient ? DeliveryOutcome::Kind::retry : DeliveryOutcome::Kind::failed,
        response.error};
  }
}

std::string format_alert_mail(std::string_view notification, const EmailConfig& config,
                              std::int64_t now_ns, std::string_view message_id) {
  // The notification is ldh's own JSON (AlertNotifier); members it lacks stay empty.
  std::string text, condition, held_back, notified_at, record, key;
  ondemand::parser parser;
  std::string scratch;
  ondemand::document document;
  ondemand::object object;
  if (parser.iterate(padded(scratch, notification)).get(document) ||
      document.get_object().get(object)) {
    text = "ldh alert";
    record = std::string(notification);
  } else {
    for (auto member : object) {
      ondemand::field field;
      std::string_view name;
      if (std::move(member).get(field) || field.unescaped_key().get(name)) break;
      std::string_view value;
      if (name == "text" || name == "condition" || name == "notifiedAt") {
        if (field.value().get_string().get(value)) continue;
        (name == "text" ? text : name == "condition" ? condition : notified_at) = value;
      } else if (name == "heldBack") {
        held_back = trimmed(field.value().raw_json_token());
      } else if (name == "key") {
        ondemand::object members;
        if (field.value().get_object().get(members)) continue;
        for (auto part : members) {
          ondemand::field entry;
          std::string_view entry_name;
          if (std::move(part).get(entry) || entry.unescaped_key().get(entry_name)) break;
          if (!key.empty()) key += ", ";
          key += entry_name;
          key += '=';
          key += trimmed(entry.value().raw_json_token());
        }
      } else if (name == "record") {
        ondemand::value value_node = field.value();
        ondemand::object members;
        if (value_node.get_object().get(members) == simdjson::SUCCESS) {
          if (members.raw_json().get(value) == simdjson::SUCCESS) record = value;
        }
      }
    }
  }
  std::string mail;
  mail += "From: " + config.from + "\r\nTo: ";
  for (std::size_t i = 0; i < config.to.size(); ++i) mail += (i == 0 ? "" : ", ") + config.to[i];
  mail += "\r\n";
  append_subject(mail, text);
  mail += "Date: ";
  append_mail_date(mail, now_ns);
  mail += "\r\nMessage-ID: ";
  mail += message_id;
  mail +=
      "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\nAuto-Submitted: auto-generated\r\n\r\n";
  std::string body = text + "\n\n";
  if (!condition.empty()) body += "Condition: " + condition + "\n";
  if (!key.empty()) body += "Key: " + key + "\n";
  if (!held_back.empty() && held_back != "0") {
    body += "Held back since the previous notification: " + held_back + " alerts\n";
  }
  if (!notified_at.empty()) body += "Notified at: " + notified_at + "\n";
  if (!record.empty()) body += "\nAlert record:\n" + record + "\n";
  append_quoted_printable(mail, body);
  return mail;
}

// ---------------------------------------------------------------------------------------------
// Notifier

struct AlertNotifier::Parser {
  ondemand::parser parser;
  std::string scratch;
  std::string identity;
  std::string key;
  std::string details;
};

AlertNotifier::AlertNotifier(std::int64_t cooldown_ns, std::vector<std::unique_ptr<Sink>> channels)
    : cooldown_ns_(std::max<std::int64_t>(cooldown_ns, 1)),
      channels_(std::move(channels)),
      newest_time_(std::numeric_limits<std::int64_t>::min()),
      parser_(std::make_unique<Parser>()) {}

AlertNotifier::~AlertNotifier() = default;

void AlertNotifier::write(std::string_view alerts) {
  std::lock_guard lock(mutex_);
  while (!alerts.empty()) {
    const std::size_t newline = alerts.find('\n');
    const std::string_view line = alerts.substr(0, newline);
    alerts.remove_prefix(newline == std::string_view::npos ? alerts.size() : newline + 1);
    if (!line.empty()) notify(line);
  }
}

void AlertNotifier::notify(std::string_view record) {
  if (++counters_.alerts % kSweepEvery == 0) forget_old();
  Parser& parser = *parser_;
  std::string& identity = parser.identity;
  std::string& key = parser.key;
  std::string& details = parser.details;
  identity.clear();
  key.clear();
  details.clear();
  std::string condition, window, start, end, time, metric, value, revision;
  bool parsed = false;
  ondemand::document document;
  ondemand::object object;
  if (!parser.parser.iterate(padded(parser.scratch, record)).get(document) &&
      !document.get_object().get(object)) {
    parsed = true;
    for (auto member : object) {
      ondemand::field field;
      std::string_view name;
      if (std::move(member).get(field) || field.unescaped_key().get(name)) {
        parsed = false;
        break;
      }
      std::string* text = name == "alert"    ? &condition
                          : name == "window" ? &window
                          : name == "start"  ? &start
                          : name == "end"    ? &end
                          : name == "time"   ? &time
                          : name == "metric" ? &metric
                                             : nullptr;
      if (text != nullptr) {
        std::string_view unescaped;
        if (field.value().get_string().get(unescaped) == simdjson::SUCCESS) {
          *text = unescaped;
          continue;
        }
      }
      // Objects and arrays (records other code writes) are kept whole, scalars as written.
      ondemand::json_type type;
      std::string_view raw;
      if (field.value().type().get(type)) {
        parsed = false;
        break;
      }
      if (type == ondemand::json_type::object) {
        ondemand::object inner;
        if (field.value().get_object().get(inner) || inner.raw_json().get(raw)) {
          parsed = false;
          break;
        }
      } else if (type == ondemand::json_type::array) {
        ondemand::array inner;
        if (field.value().get_array().get(inner) || inner.raw_json().get(raw)) {
          parsed = false;
          break;
        }
      } else {
        raw = trimmed(field.value().raw_json_token());
      }
      if (name == "value") {
        value = raw;
      } else if (name == "revision") {
        revision = raw;
      } else if (name != "threshold") {
        // Every other member tells which thing the alert is about: the group-by key.
        if (!key.empty()) key += ',';
        append_json_string(key, name);
        key += ':';
        key += raw;
        if (!details.empty()) details += ", ";
        details += name;
        details += '=';
        details += raw;
      }
    }
    parsed = parsed && document.current_location().error() == simdjson::OUT_OF_BOUNDS;
  }
  if (!parsed) {
    // Not an alert record ldh wrote: notified as it is, with the whole line as its condition.
    condition = std::string(record);
    key.clear();
    details.clear();
    window = start = end = time = metric = value = revision = "";
  }
  identity = condition;
  identity += '\n';
  identity += key;
  std::optional<std::int64_t> event_time = parse_iso8601(end);
  if (!event_time) event_time = parse_iso8601(time);
  const std::int64_t moment = event_time ? *event_time : wall_clock_ns();
  newest_time_ = std::max(newest_time_, moment);

  auto [found, inserted] = recent_.try_emplace(identity);
  Recent& recent = found->second;
  if (!inserted && within(recent.notified_time, moment, cooldown_ns_)) {
    ++recent.held_back;
    ++counters_.held_back;
    return;
  }
  const std::uint64_t held_back = inserted ? 0 : recent.held_back;
  recent = {moment, 0};

  std::string text = condition;
  if (!metric.empty()) text += ": " + metric + " = " + value;
  if (!details.empty()) text += " for " + details;
  if (!window.empty()) text += " in window " + window;
  if (!start.empty() && !end.empty()) text += " (" + start + " to " + end + ")";
  if (!revision.empty()) text += ", revision " + revision;

  std::string& notification = notification_;
  // The id lets a receiver drop a copy: a notification whose answer timed out is sent again.
  notification = "{\"type\":\"alert\",\"id\":\"" + sha256_id(record) + "\",\"text\":";
  append_json_string(notification, text);
  notification += ",\"condition\":";
  append_json_string(notification, condition);
  notification += ",\"key\":{" + key + "},\"heldBack\":" + std::to_string(held_back);
  notification += ",\"notifiedAt\":\"";
  append_iso8601(notification, wall_clock_ns(), 6);
  notification += "\",\"record\":";
  if (parsed) {
    notification += record;
  } else {
    append_json_string(notification, record);
  }
  notification += "}\n";
  ++counters_.notified;
  for (auto& channel : channels_) channel->write(notification);
}

void AlertNotifier::forget_old() {
  const std::int64_t remembered =
      cooldown_ns_ > std::numeric_limits<std::int64_t>::max() - kForgetAfterNs
          ? std::numeric_limits<std::int64_t>::max()
          : cooldown_ns_ + kForgetAfterNs;
  std::erase_if(recent_, [&](const auto& entry) {
    return !within(entry.second.notified_time, newest_time_, remembered);
  });
}

void AlertNotifier::flush() {
  for (auto& channel : channels_) channel->flush();
}

void AlertNotifier::finish() {
  for (auto& channel : channels_) channel->finish();
}

std::string AlertNotifier::describe() const {
  std::string text = "alert notifications (";
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    text += (i == 0 ? "" : "; ") + channels_[i]->describe();
  }
  return text + ")";
}

NotifierCounters AlertNotifier::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void AlertNotifier::statistics(std::vector<SinkCounter>& out) const {
  const NotifierCounters counted = counters();
  out.push_back({"alerts", counted.alerts});
  out.push_back({"notified", counted.notified});
  out.push_back({"held_back", counted.held_back});
  std::vector<SinkCounter> channel_counters;
  for (const auto& channel : channels_) {
    const std::string description = channel->describe();
    const std::string prefix = description.substr(0, description.find(' ')) + ".";
    channel_counters.clear();
    channel->statistics(channel_counters);
    for (auto& counter : channel_counters) out.push_back({prefix + counter.name, counter.value});
  }
}

std::unique_ptr<AlertNotifier> make_alert_notifier(const AlertConfig& config) {
  if (config.notifications.empty()) return nullptr;
  std::vector<std::unique_ptr<Sink>> channels;
  for (NotificationChannel channel : config.notifications) {
    if (channel == NotificationChannel::webhook) {
      channels.push_back(std::make_unique<DeliverySink>(
          std::make_unique<WebhookTransport>(config.webhook), config.webhook.delivery));
    } else {
      channels.push_back(std::make_unique<DeliverySink>(
          std::make_unique<EmailTransport>(config.email), config.email.delivery));
    }
  }
  return std::make_unique<AlertNotifier>(config.cooldown_ns, std::move(channels));
}

}  // namespace ldh
