#include "host/websocket_sink.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "pipeline/error.h"

namespace ldh {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

using Clock = std::chrono::steady_clock;
using Message = std::shared_ptr<const std::string>;

constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr std::uint32_t kMaxRequestHeaderBytes = 16u << 10;
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kIdleTimeout = std::chrono::seconds(60);
// After the drain timeout, connections are cut; this long is left for their handlers to end.
constexpr auto kCloseGrace = std::chrono::seconds(2);

/// Compares without an early exit, so the time taken tells nothing about the token.
bool same_secret(std::string_view given, std::string_view expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  }
  return difference == 0;
}

/// Tells whether an Authorization header carries `token` as a bearer token.
bool has_bearer_token(std::string_view header, const std::string& token) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return false;
  }
  header.remove_prefix(kScheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  return same_secret(header, token);
}

std::string_view as_view(beast::string_view text) {
  return {text.data(), text.size()};
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const net::ip::address address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace

class WebSocketSink::Server {
 public:
  explicit Server(const WebSocketSinkConfig& config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void broadcast(std::string_view text);
  void finish();

  std::uint16_t port() const { return port_; }
  const std::string& url() const { return url_; }
  WebSocketSinkCounters counters() const;
  std::vector<WebSocketClientCounters> client_counters() const;

 private:
  class Session;

  void accept();
  /// Cuts `text` into messages of up to message_lines lines and max_message_bytes bytes.
  std::vector<Message> messages_of(std::string_view text);
  /// Closes every connection at once (io thread).
  void cut_all();

  WebSocketSinkConfig config_;
  net::io_context io_;
  // Keeps the io thread running while no connection or accept is pending.
  net::executor_work_guard<net::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::string url_;
  mutable std::mutex mutex_;
  std::condition_variable sessions_changed_;
  // Below: under mutex_.
  std::vector<std::shared_ptr<Session>> sessions_;
  WebSocketSinkCounters counters_;
  bool finishing_ = false;
  bool oversize_reported_ = false;
  std::thread thread_;
};

/// One connection: the HTTP upgrade, then a read loop (control frames, close) and a write
/// chain that takes messages from the queue one at a time. Beast calls run on the io thread;
/// the queue and counters are shared with write() under the server's mutex.
class WebSocketSink::Server::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, tcp::socket socket) : server_(server), ws_(std::move(socket)) {
    beast::error_code ignored;
    const tcp::endpoint remote = beast::get_lowest_layer(ws_).socket().remote_endpoint(ignored);
    peer_ = endpoint_text(remote);
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
  }

  void start() {
    parser_.emplace();
    parser_->header_limit(kMaxRequestHeaderBytes);
    beast::get_lowest_layer(ws_).expires_after(kRequestTimeout);
    http::async_read(ws_.next_layer(), buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, std::size_t) {
                       self->on_request(error);
                     });
  }

  /// Queues `message` or counts it dropped (mutex held).
  void offer(const Message& message) {
    if (closing_ || gone_) return;
    if (queue_.size() >= server_.config_.client_queue) {
      ++dropped_;
      ++untold_;
      ++server_.counters_.dropped;
      return;
    }
    tell_dropped();
    queue_.push_back(message);
    wake();
  }

  /// Closes the connection once the queue is empty (mutex held).
  void close_when_drained() {
    if (gone_) return;
    closing_ = true;
    tell_dropped();
    wake();
  }

  /// Cuts the connection (io thread).
  void cut() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  WebSocketClientCounters counters() const {
    return {peer_, sent_, dropped_, static_cast<std::uint64_t>(queue_.size())};
  }

 private:
  void on_request(beast::error_code error) {
    if (error) {
      cut();
      return;
    }
    const auto& request = parser_->get();
    const auto given = request.target();
    std::string_view target(given.data(), given.size());
    target = target.substr(0, target.find('?'));
    if (target != server_.config_.endpoint) {
      refuse(http::status::not_found, "no WebSocket endpoint at this path\n");
      return;
    }
    if (!websocket::is_upgrade(request)) {
      refuse(http::status::upgrade_required, "this endpoint serves WebSocket clients only\n");
      return;
    }
    if (!server_.config_.token.empty() &&
        !has_bearer_token(as_view(request[http::field::authorization]), server_.config_.token)) {
      refuse(http::status::unauthorized, "a valid bearer token is required\n");
      return;
    }
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = kHandshakeTimeout;
    // Pings at half the idle time keep quiet clients (that only listen) connected, and find
    // dead ones.
    timeouts.idle_timeout = kIdleTimeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(http::field::server, "ldh/" LDH_VERSION);
    }));
    ws_.read_message_max(server_.config_.max_message_bytes);
    ws_.text(true);
    ws_.async_accept(request, [self = shared_from_this()](beast::error_code failed) {
      self->on_accept(failed);
    });
  }

  void refuse(http::status status, const char* text) {
    {
      std::lock_guard lock(server_.mutex_);
      ++server_.counters_.refused;
    }
    auto response = std::make_shared<http::response<http::string_body>>(status, 11);
    response->set(http::field::server, "ldh/" LDH_VERSION);
    response->set(http::field::content_type, "text/plain");
    if (status == http::status::unauthorized) {
      response->set(http::field::www_authenticate, "Bearer");
    }
    response->keep_alive(false);
    response->body() = text;
    response->prepare_payload();
    http::async_write(ws_.next_layer(), *response,
                      [self = shared_from_this(), response](beast::error_code, std::size_t) {
                        beast::error_code ignored;
                        beast::get_lowest_layer(self->ws_).socket().shutdown(
                            tcp::socket::shutdown_send, ignored);
                        self->cut();
                      });
  }

  void on_accept(beast::error_code error) {
    if (error) {
      cut();
      return;
    }
    {
      std::lock_guard lock(server_.mutex_);
      ++server_.counters_.connections;
      server_.sessions_.push_back(shared_from_this());
      server_.counters_.clients = server_.sessions_.size();
      // Accepted while the run ends: it gets nothing but a normal close.
      if (server_.finishing_) close_when_drained();
    }
    read();
  }

  void read() {
    // Clients have nothing to say; reading keeps ping, pong and close frames flowing.
    ws_.async_read(incoming_, [self = shared_from_this()](beast::error_code error, std::size_t) {
      if (error) {
        self->leave();
        return;
      }
      self->incoming_.clear();
      self->read();
    });
  }

  /// Puts the count of messages dropped since the last notice in the queue (mutex held).
  void tell_dropped() {
    if (untold_ == 0) return;
    queue_.push_back(
        std::make_shared<const std::string>("{\"dropped\":" + std::to_string(untold_) + "}"));
    untold_ = 0;
  }

  /// Starts the write chain unless it runs (mutex held).
  void wake() {
    if (writing_) return;
    writing_ = true;
    net::post(server_.io_, [self = shared_from_this()] { self->write_next(); });
  }

  void write_next() {
    bool close_now = false;
    {
      std::lock_guard lock(server_.mutex_);
      if (gone_) return;
      if (queue_.empty()) {
        if (!closing_) {
          writing_ = false;
          return;
        }
        close_now = true;
      } else {
        current_ = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (close_now) {
      ws_.async_close(websocket::close_code::normal,
                      [self = shared_from_this()](beast::error_code error) {
                        if (error) self->leave();
                        // Otherwise the read loop ends when the client answers the close.
                      });
      return;
    }
    ws_.async_write(net::buffer(*current_),
                    [self = shared_from_this()](beast::error_code error, std::size_t) {
                      if (error) {
                        self->leave();
                        return;
                      }
                      {
                        std::lock_guard lock(self->server_.mutex_);
                        ++self->sent_;
                        ++self->server_.counters_.sent;
                      }
                      self->current_.reset();
                      self->write_next();
                    });
  }

  /// Forgets the client (io thread); harmless when it already left.
  void leave() {
    {
      std::lock_guard lock(server_.mutex_);
      if (gone_) return;
      gone_ = true;
      queue_.clear();
      auto& sessions = server_.sessions_;
      std::erase_if(sessions, [this](const auto& session) { return session.get() == this; });
      server_.counters_.clients = sessions.size();
    }
    server_.sessions_changed_.notify_all();
    cut();
  }

  Server& server_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  beast::flat_buffer incoming_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::string peer_;
  Message current_;  // being written
  // Below: under the server's mutex.
  std::deque<Message> queue_;
  std::uint64_t sent_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t untold_ = 0;  // dropped since the last {"dropped": n}
  bool writing_ = false;      // the write chain runs
  bool closing_ = false;
  bool gone_ = false;
};

WebSocketSink::Server::Server(const WebSocketSinkConfig& config)
    : config_(config), work_(net::make_work_guard(io_)), acceptor_(io_) {
  const auto failed = [&](const std::string& what, const beast::error_code& error) {
    return UserError("websocket destination: " + what + " " + config_.bind + ":" +
                     std::to_string(config_.port) + ": " + error.message());
  };
  beast::error_code error;
  const net::ip::address address = net::ip::make_address(config_.bind, error);
  if (error) throw failed("cannot use the address", error);
  const tcp::endpoint endpoint(address, config_.port);
  acceptor_.open(endpoint.protocol(), error);
  if (error) throw failed("cannot open a socket for", error);
  acceptor_.set_option(net::socket_base::reuse_address(true), error);
  acceptor_.bind(endpoint, error);
  if (error) throw failed("cannot bind", error);
  acceptor_.listen(net::socket_base::max_listen_connections, error);
  if (error) throw failed("cannot listen on", error);
  const tcp::endpoint bound = acceptor_.local_endpoint(error);
  if (error) throw failed("cannot read the address of", error);
  port_ = bound.port();
  url_ = "ws://" + endpoint_text(bound) + config_.endpoint;
  std::fprintf(stderr, "ldh: websocket destination listening on %s\n", url_.c_str());
  accept();
  thread_ = std::thread([this] { io_.run(); });
}

WebSocketSink::Server::~Server() {
  net::post(io_, [this] { cut_all(); });
  {
    std::unique_lock lock(mutex_);
    sessions_changed_.wait_for(lock, kCloseGrace, [&] { return sessions_.empty(); });
  }
  io_.stop();
  thread_.join();
  sessions_.clear();
}

void WebSocketSink::Server::accept() {
  acceptor_.async_accept([this](beast::error_code error, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (!error) std::make_shared<Session>(*this, std::move(socket))->start();
    accept();
  });
}

void WebSocketSink::Server::cut_all() {
  beast::error_code ignored;
  acceptor_.close(ignored);
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mutex_);
    sessions = sessions_;
  }
  for (const auto& session : sessions) session->cut();
}

