#include "ingest/websocket_source.h"

#include <openssl/ssl.h>
#include <simdjson.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "ingest/decoder.h"
#include "pipeline/backoff.h"
#include "pipeline/error.h"
#include "pipeline/problem_log.h"

namespace ldh {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kPollSlice = std::chrono::milliseconds(100);

/// Reads the integer `field` of one JSON line; nullopt when it is absent or not an integer.
std::optional<std::int64_t> sequence_of(simdjson::ondemand::parser& parser, std::string_view line,
                                        const std::string& field) {
  simdjson::padded_string padded(line);
  simdjson::ondemand::document document;
  if (parser.iterate(padded).get(document) != simdjson::SUCCESS) return std::nullopt;
  std::int64_t value = 0;
  if (document[field].get_int64().get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

}  // namespace

class WebSocketSource::Client {
 public:
  Client(const SourceConfig& config, std::uint32_t index, const Schema& schema,
         const SourceOptions& options)
      : config_(config.websocket),
        name_(config.name),
        format_(config.format),
        index_(index),
        options_(options),
        framer_(make_decoder(config.format, schema, false)),
        ssl_(net::ssl::context::tls_client),
        resolver_(io_),
        backoff_(config.websocket.reconnect_initial_ns, config.websocket.reconnect_max_ns,
                 config.websocket.reconnect_jitter),
        problems_("ldh: websocket source '" + config.name + "': "),
        pending_(std::make_shared<std::string>()) {
    std::string error;
    auto endpoint = parse_websocket_endpoint(config_.endpoint, error);
    if (!endpoint) throw UserError("websocket source '" + name_ + "': " + error);
    endpoint_ = *endpoint;
    host_header_ = endpoint_.host + ":" + endpoint_.port;
    if (endpoint_.secure) {
      if (config_.verify_peer) {
        ssl_.set_verify_mode(net::ssl::verify_peer);
        beast::error_code failed;
        if (config_.ca_file.empty()) {
          ssl_.set_default_verify_paths(failed);
        } else {
          ssl_.load_verify_file(config_.ca_file, failed);
        }
        if (failed) {
          throw UserError("websocket source '" + name_ + "': cannot load CA certificates" +
                          (config_.ca_file.empty() ? "" : " from " + config_.ca_file) + ": " +
                          failed.message());
        }
      } else {
        ssl_.set_verify_mode(net::ssl::verify_none);
      }
    }
  }

  ~Client() { close(); }

  bool next(RawChunk& chunk) {
    while (true) {
      const auto now = Clock::now();
      if (stopped() || ended_) {
        close();
        return !pending_->empty() && hand_out(chunk);
      }
      if (ready_) return hand_out(chunk);
      if (!pending_->empty() &&
          now - first_record_at_ >= std::chrono::nanoseconds(options_.max_batch_latency_ns)) {
        return hand_out(chunk);
      }
      if (phase_ == Phase::idle || (phase_ == Phase::waiting && now >= retry_at_)) connect();
      if (config_.end_after_idle_ns > 0 && statistics_.messages > 0 &&
          now - last_message_at_ >= std::chrono::nanoseconds(config_.end_after_idle_ns)) {
        ended_ = true;
        continue;
      }
      auto until = now + kPollSlice;
      if (!pending_->empty()) {
        until = std::min(
            until, first_record_at_ + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::nanoseconds(options_.max_batch_latency_ns)));
      }
      if (phase_ == Phase::waiting) {
        // Nothing to drive until the next attempt.
        std::this_thread::sleep_until(std::min(until, retry_at_));
        continue;
      }
      io_.restart();
      if (io_.run_one_until(until) > 0 && options_.flush_partial) {
        // Underflow flush: take what is ready now, then hand it on.
        io_.poll();
        if (!pending_->empty()) return hand_out(chunk);
      }
    }
  }

  Format format() const { return format_; }
  const std::string& name() const { return name_; }
  std::uint64_t bytes_read() const {
    std::lock_guard lock(statistics_mutex_);
    return statistics_.bytes;
  }
  WebSocketStatistics snapshot() const {
    std::lock_guard lock(statistics_mutex_);
    WebSocketStatistics copy = statistics_;
    if (disconnected_since_ != Clock::time_point{}) {
      copy.disconnected_ms += static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - disconnected_since_)
              .count());
    }
    return copy;
  }

 private:
  using PlainStream = websocket::stream<beast::tcp_stream>;
  using SecureStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
  enum class Phase { idle, connecting, open, waiting };

  bool stopped() const {
    return options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed);
  }

  bool hand_out(RawChunk& chunk) {
    chunk.source_index = index_;
    chunk.stream_offset = offset_;
    chunk.bytes = {reinterpret_cast<const std::byte*>(pending_->data()), pending_->size()};
    chunk.records = pending_records_;
    offset_ += pending_->size();
    chunk.block = std::move(pending_);
    pending_ = std::make_shared<std::string>();
    pending_records_ = 0;
    ready_ = false;
    return true;
  }

  void update(const auto& change) {
    std::lock_guard lock(statistics_mutex_);
    change(statistics_);
  }

  void connect() {
    ++generation_;
    // A message cut off by the last connection's end must not prefix the next one.
    buffer_.clear();
    phase_ = Phase::connecting;
    if (endpoint_.secure) {
      secure_.emplace(io_, ssl_);
    } else {
      plain_.emplace(io_);
    }
    const std::uint64_t generation = generation_;
    resolver_.async_resolve(
        endpoint_.host, endpoint_.port,
        [this, generation](beast::error_code error, tcp::resolver::results_type results) {
          if (generation != generation_) return;
          if (error) return failed("cannot resolve " + endpoint_.host + ": " + error.message());
          if (endpoint_.secure) {
            open_tcp(*secure_, results, generation);
          } else {
            open_tcp(*plain_, results, generation);
          }
        });
  }

  template <class Stream>
  void open_tcp(Stream& ws, const tcp::resolver::results_type& results, std::uint64_t generation) {
    auto& layer = beast::get_lowest_layer(ws);
    layer.expires_after(std::chrono::nanoseconds(config_.connect_timeout_ns));
    layer.async_connect(results, [this, &ws, generation](beast::error_code error,
                                                         const tcp::endpoint&) {
      if (generation != generation_) return;
      if (error) return failed("cannot connect to " + host_header_ + ": " + error.message());
      if constexpr (std::is_same_v<Stream, SecureStream>) {
        if (!SSL_set_tlsext_host_name(ws.next_layer().native_handle(), endpoint_.host.c_str())) {
          return failed("cannot set the TLS server name");
        }
        if (config_.verify_peer) {
          ws.next_layer().set_verify_callback(net::ssl::host_name_verification(endpoint_.host));
        }
        ws.next_layer().async_handshake(
            net::ssl::stream_base::client, [this, &ws, generation](beast::error_code tls_error) {
              if (generation != generation_) return;
              if (tls_error) return failed("TLS handshake failed: " + tls_error.message());
              upgrade(ws, generation);
            });
      } else {
        upgrade(ws, generation);
      }
    });
  }

  template <class Stream>
  void upgrade(Stream& ws, std::uint64_t generation) {
    beast::get_lowest_layer(ws).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::nanoseconds(config_.connect_timeout_ns);
    // A keep-alive ping goes out after half the idle time without traffic; a peer that answers
    // nothing for the whole idle time is gone.
    timeouts.idle_timeout = std::chrono::nanoseconds(2 * config_.ping_interval_ns);
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    const std::string protocol = config_.protocol;
    ws.set_option(websocket::stream_base::decorator([protocol](websocket::request_type& request) {
      request.set(http::field::user_agent, "ldh");
      if (!protocol.empty()) request.set(http::field::sec_websocket_protocol, protocol);
    }));
    ws.read_message_max(config_.max_message_bytes);
    ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
      update([kind](WebSocketStatistics& s) {
        if (kind == websocket::frame_type::ping) ++s.pings;
        if (kind == websocket::frame_type::pong) ++s.pongs;
      });
    });
    response_ = {};
    ws.async_handshake(
        response_, host_header_, endpoint_.target,
        [this, &ws, generation](beast::error_code error) {
          if (generation != generation_) return;
          if (error) return failed("WebSocket handshake failed: " + error.message());
          const auto accepted = response_[http::field::sec_websocket_protocol];
          if (!config_.protocol.empty() && accepted != config_.protocol) {
            return failed("the server did not accept subprotocol '" + config_.protocol + "'");
          }
          opened();
          read(ws, generation);
        });
  }

  void opened() {
    phase_ = Phase::open;
    failures_ = 0;
    update([this](WebSocketStatistics& s) {
      ++s.connects;
      if (disconnected_since_ != Clock::time_point{}) {
        s.disconnected_ms +=
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           Clock::now() - disconnected_since_)
                                           .count());
      }
      disconnected_since_ = {};
    });
  }

  template <class Stream>
  void read(Stream& ws, std::uint64_t generation) {
    ws.async_read(buffer_, [this, &ws, generation](beast::error_code error, std::size_t) {
      if (generation != generation_) return;
      if (error) {
        update([](WebSocketStatistics& s) { ++s.disconnects; });
        return failed(error == websocket::error::closed ? "the server closed the connection"
                                                        : "connection lost: " + error.message());
      }
      const auto data = buffer_.cdata();
      received({static_cast<const char*>(data.data()), data.size()});
      buffer_.consume(buffer_.size());
      if (ended_) return;
      read(ws, generation);
    });
  }

  /// Adds one message's records to the pending chunk.
  void received(std::string_view message) {
    last_message_at_ = Clock::now();
    if (pending_->empty()) first_record_at_ = last_message_at_;
    std::uint64_t records = 0;
    bool partial = false;
    if (format_ == Format::json) {
      pending_->append(message);
      if (!message.empty() && message.back() != '\n') pending_->push_back('\n');
      records = static_cast<std::uint64_t>(std::count(message.begin(), message.end(), '\n')) +
                (!message.empty() && message.back() != '\n' ? 1 : 0);
      if (!config_.sequence_field.empty()) track_sequence(message);
    } else {
      const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(message.data()),
                                             message.size());
      FrameInfo info;
      const std::size_t whole = framer_->frame(bytes, SIZE_MAX, false, &info);
      records = info.records;
      pending_->append(message);
      if (whole < message.size()) {
        // The tail cannot be framed: it ends the chunk, so the decoder dead-letters it and
        // the next message starts clean.
        partial = true;
        ++records;
        ready_ = true;
      }
    }
    pending_records_ += records;
    update([&](WebSocketStatistics& s) {
      ++s.messages;
      s.bytes += message.size();
      s.records += records;
      if (partial) ++s.partial_messages;
    });
    total_records_ += records;
    if (pending_records_ >= options_.chunk_records) ready_ = true;
    if (config_.events > 0 && total_records_ >= config_.events) ended_ = true;
  }

  /// Counts the gap between the last sequence number seen and the first of `message`.
  void track_sequence(std::string_view message) {
    std::string_view text = message;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    const std::string_view first_line = text.substr(0, text.find('\n'));
    const std::size_t last_break = text.rfind('\n');
    const std::string_view last_line =
        last_break == std::string_view::npos ? text : text.substr(last_break + 1);
    const auto first = sequence_of(json_, first_line, config_.sequence_field);
    const auto last = sequence_of(json_, last_line, config_.sequence_field);
    if (!first || !last) return;
    update([&](WebSocketStatistics& s) {
      if (last_sequence_) {
        if (*first > *last_sequence_ + 1) {
          s.lost += static_cast<std::uint64_t>(*first - *last_sequence_ - 1);
        } else if (*first <= *last_sequence_) {
          ++s.sequence_regressions;
        }
      }
    });
    last_sequence_ = *last;
  }

  void failed(const std::string& why) {
    const bool was_open = phase_ == Phase::open;
    update([&](WebSocketStatistics& s) {
      if (!was_open) ++s.failed_attempts;
      if (disconnected_since_ == Clock::time_point{}) disconnected_since_ = Clock::now();
    });
    phase_ = Phase::waiting;
    const auto wait = backoff_.after(++failures_);
    retry_at_ = Clock::now() + wait;
    char retry[64];
    std::snprintf(retry, sizeof retry, "; retrying in %.3f s",
                  std::chrono::duration<double>(wait).count());
    problems_.report(why + retry);
  }

  void close() {
    if (phase_ == Phase::open) {
      ++generation_;
      const auto closed = [](beast::error_code) {};
      if (secure_) secure_->async_close(websocket::close_code::normal, closed);
      if (plain_) plain_->async_close(websocket::close_code::normal, closed);
      io_.restart();
      io_.run_for(std::chrono::milliseconds(500));
    }
    phase_ = Phase::waiting;
    retry_at_ = Clock::time_point::max();
  }

  const WebSocketSourceConfig& config_;
  std::string name_;
  Format format_;
  std::uint32_t index_;
  SourceOptions options_;
  WebSocketEndpoint endpoint_;
  std::string host_header_;
  std::unique_ptr<Decoder> framer_;
  simdjson::ondemand::parser json_;

  net::io_context io_;
  net::ssl::context ssl_;
  tcp::resolver resolver_;
  std::optional<PlainStream> plain_;
  std::optional<SecureStream> secure_;
  beast::flat_buffer buffer_;
  websocket::response_type response_;
  std::uint64_t generation_ = 0;  // handlers of an older connection see another number
  Phase phase_ = Phase::idle;
  Backoff backoff_;
  std::uint32_t failures_ = 0;  // failed attempts since the last open connection
  ProblemLog problems_;
  Clock::time_point retry_at_{};

  std::shared_ptr<std::string> pending_;
  std::uint64_t pending_records_ = 0;
  Clock::time_point first_record_at_{};
  Clock::time_point last_message_at_{};
  bool ready_ = false;
  bool ended_ = false;
  std::uint64_t offset_ = 0;
  std::uint64_t total_records_ = 0;
  std::optional<std::int64_t> last_sequence_;

  mutable std::mutex statistics_mutex_;
  WebSocketStatistics statistics_;
  /// When the connection was lost (or first attempted); cleared once open. Under the mutex.
  Clock::time_point disconnected_since_{};
};

