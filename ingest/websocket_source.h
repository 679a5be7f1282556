#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ingest/source.h"
#include "pipeline/config.h"
#include "pipeline/schema.h"

namespace ldh {

/// What a WebSocket source received and lost.
struct WebSocketStatistics {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t records = 0;
  std::uint64_t connects = 0;     // handshakes that succeeded
  std::uint64_t disconnects = 0;  // open connections that ended
  std::uint64_t failed_attempts = 0;
  /// Records missing by the sequence field: the sum of the gaps seen (JSON with sequenceField).
  std::uint64_t lost = 0;
  /// Records whose sequence number did not move forward (a server that restarted or replays).
  std::uint64_t sequence_regressions = 0;
  std::uint64_t pings = 0;  // from the server (answered by the library)
  std::uint64_t pongs = 0;  // answers to our keep-alive pings
  /// Messages that did not end on a record boundary; their tails become dead letters.
  std::uint64_t partial_messages = 0;
  std::uint64_t disconnected_ms = 0;
};

/// Reads a WebSocket feed (the seed's `{type: websocket, endpoint, protocol}`): text or binary
/// messages holding whole records, a subprotocol, keep-alive pings, and reconnection with
/// exponential backoff and jitter when the peer goes away. With `sequenceField`, JSON records
/// carry a counter from the server, and the gaps across a disconnect are counted as lost.
/// Runs Boost.Beast on an io_context that next() drives, so all of it is on one thread.
class WebSocketSource final : public Source {
 public:
  /// Checks the endpoint and prepares TLS; connecting starts on the first next(). Throws
  /// UserError for a bad endpoint or CA file.
  WebSocketSource(const SourceConfig& config, std::uint32_t index, const Schema& schema,
                  const SourceOptions& options);
  ~WebSocketSource() override;
  WebSocketSource(const WebSocketSource&) = delete;
  WebSocketSource& operator=(const WebSocketSource&) = delete;

  bool next(RawChunk& chunk) override;
  Format format() const override;
  const std::string& name() const override;
  std::uint64_t bytes_read() const override;
  bool replayable() const override { return false; }
  void statistics(std::vector<SourceCounter>& out) const override;

  WebSocketStatistics snapshot() const;

 private:
  class Client;
  std::unique_ptr<Client> client_;
};

}  // namespace ldh
