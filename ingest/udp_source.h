#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "ingest/source.h"
#include "pipeline/config.h"
#include "pipeline/schema.h"

namespace ldh {

/// Counts what one socket of a UDP source received and what the kernel dropped before it.
struct UdpSocketStatistics {
  std::uint64_t datagrams = 0;
  std::uint64_t bytes = 0;
  /// Datagrams the kernel dropped for this socket since it was opened, mostly because its
  /// receive buffer was full (SO_RXQ_OVFL on received datagrams, SO_MEMINFO when idle).
  std::uint64_t kernel_drops = 0;
};

/// Counts what a UDP source received, handed on and lost, so a run can account for every
/// datagram a sender sent: datagrams + kernel_drops (+ unread_at_end) == sent.
struct UdpSourceStatistics {
  /// The port the sockets are bound to.
  std::uint16_t port = 0;
  std::uint64_t receive_buffer_requested = 0;
  /// SO_RCVBUF per socket as the kernel reports it: its doubled figure, which includes the
  /// kernel's bookkeeping, capped by net.core.rmem_max.
  std::uint64_t receive_buffer_granted = 0;
  std::uint64_t datagrams = 0;
  std::uint64_t bytes = 0;
  /// Records in the datagrams: whole ones, plus one per bad tail that becomes a dead letter.
  std::uint64_t records = 0;
  /// Datagrams that do not end on a record boundary (a truncated frame or message, a broken
  /// length prefix); each ends its chunk so the decoders dead-letter the bad tail.
  std::uint64_t partial_datagrams = 0;
  std::uint64_t kernel_drops = 0;
  /// Datagrams still queued in the kernel when the source ended: read and counted, not decoded.
  std::uint64_t unread_at_end = 0;
  /// Chunks handed on through next().
  std::uint64_t chunks = 0;
  std::vector<UdpSocketStatistics> sockets;
};

/// Receives datagrams of whole records (binary frames, length-delimited protobuf messages or
/// JSON lines) on a UDP port, with one SO_REUSEPORT socket and receive thread per configured
/// thread, reading up to 64 datagrams per recvmmsg call. Each thread cuts its datagrams into
/// chunks of about chunk_records records, or hands a partial chunk on after
/// max_batch_latency; next() returns the chunks in the order they were cut. Ends when stop is
/// set, when the configured number of records arrived, or after the configured idle time.
/// See docs/sources.md.
class UdpSource final : public Source {
 public:
  /// Opens and binds the sockets; receiving starts on the first next(), and datagrams that
  /// arrive before it wait in the kernel's buffer. Throws UserError when the address cannot be
  /// bound.
  UdpSource(const SourceConfig& config, std::uint32_t index, const Schema& schema,
            const SourceOptions& options);
  ~UdpSource() override;

  UdpSource(const UdpSource&) = delete;
  UdpSource& operator=(const UdpSource&) = delete;

  bool next(RawChunk& chunk) override;
  Format format() const override { return format_; }
  const std::string& name() const override { return name_; }
  std::uint64_t bytes_read() const override;

  /// Returns false: datagrams cannot be read again, so chunks go on in arrival order.
  bool replayable() const override { return false; }
  /// Stops reading the sockets while paused, so the kernel drops (and counts) what overflows
  /// their buffers instead of the process buffering without bound.
  void set_paused(bool paused) override;
  /// Appends the counters of statistics() as udp_datagrams, udp_kernel_drops, ...
  void statistics(std::vector<SourceCounter>& out) const override;

  /// Returns the bound port (the one the kernel chose when the config says 0).
  std::uint16_t port() const { return port_; }
  /// Returns a snapshot of the counters; any thread may call it at any time.
  UdpSourceStatistics statistics() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Receiver;

  void start();
  void receive(Receiver& receiver);
  void take(Receiver& receiver, unsigned count);
  void append(Receiver& receiver, std::span<const std::byte> datagram);
  void wait_for_datagrams(Receiver& receiver);
  /// Reads the socket's drop counter (SO_MEMINFO), which also sees drops after the last
  /// datagram; unless `always`, at most once per poll interval.
  void refresh_kernel_drops(Receiver& receiver, Clock::time_point now, bool always);
  void wait_while_paused(Receiver& receiver);
  bool hand_on_when_due(Receiver& receiver, Clock::time_point now);
  void hand_on(Receiver& receiver);
  void finish(Receiver& receiver);
  bool ending() const;

  std::string name_;
  Format format_;
  std::uint32_t index_;
  SourceOptions options_;
  UdpSourceConfig config_;
  std::chrono::nanoseconds max_batch_latency_;
  std::uint16_t port_ = 0;
  std::uint64_t receive_buffer_granted_ = 0;
  std::vector<std::unique_ptr<Receiver>> receivers_;
  bool started_ = false;

  /// Set when the configured record count or idle time is reached, or a receiver failed.
  std::atomic<bool> ended_{false};
  std::atomic<bool> paused_{false};
  /// Set by the destructor: threads end at once, without handing anything on.
  std::atomic<bool> quit_{false};
  std::atomic<std::uint64_t> records_{0};
  /// steady_clock ticks of the latest datagram (or of the start), for endAfterIdle.
  std::atomic<std::int64_t> last_arrival_{0};

  mutable std::mutex mutex_;
  std::condition_variable chunk_ready_;
  std::condition_variable space_ready_;
  std::condition_variable resumed_;
  std::deque<RawChunk> queue_;
  std::size_t queue_limit_ = 0;
  std::size_t running_ = 0;
  std::uint64_t stream_offset_ = 0;
  std::uint64_t chunks_ = 0;
  std::exception_ptr error_;
};

}  // namespace ldh
