#include "host/kafka_sink.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "ingest/kafka_settings.h"
#include "pipeline/error.h"

namespace ldh {

namespace {

using Clock = std::chrono::steady_clock;

// A broker that is down makes librdkafka complain every few hundred milliseconds: one line per
// destination this often is enough, the rest are counted in the next line.
// librdkafka logs with syslog levels; warnings and worse reach the user.
constexpr int kLogWarning = 4;
// librdkafka's own default (5 minutes) would hold a batch that long while the brokers are down;
// ldh's retries with backoff take over sooner. `config.properties` may set another.
constexpr std::string_view kDefaultMessageTimeoutMs = "10000";
// Delivery reports are awaited this much longer than message.timeout.ms, then the batch is
// purged; purged messages report at once, but the wait for them is bounded too.
constexpr auto kReportGrace = std::chrono::seconds(2);
constexpr auto kPurgeWait = std::chrono::seconds(2);
constexpr int kPollMilliseconds = 50;
constexpr std::uintptr_t kIndexMask = 0xffff'ffff;

/// Tells whether a failed message could be delivered by trying again.
DeliveryOutcome::Kind kind_of(rd_kafka_resp_err_t error) {
  switch (error) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
      return DeliveryOutcome::Kind::failed;
    default:
      // Timeouts, brokers down, leadership changes, purges, fatal producer errors (a new
      // producer is made): all may succeed later.
      return DeliveryOutcome::Kind::retry;
  }
}

std::string error_text(rd_kafka_resp_err_t error) {
  return std::string("kafka: ") + rd_kafka_err2name(error) + ": " + rd_kafka_err2str(error);
}

}  // namespace

struct ResultKeyer::Parser {
  simdjson::ondemand::parser parser;
  std::string padded;  // the line with simdjson's padding after it
};

ResultKeyer::ResultKeyer(std::vector<std::pair<std::string, std::vector<std::string>>> key_fields)
    : key_fields_(std::move(key_fields)), parser_(std::make_unique<Parser>()) {}

ResultKeyer::~ResultKeyer() = default;

bool ResultKeyer::key_of(std::string_view line, std::string& key) {
  key.clear();
  if (key_fields_.empty()) return false;
  std::string& padded = parser_->padded;
  padded.assign(line);
  padded.resize(line.size() + simdjson::SIMDJSON_PADDING, ' ');
  simdjson::ondemand::document document;
  if (parser_->parser.iterate(padded.data(), line.size(), padded.size()).get(document)) {
    return false;
  }
  simdjson::ondemand::object row;
  if (document.get_object().get(row)) return false;
  std::string_view window;
  if (row.find_field_unordered("window").get_string().get(window)) return false;
  const auto fields = std::find_if(key_fields_.begin(), key_fields_.end(),
                                   [&](const auto& entry) { return entry.first == window; });
  if (fields == key_fields_.end() || fields->second.empty()) return false;
  key.push_back('[');
  for (const auto& field : fields->second) {
    simdjson::ondemand::value value;
    if (row.find_field_unordered(field).get(value)) {
      key.clear();
      return false;
    }
    std::string_view token = value.raw_json_token();
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\r' ||
                              token.back() == '\n')) {
      token.remove_suffix(1);
    }
    if (key.size() > 1) key.push_back(',');
    key.append(token);
  }
  key.push_back(']');
  return true;
}

struct KafkaTransport::Callbacks {
  static void delivered(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    static_cast<KafkaTransport*>(opaque)->report(
        reinterpret_cast<std::uintptr_t>(message->_private), message->err);
  }

  static void error(rd_kafka_t* producer, int code, const char* reason, void* opaque) {
    auto& transport = *static_cast<KafkaTransport*>(opaque);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
      transport.fatal_ = true;
      transport.fatal_reason_ = fatal_error_text(producer);
      return;
    }
    transport.report_problem(reason);
  }

  static void log(const rd_kafka_t* producer, int level, const char* facility, const char* text) {
    if (level > kLogWarning) return;
    static_cast<KafkaTransport*>(rd_kafka_opaque(producer))
        ->report_problem(std::string(facility) + ": " + text);
  }
};

KafkaTransport::KafkaTransport(const KafkaSinkConfig& config)
    : config_(config),
      description_("kafka://" + join_words(config.brokers, ",") + "/" + config.topic),
      problems_("ldh: destination " + description_ + ": "),
      keyer_(config.key_fields) {
  LDH_EXPECTS(!config_.brokers.empty() && !config_.topic.empty(),
              "a kafka destination needs brokers and a topic");
  create_producer();
}

KafkaTransport::~KafkaTransport() {
  destroy_producer();
}

