#include "ingest/kafka_settings.h"

#include <utility>

namespace ldh {

void KafkaSettings::set(const std::string& key, std::string_view value, const SourceLocation& where,
                        const std::string& path) {
  char reason[512];
  if (rd_kafka_conf_set(settings_, key.c_str(), std::string(value).c_str(), reason,
                        sizeof(reason)) != RD_KAFKA_CONF_OK) {
    problems_.push_back({where, path + ": " + reason});
  }
}

void KafkaSettings::set_properties(const std::vector<KafkaProperty>& properties) {
  for (const auto& property : properties) {
    set(property.key, property.value, property.where, property.path);
  }
}

void KafkaSettings::check() {
  if (!problems_.empty()) throw ConfigError(std::exchange(problems_, {}));
}

rd_kafka_t* KafkaSettings::create(rd_kafka_type_t type, const SourceLocation& where,
                                  const std::string& own) {
  check();
  char reason[512];
  rd_kafka_t* client = rd_kafka_new(type, settings_, reason, sizeof(reason));
  if (client == nullptr) {
    throw ConfigError(where, own + ": cannot create the Kafka " +
                                 (type == RD_KAFKA_PRODUCER ? "producer" : "consumer") + ": " +
                                 reason);
  }
  settings_ = nullptr;  // the client owns them now
  return client;
}

std::string join_words(const std::vector<std::string>& words, const char* separator) {
  std::string text;
  for (const auto& word : words) {
    if (!text.empty()) text += separator;
    text += word;
  }
  return text;
}

std::string fatal_error_text(rd_kafka_t* client) {
  char text[512];
  const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(client, text, sizeof(text));
  return std::string(rd_kafka_err2name(fatal)) + ": " + text;
}

}  // namespace ldh