std::vector<Message> WebSocketSink::Server::messages_of(std::string_view text) {
  std::vector<Message> messages;
  std::string current;
  std::uint32_t lines = 0;
  std::uint64_t oversized = 0;
  std::size_t longest = 0;
  const auto close_message = [&] {
    if (lines == 0) return;
    messages.push_back(std::make_shared<const std::string>(std::move(current)));
    current = std::string();
    lines = 0;
  };
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (line.empty()) continue;
    if (line.size() > config_.max_message_bytes) {
      ++oversized;
      longest = std::max(longest, line.size());
      continue;
    }
    if (lines == config_.message_lines ||
        (lines > 0 && current.size() + 1 + line.size() > config_.max_message_bytes)) {
      close_message();
    }
    if (lines > 0) current.push_back('\n');
    current.append(line);
    ++lines;
  }
  close_message();
  if (oversized > 0) {
    std::lock_guard lock(mutex_);
    counters_.oversized += oversized;
    if (!oversize_reported_) {
      oversize_reported_ = true;
      std::fprintf(stderr,
                   "ldh: websocket destination %s: a result line of %zu bytes is over "
                   "maxMessageBytes (%llu) and is not sent; such lines are counted as oversized\n",
                   url_.c_str(), longest,
                   static_cast<unsigned long long>(config_.max_message_bytes));
    }
  }
  return messages;
}

