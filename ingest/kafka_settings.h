#pragma once

// What the Kafka source and destination share around librdkafka: settings collected with the
// config location of each, so every property librdkafka refuses becomes one ConfigError naming
// its file:line:col, and the words of a fatal client error.

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/error.h"

namespace ldh {

/// Owns an rd_kafka_conf_t until create() hands it to a client.
class KafkaSettings {
 public:
  KafkaSettings() : settings_(rd_kafka_conf_new()) {}
  ~KafkaSettings() {
    if (settings_ != nullptr) rd_kafka_conf_destroy(settings_);
  }
  KafkaSettings(const KafkaSettings&) = delete;
  KafkaSettings& operator=(const KafkaSettings&) = delete;

  /// Sets `key`; a refusal is kept, with `where` and `path`, for check().
  void set(const std::string& key, std::string_view value, const SourceLocation& where,
           const std::string& path);
  /// Sets the user's `config.properties`.
  void set_properties(const std::vector<KafkaProperty>& properties);
  /// Throws ConfigError naming every refused setting.
  void check();
  rd_kafka_conf_t* get() { return settings_; }
  /// Creates the client, which takes the settings; throws ConfigError at `where` naming `own`
  /// when librdkafka cannot.
  rd_kafka_t* create(rd_kafka_type_t type, const SourceLocation& where, const std::string& own);

 private:
  rd_kafka_conf_t* settings_;
  std::vector<ConfigDiagnostic> problems_;
};

/// Joins `words` with `separator` (broker lists, topic lists).
std::string join_words(const std::vector<std::string>& words, const char* separator);

/// Returns "NAME: text" of the fatal error `client` reported.
std::string fatal_error_text(rd_kafka_t* client);

}  // namespace ldh
