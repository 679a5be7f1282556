#include "host/elasticsearch_sink.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <optional>

#include "pipeline/json_writer.h"

namespace ldh {

namespace ondemand = simdjson::ondemand;

namespace {

/// Copies `text` into `scratch` with the padding simdjson reads into, and returns a view of it.
simdjson::padded_string_view padded(std::string& scratch, std::string_view text) {
  scratch.assign(text);
  scratch.resize(text.size() + simdjson::SIMDJSON_PADDING, '\0');
  return simdjson::padded_string_view(scratch.data(), text.size(), scratch.size());
}

/// Cuts an answer to a length that fits in a dead-letter entry.
std::string excerpt(std::string_view body) {
  constexpr std::size_t kMaxBytes = 300;
  std::string text(body.substr(0, kMaxBytes));
  if (body.size() > kMaxBytes) text += "...";
  return text;
}

bool retryable(long status) {
  return status == 408 || status == 429 || status >= 500;
}

}  // namespace

std::string sha256_id(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (std::size_t i = 0; i < 16; ++i) {
    id[2 * i] = kHex[digest[i] >> 4];
    id[2 * i + 1] = kHex[digest[i] & 15];
  }
  return id;
}

struct DocumentIds::State {
  /// By each window's name as JSON text (quoted and escaped, as rows carry it).
  std::vector<std::pair<std::string, std::vector<std::string>>> key_fields;
  ondemand::parser parser;
  std::string scratch;
  std::string identity;
  std::vector<std::pair<std::string_view, std::string_view>> members;  // key, raw JSON value
};

DocumentIds::DocumentIds(std::vector<std::pair<std::string, std::vector<std::string>>> key_fields)
    : state_(std::make_unique<State>()) {
  for (auto& [name, fields] : key_fields) {
    std::string quoted;
    append_json_string(quoted, name);
    state_->key_fields.emplace_back(std::move(quoted), std::move(fields));
  }
}

DocumentIds::~DocumentIds() = default;

std::string DocumentIds::id(std::string_view record) {
  State& state = *state_;
  std::string& identity = state.identity;
  const auto whole_line = [&] {
    identity = "line\n";
    identity += record;
    return sha256_id(identity);
  };
  // Window results start with "window", alert records with "alert" (docs/formats.md); only
  // those are parsed.
  if (!record.starts_with("{\"window\":") && !record.starts_with("{\"alert\":")) {
    return whole_line();
  }
  ondemand::document document;
  ondemand::object object;
  if (state.parser.iterate(padded(state.scratch, record)).get(document) ||
      document.get_object().get(object)) {
    return whole_line();
  }
  state.members.clear();
  for (auto member : object) {
    ondemand::field field;
    std::string_view key;
    if (std::move(member).get(field) || field.unescaped_key().get(key)) return whole_line();
    // Scalars only: the members an id is made of never hold objects or arrays. The token
    // carries the spaces after it.
    std::string_view raw = field.value().raw_json_token();
    while (!raw.empty() && std::string_view(" \t\r\n").find(raw.back()) != std::string_view::npos) {
      raw.remove_suffix(1);
    }
    state.members.emplace_back(key, raw);
  }
  const auto find = [&](std::string_view key) -> std::optional<std::string_view> {
    for (const auto& [name, raw] : state.members) {
      if (name == key) return raw;
    }
    return std::nullopt;
  };
  const auto window = find("window");
  const auto start = find("start");
  if (!window || !start) return whole_line();
  const auto fields = std::find_if(state.key_fields.begin(), state.key_fields.end(),
                                   [&](const auto& entry) { return entry.first == *window; });
  if (fields == state.key_fields.end()) return whole_line();
  const auto alert = find("alert");
  identity = alert ? "alert\n" : "result\n";
  if (alert) {
    identity += *alert;
    identity += '\n';
  }
  identity += *window;
  identity += '\n';
  identity += *start;
  identity += '\n';
  for (const auto& field : fields->second) {
    identity += field;
    identity += '=';
    identity += find(field).value_or("");
    identity += '\n';
  }
  identity += "revision=";
  identity += find("revision").value_or("0");
  return sha256_id(identity);
}

struct ElasticsearchTransport::Parser {
  ondemand::parser parser;
  std::string scratch;
};

ElasticsearchTransport::ElasticsearchTransport(const ElasticsearchConfig& config)
    : config_(config),
      description_("elasticsearch " + config.url + " index " + config.index),
      client_(config.tls),
      ids_(config.key_fields),
      parser_(std::make_unique<Parser>()) {
  // filter_path keeps the answer to what is read: about 30 bytes per document.
  request_.url = config.url + "/_bulk?filter_path=errors,items.*.status,items.*.error";
  request_.headers = {"Content-Type: application/x-ndjson", "Accept: application/json"};
  if (!config.api_key.empty())
    request_.headers.push_back("Authorization: ApiKey " + config.api_key);
  request_.username = config.username;
  request_.password = config.password;
  request_.timeout_ns = config.timeout_ns;
  request_.connect_timeout_ns = config.connect_timeout_ns;
}

ElasticsearchTransport::~ElasticsearchTransport() = default;

void ElasticsearchTransport::send(std::span<const std::string_view> records,
                                  std::span<DeliveryOutcome> outcomes) {
  body_.clear();
  std::string action_prefix = "{\"index\":{\"_index\":";
  append_json_string(action_prefix, config_.index);
  action_prefix += ",\"_id\":\"";
  for (const std::string_view record : records) {
    body_ += action_prefix;
    body_ += ids_.id(record);
    body_ += "\"}}\n";
    body_ += record;
    body_ += '\n';
  }
  const HttpResponse response = client_.post(request_, body_);
  const auto all = [&](DeliveryOutcome::Kind kind, const std::string& error) {
    for (auto& outcome : outcomes) outcome = {kind, error};
  };
  if (response.status == 0) {
    all(DeliveryOutcome::Kind::retry, "no answer from " + config_.url + ": " + response.error);
    return;
  }
  if (response.status != 200) {
    const std::string error =
        "HTTP " + std::to_string(response.status) + " from _bulk: " + excerpt(response.body);
    all(retryable(response.status) ? DeliveryOutcome::Kind::retry : DeliveryOutcome::Kind::failed,
        error);
    return;
  }
  if (!read_items(response.body, outcomes)) {
    // What was indexed is unknown; sending again overwrites the same ids.
    all(DeliveryOutcome::Kind::retry, "unreadable _bulk answer: " + excerpt(response.body));
  }
}

bool ElasticsearchTransport::read_items(std::string_view body,
                                        std::span<DeliveryOutcome> outcomes) {
  ondemand::document document;
  ondemand::object root;
  if (parser_->parser.iterate(padded(parser_->scratch, body)).get(document) ||
      document.get_object().get(root)) {
    return false;
  }
  bool errors = false;
  if (root.find_field_unordered("errors").get_bool().get(errors)) return false;
  if (!errors) return true;  // every item succeeded
  ondemand::array items;
  if (root.find_field_unordered("items").get_array().get(items)) return false;
  std::size_t index = 0;
  for (auto item : items) {
    ondemand::object wrapper;
    if (item.get_object().get(wrapper)) return false;
    // Each item is {"<action>": {"status": ..., "error": ...}}.
    for (auto action : wrapper) {
      ondemand::object result;
      if (action.value().get_object().get(result)) return false;
      if (index >= outcomes.size()) return false;
      std::int64_t status = 0;
      std::string error;
      for (auto member : result) {
        ondemand::field field;
        std::string_view key;
        if (std::move(member).get(field) || field.unescaped_key().get(key)) return false;
        if (key == "status") {
          if (field.value().get_int64().get(status)) return false;
        } else if (key == "error") {
          ondemand::object detail;
          if (field.value().get_object().get(detail) == simdjson::SUCCESS) {
            std::string_view type, reason;
            for (auto part : detail) {
              ondemand::field entry;
              std::string_view name;
              if (std::move(part).get(entry) || entry.unescaped_key().get(name)) return false;
              // Not a string: the error is still refused, only less well described.
              std::string_view text;
              if (entry.value().get_string().get(text) != simdjson::SUCCESS) continue;
              if (name == "type") type = text;
              if (name == "reason") reason = text;
            }
            error = std::string(type) + ": " + std::string(reason);
          } else {
            error = std::string(field.value().raw_json_token());
          }
        }
      }
      DeliveryOutcome& outcome = outcomes[index++];
      if (status >= 200 && status < 300) {
        outcome = {};
      } else {
        outcome.kind = retryable(static_cast<long>(status)) ? DeliveryOutcome::Kind::retry
                                                            : DeliveryOutcome::Kind::failed;
        outcome.error =
            "item status " + std::to_string(status) + (error.empty() ? "" : " ") + error;
      }
    }
  }
  return index == outcomes.size();
}

}  // namespace ldh
