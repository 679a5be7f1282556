#pragma once

// The Kafka destination (`type: kafka`): a DeliverySink whose Transport produces each result
// line as one message through an idempotent librdkafka producer, keyed by the row's group-by
// values, so all results of one group land in one partition in order.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host/delivery.h"
#include "pipeline/config.h"
#include "pipeline/problem_log.h"

namespace ldh {

/// Makes the message key of a result line: the JSON array of the values of its window's
/// group-by fields, in groupBy order and as the line prints them (`[14,"north"]`). Lines of
/// windows without group-by fields, and lines that are not window results or alerts, have none.
class ResultKeyer {
 public:
  explicit ResultKeyer(std::vector<std::pair<std::string, std::vector<std::string>>> key_fields);
  ~ResultKeyer();
  ResultKeyer(const ResultKeyer&) = delete;
  ResultKeyer& operator=(const ResultKeyer&) = delete;

  /// Sets `key` to the key of `line`; returns false (with `key` empty) when it has none.
  bool key_of(std::string_view line, std::string& key);

 private:
  struct Parser;
  std::vector<std::pair<std::string, std::vector<std::string>>> key_fields_;
  std::unique_ptr<Parser> parser_;
};

/// Produces batches to one topic. A batch is produced, then its delivery reports are awaited
/// (up to message.timeout.ms and a little more); each report sets its record's outcome:
/// delivered, retry for transient errors (timeouts, brokers down, leadership changes), failed
/// for errors that a retry cannot fix (a message too large, authorisation).
class KafkaTransport final : public Transport {
 public:
  /// Creates the producer; throws ConfigError when librdkafka refuses a property.
  explicit KafkaTransport(const KafkaSinkConfig& config);
  ~KafkaTransport() override;
  KafkaTransport(const KafkaTransport&) = delete;
  KafkaTransport& operator=(const KafkaTransport&) = delete;

  void send(std::span<const std::string_view> records,
            std::span<DeliveryOutcome> outcomes) override;
  /// Returns kafka://BROKERS/TOPIC.
  std::string describe() const override { return description_; }

 private:
  struct Callbacks;

  void create_producer();
  void destroy_producer();
  /// Records a delivery report of the current batch (from rd_kafka_poll, on the send thread).
  void report(std::uintptr_t opaque, rd_kafka_resp_err_t error);
  /// Prints a librdkafka problem to stderr, at most one line per few seconds.
  void report_problem(const std::string& text) { problems_.report(text); }

  KafkaSinkConfig config_;
  std::string description_;
  ProblemLog problems_;
  ResultKeyer keyer_;
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_topic_t* topic_ = nullptr;
  std::chrono::milliseconds message_timeout_{0};
  // The batch being sent: reports of earlier batches (late after a purge) are ignored.
  std::uint32_t batch_serial_ = 0;
  std::span<DeliveryOutcome> outcomes_;
  std::vector<bool> reported_;
  std::size_t awaited_ = 0;
  bool fatal_ = false;
  std::string fatal_reason_;
};

}  // namespace ldh
