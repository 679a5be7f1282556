#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ingest/source.h"
#include "pipeline/config.h"
#include "pipeline/memory.h"
#include "pipeline/schema.h"

struct rte_mbuf;
struct rte_mempool;

namespace ldh {

/// Counts what one RX queue of a DPDK source polled.
struct DpdkQueueStatistics {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

/// Counts what the polling threads of a DPDK source did with the frames they polled (each
/// thread keeps its own and publishes them once per burst).
struct DpdkFrameCounts {
  /// Frames polled from the queues and their bytes.
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  /// UDP/IPv4 datagrams whose payload was taken, and the payload bytes.
  std::uint64_t datagrams = 0;
  std::uint64_t payload_bytes = 0;
  /// Records in the payloads: whole ones, plus one per bad tail that becomes a dead letter.
  std::uint64_t records = 0;
  /// Payloads that do not end on a record boundary; each ends its chunk so the decoders
  /// dead-letter the bad tail.
  std::uint64_t partial_payloads = 0;
  /// Frames set aside: other protocols (ARP, IPv6, TCP, ...), UDP to another port than
  /// `udpPort`, IPv4 fragments (not reassembled), and frames whose headers are broken (bad
  /// version, header or datagram lengths, checksums the port found bad).
  std::uint64_t not_udp_ipv4 = 0;
  std::uint64_t other_udp_port = 0;
  std::uint64_t fragments = 0;
  std::uint64_t malformed_frames = 0;
  /// Frames polled while the source was stopping that found no chunk buffer any more.
  std::uint64_t discarded_at_stop = 0;
  /// Times a queue thread found every chunk buffer taken and waited (the port then drops and
  /// counts in imissed what overflows its ring).
  std::uint64_t buffer_waits = 0;

  DpdkFrameCounts& operator+=(const DpdkFrameCounts& other);
};

/// Counts what a DPDK source received, took and set aside, so a run can account for every
/// packet: the port's own counters (rte_eth_stats) say what reached the port and what it
/// dropped; the source's say what became of each polled frame.
struct DpdkSourceStatistics : DpdkFrameCounts {
  std::uint16_t port = 0;
  /// The driver name (net_pcap, net_af_packet, net_ice, ...).
  std::string driver;
  /// Whether traffic is spread over the queues by the port's RSS (IP and UDP hash).
  bool rss = false;
  /// rte_eth_stats of the port: frames and bytes received, frames the port dropped because
  /// the RX ring was full (imissed), bad frames (ierrors) and allocation failures (rx_nombuf).
  std::uint64_t port_packets = 0;
  std::uint64_t port_bytes = 0;
  std::uint64_t port_missed = 0;
  std::uint64_t port_errors = 0;
  std::uint64_t port_no_mbuf = 0;
  /// Chunks handed on through next().
  std::uint64_t chunks = 0;
  std::vector<DpdkQueueStatistics> queues;
};

/// Receives UDP/IPv4 datagrams from a DPDK port: binary frames or length-delimited protobuf
/// messages as payloads (docs/formats.md), several records per datagram. The EAL starts once
/// per process from the config's arguments; the port gets one RX queue per configured queue,
/// with RSS over IP addresses and UDP ports where the port supports it, and one polling thread
/// per queue. Each frame's Ethernet (optionally VLAN-tagged), IPv4 and UDP headers are checked,
/// and its payload is copied from the mbuf straight into a chunk buffer allocated once (pinned
/// when the given memory is); mbufs are freed a burst at a time. A queue thread hands its chunk
/// on after about chunk_records records, when the buffer is full, after max_batch_latency, or
/// at once on an empty poll with flush_partial. Ends when stop is set, after `events` records,
/// or after `endAfterIdle` without a packet. See docs/dpdk.md.
class DpdkSource final : public Source {
 public:
  /// Starts the EAL (first DPDK source of the process), configures and starts the port and
  /// allocates the chunk buffers from `memory`; receiving starts on the first next(). Throws
  /// UserError when the EAL fails, when another DPDK source started it with other arguments,
  /// or when the port is missing or cannot take the configuration.
  DpdkSource(const SourceConfig& config, std::uint32_t index, const Schema& schema,
             const SourceOptions& options, HostMemoryResource& memory);
  ~DpdkSource() override;

  DpdkSource(const DpdkSource&) = delete;
  DpdkSource& operator=(const DpdkSource&) = delete;

  bool next(RawChunk& chunk) override;
  Format format() const override { return format_; }
  const std::string& name() const override { return name_; }
  std::uint64_t bytes_read() const override;
  bool replayable() const override { return false; }
  /// Stops polling while flow control blocks the source: the port's ring fills and what
  /// overflows it is counted in imissed.
  void set_paused(bool paused) override;
  void statistics(std::vector<SourceCounter>& out) const override;

  /// Returns a snapshot of the counters; any thread may call it at any time.
  DpdkSourceStatistics snapshot() const;

 private:
  struct Queue;
  class BufferPool;
  /// The port's rte_eth_stats counters that snapshot() reports.
  struct PortCounters {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t missed = 0;
    std::uint64_t errors = 0;
    std::uint64_t no_mbuf = 0;
  };

  void configure_port(const SourceConfig& config);
  void start();
  void poll(Queue& queue);
  void take(Queue& queue, const rte_mbuf* mbuf);
  bool reserve(Queue& queue, std::size_t bytes);
  void hand_on(Queue& queue);
  void finish(Queue& queue);
  void stop_port();
  bool ending() const;

  std::string name_;
  Format format_;
  std::uint32_t index_;
  SourceOptions options_;
  DpdkSourceConfig config_;
  std::string driver_;
  bool rss_ = false;
  rte_mempool* mempool_ = nullptr;
  std::shared_ptr<BufferPool> buffers_;
  std::vector<std::unique_ptr<Queue>> queues_;
  bool started_ = false;

  /// Set when stop, `events` or `endAfterIdle` ends the source, a queue thread failed, or the
  /// source is destroyed.
  std::atomic<bool> ended_{false};
  std::atomic<bool> paused_{false};
  std::atomic<std::uint64_t> records_{0};
  /// steady_clock ticks of the latest packet (or of the start), for endAfterIdle.
  std::atomic<std::int64_t> last_arrival_{0};

  mutable std::mutex mutex_;
  std::condition_variable chunk_ready_;
  std::deque<RawChunk> ready_;
  std::size_t running_ = 0;
  std::uint64_t stream_offset_ = 0;
  std::uint64_t chunks_ = 0;
  std::exception_ptr error_;
  /// Queue threads still polling; the last one to finish stops the port.
  std::atomic<std::size_t> unfinished_{0};

  mutable std::mutex port_mutex_;
  bool port_started_ = false;
  /// The port's counters when it stopped.
  PortCounters final_port_;
};

}  // namespace ldh