void KafkaTransport::create_producer() {
  KafkaSettings settings;
  const std::string own = "destination " + description_;
  settings.set("client.id", "ldh", config_.where, own);
  settings.set("bootstrap.servers", join_words(config_.brokers, ","), config_.where, own);
  settings.set("enable.idempotence", "true", config_.where, own);
  settings.set("message.timeout.ms", kDefaultMessageTimeoutMs, config_.where, own);
  // Each batch waits for its acknowledgements: Nagle's algorithm would hold the last request
  // of a batch back for the peer's delayed ACK (40 ms on Linux).
  settings.set("socket.nagle.disable", "true", config_.where, own);
  settings.set_properties(config_.properties);
  settings.check();
  char value[64];
  std::size_t size = sizeof(value);
  std::int64_t timeout_ms = 0;
  if (rd_kafka_conf_get(settings.get(), "message.timeout.ms", value, &size) == RD_KAFKA_CONF_OK) {
    std::from_chars(value, value + std::strlen(value), timeout_ms);
  }
  // 0 means no timeout to librdkafka; the batch still waits only this long before a purge.
  if (timeout_ms <= 0) timeout_ms = 10'000;
  message_timeout_ = std::chrono::milliseconds(timeout_ms);
  rd_kafka_conf_set_opaque(settings.get(), this);
  rd_kafka_conf_set_dr_msg_cb(settings.get(), &Callbacks::delivered);
  rd_kafka_conf_set_error_cb(settings.get(), &Callbacks::error);
  rd_kafka_conf_set_log_cb(settings.get(), &Callbacks::log);
  producer_ = settings.create(RD_KAFKA_PRODUCER, config_.where, own);
  topic_ = rd_kafka_topic_new(producer_, config_.topic.c_str(), nullptr);
  if (topic_ == nullptr) {
    const rd_kafka_resp_err_t error = rd_kafka_last_error();
    destroy_producer();
    throw UserError(own + ": cannot use topic " + config_.topic + ": " + rd_kafka_err2str(error));
  }
}

void KafkaTransport::destroy_producer() {
  if (topic_ != nullptr) rd_kafka_topic_destroy(topic_);
  topic_ = nullptr;
  if (producer_ == nullptr) return;
  // Whatever is still queued belongs to batches already answered (as retries).
  rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_destroy(producer_);
  producer_ = nullptr;
}

void KafkaTransport::send(std::span<const std::string_view> records,
                          std::span<DeliveryOutcome> outcomes) {
  LDH_EXPECTS(records.size() == outcomes.size() && records.size() <= kIndexMask,
              "one outcome per record");
  ++batch_serial_;
  outcomes_ = outcomes;
  reported_.assign(records.size(), false);
  awaited_ = 0;
  const auto deadline = Clock::now() + message_timeout_ + kReportGrace;
  std::string key;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const bool keyed = keyer_.key_of(records[i], key);
    const std::uintptr_t opaque = (std::uintptr_t{batch_serial_} << 32) | i;
    rd_kafka_resp_err_t error;
    while (true) {
      error = rd_kafka_producev(
          producer_, RD_KAFKA_V_RKT(topic_),
          RD_KAFKA_V_KEY(keyed ? key.data() : nullptr, keyed ? key.size() : 0),
          RD_KAFKA_V_VALUE(const_cast<char*>(records[i].data()), records[i].size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(opaque)), RD_KAFKA_V_END);
      if (error != RD_KAFKA_RESP_ERR__QUEUE_FULL || Clock::now() >= deadline) break;
      // The local queue is full: serving reports makes room.
      rd_kafka_poll(producer_, kPollMilliseconds);
    }
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      outcomes[i] = {kind_of(error), error_text(error)};
      reported_[i] = true;
      continue;
    }
    ++awaited_;
  }
  while (awaited_ > 0 && !fatal_ && Clock::now() < deadline) {
    rd_kafka_poll(producer_, kPollMilliseconds);
  }
  if (awaited_ > 0) {
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    const auto purge_deadline = Clock::now() + kPurgeWait;
    while (awaited_ > 0 && Clock::now() < purge_deadline) rd_kafka_poll(producer_, 10);
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (!reported_[i]) {
        outcomes[i] = {DeliveryOutcome::Kind::retry, "kafka: no delivery report in time"};
      }
    }
  }
  // Reports of this batch that still come (after a purge) are ignored from here on.
  ++batch_serial_;
  outcomes_ = {};
  if (fatal_) {
    report_problem("the producer failed (" + fatal_reason_ + "); starting a new one");
    destroy_producer();
    fatal_ = false;
    create_producer();
  }
}

void KafkaTransport::report(std::uintptr_t opaque, rd_kafka_resp_err_t error) {
  if ((opaque >> 32) != batch_serial_) return;
  const std::size_t index = opaque & kIndexMask;
  if (index >= reported_.size() || reported_[index]) return;
  reported_[index] = true;
  --awaited_;
  if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
    outcomes_[index] = DeliveryOutcome{};
  } else {
    outcomes_[index] = {kind_of(error), error_text(error)};
  }
}

}  // namespace ldh
