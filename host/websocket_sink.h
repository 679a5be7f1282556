#pragma once

// The WebSocket broadcast destination (`type: websocket`): a server on its own thread that
// streams every result line and alert to all clients connected to its endpoint. Each client
// has a bounded queue, so a slow client only loses its own messages (counted, and told to it
// with a {"dropped": n} message) and never stalls the pipeline.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "host/sink.h"
#include "pipeline/config.h"

namespace ldh {

/// What the server did, over all clients.
struct WebSocketSinkCounters {
  std::uint64_t messages = 0;     // messages formed while at least one client was connected
  std::uint64_t oversized = 0;    // result lines longer than maxMessageBytes, never sent
  std::uint64_t connections = 0;  // clients accepted
  std::uint64_t refused = 0;      // upgrade requests answered 401, 404, 426 or 400
  std::uint64_t clients = 0;      // connected now
  std::uint64_t sent = 0;         // messages written to clients, all clients together
  std::uint64_t dropped = 0;      // messages lost by clients that fell behind
};

/// One connected client.
struct WebSocketClientCounters {
  std::string peer;  // address:port
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;
  std::uint64_t queued = 0;  // waiting to be written now
};

/// Streams result lines to WebSocket clients. write() only queues (never waits for a client);
/// a client whose queue holds clientQueue messages loses the newer ones until it has room again,
/// and is then sent {"dropped": n} just before the message that follows the gap.
class WebSocketSink final : public Sink {
 public:
  /// Binds and starts listening (and logs the URL to stderr). Throws UserError when the address
  /// cannot be bound.
  explicit WebSocketSink(const WebSocketSinkConfig& config);
  ~WebSocketSink() override;
  WebSocketSink(const WebSocketSink&) = delete;
  WebSocketSink& operator=(const WebSocketSink&) = delete;

  void write(std::string_view text) override;
  void flush() override {}
  /// Stops accepting, lets clients take what is queued for them (up to drainTimeout), then
  /// closes every connection normally.
  void finish() override;
  /// Returns ws://ADDRESS:PORT/ENDPOINT.
  std::string describe() const override;
  void statistics(std::vector<SinkCounter>& out) const override;

  /// Returns the bound port (the one the kernel chose when the config says 0).
  std::uint16_t port() const;
  WebSocketSinkCounters counters() const;
  std::vector<WebSocketClientCounters> client_counters() const;

 private:
  class Server;
  std::unique_ptr<Server> server_;
};

}  // namespace ldh