WebSocketSource::WebSocketSource(const SourceConfig& config, std::uint32_t index,
                                 const Schema& schema, const SourceOptions& options)
    : client_(std::make_unique<Client>(config, index, schema, options)) {}

WebSocketSource::~WebSocketSource() = default;

bool WebSocketSource::next(RawChunk& chunk) {
  return client_->next(chunk);
}
Format WebSocketSource::format() const {
  return client_->format();
}
const std::string& WebSocketSource::name() const {
  return client_->name();
}
std::uint64_t WebSocketSource::bytes_read() const {
  return client_->bytes_read();
}
WebSocketStatistics WebSocketSource::snapshot() const {
  return client_->snapshot();
}

void WebSocketSource::statistics(std::vector<SourceCounter>& out) const {
  const WebSocketStatistics s = snapshot();
  out.push_back({"messages", s.messages});
  out.push_back({"connects", s.connects});
  out.push_back({"disconnects", s.disconnects});
  out.push_back({"failed_attempts", s.failed_attempts});
  out.push_back({"lost", s.lost});
  out.push_back({"sequence_regressions", s.sequence_regressions});
  out.push_back({"partial_messages", s.partial_messages});
  out.push_back({"pings", s.pings});
  out.push_back({"pongs", s.pongs});
  out.push_back({"disconnected_ms", s.disconnected_ms});
}

}  // namespace ldh
