#pragma once

// The Elasticsearch destination (`type: elasticsearch`): a Transport for DeliverySink that
// indexes each batch with one `_bulk` request, under document ids derived from the results, so
// that a replay overwrites documents instead of adding copies. See docs/outputs.md.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host/delivery.h"
#include "host/http_client.h"
#include "pipeline/config.h"

namespace ldh {

/// Returns the first 128 bits of SHA-256(`text`) as 32 lowercase hex digits: stable ids for
/// documents and notifications that a replay reproduces.
std::string sha256_id(std::string_view text);

/// Derives the `_id` of a record: window results from (window, start, group-by values,
/// revision), alert records from (alert, window, start, group-by values, revision), anything
/// else (events) from the whole line. The id is the first 128 bits of the SHA-256 of those
/// parts, in hex (docs/outputs.md says exactly which bytes).
class DocumentIds {
 public:
  /// `key_fields`: each window's group-by fields, by window name.
  explicit DocumentIds(std::vector<std::pair<std::string, std::vector<std::string>>> key_fields);
  ~DocumentIds();
  DocumentIds(const DocumentIds&) = delete;
  DocumentIds& operator=(const DocumentIds&) = delete;

  /// Returns the id of `record` (one JSON object, no newline).
  std::string id(std::string_view record);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Sends batches to `<url>/_bulk` as NDJSON `index` actions and reads the per-item answers:
/// 2xx items are delivered, 429 and 5xx items retried, other items (mapping errors) refused
/// for good with Elasticsearch's error; a whole request answered 429 or 5xx, timed out or not
/// answered is retried.
class ElasticsearchTransport final : public Transport {
 public:
  explicit ElasticsearchTransport(const ElasticsearchConfig& config);
  ~ElasticsearchTransport() override;

  void send(std::span<const std::string_view> records,
            std::span<DeliveryOutcome> outcomes) override;
  std::string describe() const override { return description_; }

 private:
  /// Sets the outcomes from a 200 answer; false when the answer cannot be read.
  bool read_items(std::string_view body, std::span<DeliveryOutcome> outcomes);

  struct Parser;
  ElasticsearchConfig config_;
  std::string description_;
  HttpClient client_;
  HttpRequest request_;
  DocumentIds ids_;
  std::unique_ptr<Parser> parser_;
  std::string body_;
};

}  // namespace ldh