void WebSocketSink::Server::broadcast(std::string_view text) {
  {
    std::lock_guard lock(mutex_);
    if (sessions_.empty() || finishing_) return;
  }
  const std::vector<Message> messages = messages_of(text);
  std::lock_guard lock(mutex_);
  if (finishing_) return;
  if (!sessions_.empty()) counters_.messages += messages.size();
  for (const auto& session : sessions_) {
    for (const auto& message : messages) session->offer(message);
  }
}

void WebSocketSink::Server::finish() {
  std::unique_lock lock(mutex_);
  if (finishing_) return;
  finishing_ = true;
  net::post(io_, [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
  });
  for (const auto& session : sessions_) session->close_when_drained();
  const auto deadline = Clock::now() + std::chrono::nanoseconds(config_.drain_timeout_ns);
  if (sessions_changed_.wait_until(lock, deadline, [&] { return sessions_.empty(); })) return;
  // Clients that did not take their messages in time are cut off.
  net::post(io_, [this] { cut_all(); });
  sessions_changed_.wait_for(lock, kCloseGrace, [&] { return sessions_.empty(); });
}

WebSocketSinkCounters WebSocketSink::Server::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

std::vector<WebSocketClientCounters> WebSocketSink::Server::client_counters() const {
  std::lock_guard lock(mutex_);
  std::vector<WebSocketClientCounters> clients;
  for (const auto& session : sessions_) clients.push_back(session->counters());
  return clients;
}

WebSocketSink::WebSocketSink(const WebSocketSinkConfig& config)
    : server_(std::make_unique<Server>(config)) {}

WebSocketSink::~WebSocketSink() = default;

void WebSocketSink::write(std::string_view text) {
  server_->broadcast(text);
}

void WebSocketSink::finish() {
  server_->finish();
}

std::string WebSocketSink::describe() const {
  return server_->url();
}

void WebSocketSink::statistics(std::vector<SinkCounter>& out) const {
  const WebSocketSinkCounters counted = server_->counters();
  out.push_back({"connections", counted.connections});
  out.push_back({"refused", counted.refused});
  out.push_back({"messages", counted.messages});
  out.push_back({"sent", counted.sent});
  out.push_back({"dropped", counted.dropped});
  out.push_back({"oversized", counted.oversized});
}

std::uint16_t WebSocketSink::port() const {
  return server_->port();
}

WebSocketSinkCounters WebSocketSink::counters() const {
  return server_->counters();
}

std::vector<WebSocketClientCounters> WebSocketSink::client_counters() const {
  return server_->client_counters();
}

}  // namespace ldh
