#include "ingest/dpdk_source.h"

#ifdef LDH_HAVE_DPDK

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <thread>

// DPDK's C headers trip C++20 warnings (volatile increments, a function named like a struct).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wvolatile"
#pragma GCC diagnostic ignored "-Wshadow"
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#pragma GCC diagnostic pop

#include "ingest/decoder.h"
#include "ingest/pcap_writer.h"
#include "pipeline/error.h"

namespace ldh {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint16_t kEtherTypeVlan = 0x8100;
constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;
constexpr std::uint8_t kProtocolUdp = 17;
constexpr std::size_t kEthernetHeaderBytes = 14;
constexpr std::size_t kVlanTagBytes = 4;
constexpr std::size_t kMaxVlanTags = 2;
constexpr std::size_t kMinIpv4HeaderBytes = 20;
constexpr std::size_t kMaxIpv4HeaderBytes = 60;
constexpr std::size_t kUdpHeaderBytes = 8;
constexpr std::size_t kMaxHeaderBytes =
    kEthernetHeaderBytes + kMaxVlanTags * kVlanTagBytes + kMaxIpv4HeaderBytes + kUdpHeaderBytes;
// More-fragments flag and fragment offset of the IPv4 flags field.
constexpr std::uint16_t kFragmentBits = 0x3fff;
constexpr std::size_t kMaxBurst = 512;
constexpr unsigned kMempoolCache = 256;
// Queue threads wake at least this often to notice stop and the end conditions.
constexpr auto kStopPoll = std::chrono::milliseconds(100);
constexpr auto kPausedPoll = std::chrono::milliseconds(1);

std::uint16_t load_big16(const std::uint8_t* bytes) {
  return static_cast<std::uint16_t>(bytes[0] << 8 | bytes[1]);
}

std::int64_t ticks(Clock::time_point time) {
  return time.time_since_epoch().count();
}

std::string join(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) {
    if (!text.empty()) text += ' ';
    text += word;
  }
  return text.empty() ? "(none)" : text;
}

/// Starts the EAL on the first call and checks that later calls ask for the same arguments:
/// rte_eal_init can run once per process, even after it failed.
void start_eal(const std::vector<std::string>& arguments, const SourceConfig& source) {
  static std::mutex mutex;
  static std::optional<std::vector<std::string>> started_with;
  static std::string failure;
  std::lock_guard lock(mutex);
  if (started_with) {
    if (*started_with != arguments) {
      throw ConfigError(source.where,
                        "source '" + source.name +
                            "': the DPDK EAL is already started in this process with other "
                            "arguments (" +
                            join(*started_with) +
                            "); every dpdk source of a run must give the same 'eal' list");
    }
    if (!failure.empty()) throw UserError(failure);
    return;
  }
  started_with = arguments;
  // rte_eal_init keeps pointers into argv: the strings live as long as the process.
  static std::vector<std::string> owned;
  owned.clear();
  owned.push_back("ldh");
  bool log_level_given = false;
  for (const auto& argument : arguments) {
    if (argument.starts_with("--log-level")) log_level_given = true;
  }
  if (!log_level_given) owned.push_back("--log-level=warning");
  owned.insert(owned.end(), arguments.begin(), arguments.end());
  static std::vector<char*> argv;
  argv.clear();
  for (auto& argument : owned) argv.push_back(argument.data());
  argv.push_back(nullptr);
  // EAL messages would otherwise go to standard output, which may carry the results.
  rte_openlog_stream(stderr);
  // rte_eal_init pins the calling thread to the main lcore; threads ldh starts later inherit
  // the calling thread's CPU set, so it is given back.
  cpu_set_t cpus;
  const bool saved = pthread_getaffinity_np(pthread_self(), sizeof(cpus), &cpus) == 0;
  const int result = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
  const int error = rte_errno;
  if (saved) pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
  if (result < 0) {
    failure = "source '" + source.name + "': the DPDK EAL did not start: " + rte_strerror(error) +
              " (eal: " + join(arguments) + "; see the EAL messages above and docs/dpdk.md)";
    throw UserError(failure);
  }
}

/// Returns a pool of at least `mbufs` packet buffers for `port`. Pools are kept for the whole
/// process: a stopped port's queues still point at theirs until they are set up again, and a
/// later source on the same port reuses one that is large enough.
rte_mempool* port_mempool(std::uint16_t port, unsigned mbufs, int socket,
                          const std::string& source) {
  static std::mutex mutex;
  struct Pool {
    std::uint16_t port;
    unsigned size;
    rte_mempool* pool;
  };
  static std::vector<Pool> pools;
  std::lock_guard lock(mutex);
  for (const auto& pool : pools) {
    if (pool.port == port && pool.size >= mbufs) return pool.pool;
  }
  const std::string name = "ldh_p" + std::to_string(port) + "_" + std::to_string(pools.size());
  const unsigned cache = std::min(kMempoolCache, mbufs / 4);
  rte_mempool* pool =
      rte_pktmbuf_pool_create(name.c_str(), mbufs, cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool == nullptr) {
    throw UserError("source '" + source + "': cannot create a pool of " + std::to_string(mbufs) +
                    " mbufs for DPDK port " + std::to_string(port) + ": " +
                    rte_strerror(rte_errno) + " (give the EAL more memory with -m or hugepages)");
  }
  pools.push_back({port, mbufs, pool});
  return pool;
}

/// Returns 2^k - 1 >= `count` (the size rte_mempool is most economical with).
unsigned mempool_size(unsigned count) {
  unsigned size = 1;
  while (size - 1 < count) size <<= 1;
  return size - 1;
}

/// Registers the calling thread with the EAL for its lifetime, so mbuf allocation and freeing
/// go through a per-thread mempool cache.
class EalThread {
 public:
  EalThread() : registered_(rte_thread_register() == 0) {}
  ~EalThread() {
    if (registered_) rte_thread_unregister();
  }
  EalThread(const EalThread&) = delete;
  EalThread& operator=(const EalThread&) = delete;

 private:
  bool registered_;
};

}  // namespace

/// Chunk buffers allocated once; a buffer handed on in a RawChunk comes back when the last
/// holder of the chunk drops it.
class DpdkSource::BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  BufferPool(std::size_t count, std::size_t bytes, HostMemoryResource& memory) {
    buffers_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      buffers_.emplace_back(bytes, memory);
      free_.push_back(static_cast<std::byte*>(buffers_.back().data()));
    }
  }

  /// Takes a free buffer, waiting up to `wait` for one; nullptr when none came back.
  std::byte* acquire(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    if (!returned_.wait_for(lock, wait, [&] { return !free_.empty(); })) return nullptr;
    std::byte* buffer = free_.back();
    free_.pop_back();
    return buffer;
  }

  /// Returns an owner of `buffer` that gives it back to the pool when the last copy goes.
  std::shared_ptr<const void> own(std::byte* buffer) {
    return std::shared_ptr<const void>(
        buffer, [pool = shared_from_this()](const void* data) { pool->give_back(data); });
  }

  /// Gives an acquired buffer back without handing it on.
  void give_back(const void* data) {
    {
      std::lock_guard lock(mutex_);
      free_.push_back(static_cast<std::byte*>(const_cast<void*>(data)));
    }
    returned_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<Buffer> buffers_;
  std::vector<std::byte*> free_;
};

DpdkFrameCounts& DpdkFrameCounts::operator+=(const DpdkFrameCounts& other) {
  packets += other.packets;
  bytes += other.bytes;
  datagrams += other.datagrams;
  payload_bytes += other.payload_bytes;
  records += other.records;
  partial_payloads += other.partial_payloads;
  not_udp_ipv4 += other.not_udp_ipv4;
  other_udp_port += other.other_udp_port;
  fragments += other.fragments;
  malformed_frames += other.malformed_frames;
  discarded_at_stop += other.discarded_at_stop;
  buffer_waits += other.buffer_waits;
  return *this;
}

/// One RX queue and the state of the thread that polls it. The published counters are for
/// snapshot(); the rest belongs to the polling thread.
struct DpdkSource::Queue {
  /// Counts kept by the polling thread and published once per burst.
  using Tally = DpdkFrameCounts;

  void publish() {
    std::lock_guard lock(published_mutex);
    published = tally;
  }
  Tally read() const {
    std::lock_guard lock(published_mutex);
    return published;
  }

  std::uint16_t id = 0;
  std::thread thread;
  std::unique_ptr<Decoder> framer;
  std::byte* buffer = nullptr;
  std::size_t used = 0;
  std::uint64_t block_records = 0;
  Clock::time_point block_started{};
  Tally tally;

  mutable std::mutex published_mutex;
  Tally published;
};

DpdkSource::DpdkSource(const SourceConfig& config, std::uint32_t index, const Schema& schema,
                       const SourceOptions& options, HostMemoryResource& memory)
    : name_(config.name),
      format_(config.format),
      index_(index),
      options_(options),
      config_(config.dpdk) {
  if (format_ == Format::json) {
    throw ConfigError(config.where,
                      "source '" + name_ + "': a dpdk source reads binary or protobuf payloads");
  }
  LDH_EXPECTS(config_.queues >= 1 && config_.burst >= 1 && config_.burst <= kMaxBurst &&
                  config_.buffer_bytes >= kMaxUdpPayloadBytes &&
                  (config_.cores.empty() || config_.cores.size() == config_.queues),
              "dpdk queues, burst, bufferSize and cores are checked by the config loader");
  buffers_ = std::make_shared<BufferPool>(std::size_t{config_.buffers} * config_.queues,
                                          config_.buffer_bytes, memory);
  for (std::uint32_t q = 0; q < config_.queues; ++q) {
    auto queue = std::make_unique<Queue>();
    queue->id = static_cast<std::uint16_t>(q);
    queue->framer = make_decoder(format_, schema);
    queues_.push_back(std::move(queue));
  }
  start_eal(config_.eal, config);
  // Last: nothing after the port starts can throw, so a started port always has an owner.
  configure_port(config);
}

DpdkSource::~DpdkSource() {
  ended_ = true;
  for (auto& queue : queues_) {
    if (queue->thread.joinable()) queue->thread.join();
  }
  stop_port();
}

void DpdkSource::configure_port(const SourceConfig& config) {
  const std::uint16_t port = config_.port;
  const std::string prefix = "source '" + name_ + "': DPDK port " + std::to_string(port);
  if (!rte_eth_dev_is_valid_port(port)) {
    throw ConfigError(config.where,
                      prefix + " does not exist (" + std::to_string(rte_eth_dev_count_avail()) +
                          " ports found); give a virtual device with --vdev or bind a NIC to "
                          "vfio-pci (docs/dpdk.md)");
  }
  auto check = [&](int result, const std::string& what) {
    if (result < 0) throw UserError(prefix + ": " + what + ": " + rte_strerror(-result));
  };
  rte_eth_dev_info info{};
  check(rte_eth_dev_info_get(port, &info), "cannot read the device information");
  driver_ = info.driver_name != nullptr ? info.driver_name : "unknown";
  if (config_.queues > info.max_rx_queues) {
    throw ConfigError(config.where, prefix + " (" + driver_ + ") has at most " +
                                        std::to_string(info.max_rx_queues) +
                                        " RX queues; the config asks for " +
                                        std::to_string(config_.queues));
  }
  rte_eth_conf settings{};
  const std::uint64_t hash = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
  if (config_.queues > 1 && hash != 0) {
    settings.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    settings.rx_adv_conf.rss_conf.rss_key = nullptr;  // the driver's default key
    settings.rx_adv_conf.rss_conf.rss_hf = hash;
    rss_ = true;
  }
  // Checksums the port verifies mark bad frames, which take() sets aside as malformed.
  settings.rxmode.offloads =
      (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM) & info.rx_offload_capa;
  check(rte_eth_dev_configure(port, static_cast<std::uint16_t>(config_.queues), 0, &settings),
        "cannot configure " + std::to_string(config_.queues) + " RX queues");
  std::uint16_t descriptors = static_cast<std::uint16_t>(config_.rx_descriptors);
  std::uint16_t transmit_descriptors = 0;
  check(rte_eth_dev_adjust_nb_rx_tx_desc(port, &descriptors, &transmit_descriptors),
        "cannot fit " + std::to_string(config_.rx_descriptors) + " RX descriptors");
  int socket = rte_eth_dev_socket_id(port);
  if (socket < 0) socket = SOCKET_ID_ANY;
  unsigned mbufs = config_.mempool;
  if (mbufs == 0) {
    // Every ring full, a burst in every thread's hands, and every per-thread cache full.
    const unsigned per_queue = descriptors + config_.burst + kMempoolCache;
    mbufs = mempool_size(std::max(8191u, config_.queues * per_queue + kMempoolCache));
  }
  mempool_ = port_mempool(port, mbufs, socket, name_);
  for (std::uint32_t q = 0; q < config_.queues; ++q) {
    check(rte_eth_rx_queue_setup(port, static_cast<std::uint16_t>(q), descriptors,
                                 static_cast<unsigned>(socket), nullptr, mempool_),
          "cannot set up RX queue " + std::to_string(q));
  }
  if (config_.promiscuous) check(rte_eth_promiscuous_enable(port), "cannot enable promiscuous");
  check(rte_eth_dev_start(port), "cannot start");
  rte_eth_stats_reset(port);
  std::lock_guard lock(port_mutex_);
  port_started_ = true;
}

void DpdkSource::stop_port() {
  std::lock_guard lock(port_mutex_);
  if (!port_started_) return;
  rte_eth_stats stats{};
  if (rte_eth_stats_get(config_.port, &stats) == 0) {
    final_port_ = {stats.ipackets, stats.ibytes, stats.imissed, stats.ierrors, stats.rx_nombuf};
  }
  rte_eth_dev_stop(config_.port);
  port_started_ = false;
}

void DpdkSource::start() {
  started_ = true;
  last_arrival_ = ticks(Clock::now());
  std::lock_guard lock(mutex_);
  running_ = queues_.size();
  unfinished_ = queues_.size();
  for (auto& queue : queues_) {
    Queue* target = queue.get();
    queue->thread = std::thread([this, target] {
      try {
        poll(*target);
      } catch (...) {
        std::lock_guard error_lock(mutex_);
        if (!error_) error_ = std::current_exception();
        ended_ = true;
      }
      finish(*target);
    });
  }
}

bool DpdkSource::next(RawChunk& chunk) {
  if (!started_) start();
  std::unique_lock lock(mutex_);
  chunk_ready_.wait(lock, [&] { return !ready_.empty() || running_ == 0; });
  if (!ready_.empty()) {
    chunk = std::move(ready_.front());
    ready_.pop_front();
    return true;
  }
  if (error_) std::rethrow_exception(error_);
  return false;
}

void DpdkSource::set_paused(bool paused) {
  paused_.store(paused, std::memory_order_relaxed);
}

bool DpdkSource::ending() const {
  return ended_.load(std::memory_order_relaxed) ||
         (options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed));
}

void DpdkSource::poll(Queue& queue) {
  if (!config_.cores.empty()) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(config_.cores[queue.id], &cpus);
    if (pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus) != 0) {
      throw UserError("source '" + name_ + "': cannot run queue " + std::to_string(queue.id) +
                      " on CPU " + std::to_string(config_.cores[queue.id]));
    }
  }
  EalThread registration;
  std::array<rte_mbuf*, kMaxBurst> mbufs;
  const auto latency = std::chrono::nanoseconds(
      config_.max_batch_latency_ns.value_or(options_.max_batch_latency_ns));
  const auto idle_sleep =
      std::min<Clock::duration>(std::chrono::nanoseconds(config_.idle_sleep_ns), kStopPoll);
  const auto burst = static_cast<std::uint16_t>(config_.burst);
  while (!ending()) {
    if (paused_.load(std::memory_order_relaxed)) {
      // A paused source is not idle: endAfterIdle counts from the resume.
      last_arrival_.store(ticks(Clock::now()), std::memory_order_relaxed);
      std::this_thread::sleep_for(kPausedPoll);
      continue;
    }
    const std::uint16_t got = rte_eth_rx_burst(config_.port, queue.id, mbufs.data(), burst);
    const auto now = Clock::now();
    if (got == 0) {
      if (queue.used > 0 && (options_.flush_partial || now - queue.block_started >= latency)) {
        hand_on(queue);
      }
      if (config_.end_after_idle_ns > 0 &&
          ticks(now) - last_arrival_.load(std::memory_order_relaxed) >= config_.end_after_idle_ns) {
        ended_ = true;
        break;
      }
      if (idle_sleep.count() > 0) std::this_thread::sleep_for(idle_sleep);
      continue;
    }
    const std::uint64_t records_before = queue.tally.records;
    for (std::uint16_t i = 0; i < got; ++i) {
      if (i + 1 < got) rte_prefetch0(rte_pktmbuf_mtod(mbufs[i + 1], void*));
      take(queue, mbufs[i]);
    }
    rte_pktmbuf_free_bulk(mbufs.data(), got);
    queue.publish();
    if (config_.end_after_idle_ns > 0) {
      last_arrival_.store(ticks(now), std::memory_order_relaxed);
    }
    if (config_.events > 0) {
      const std::uint64_t burst_records = queue.tally.records - records_before;
      if (records_.fetch_add(burst_records, std::memory_order_relaxed) + burst_records >=
          config_.events) {
        ended_ = true;
      }
    }
    if (queue.used > 0 && now - queue.block_started >= latency) hand_on(queue);
  }
}

void DpdkSource::take(Queue& queue, const rte_mbuf* mbuf) {
  Queue::Tally& tally = queue.tally;
  const std::uint32_t length = rte_pktmbuf_pkt_len(mbuf);
  ++tally.packets;
  tally.bytes += length;
  // The headers, read in place when the first segment holds them, else copied out.
  std::array<std::uint8_t, kMaxHeaderBytes> copy;
  const std::size_t available = std::min<std::size_t>(length, kMaxHeaderBytes);
  const auto* header =
      static_cast<const std::uint8_t*>(rte_pktmbuf_read(mbuf, 0, available, copy.data()));
  if (available < kEthernetHeaderBytes) {
    ++tally.malformed_frames;
    return;
  }
  std::size_t at = kEthernetHeaderBytes;
  std::uint16_t ether_type = load_big16(header + 12);
  for (std::size_t tags = 0;
       tags < kMaxVlanTags && (ether_type == kEtherTypeVlan || ether_type == kEtherTypeQinQ);
       ++tags) {
    if (available < at + kVlanTagBytes) {
      ++tally.malformed_frames;
      return;
    }
    ether_type = load_big16(header + at + 2);
    at += kVlanTagBytes;
  }
  if (ether_type != kEtherTypeIpv4) {
    ++tally.not_udp_ipv4;
    return;
  }
  const std::uint8_t* ip = header + at;
  if (available < at + kMinIpv4HeaderBytes || ip[0] >> 4 != 4) {
    ++tally.malformed_frames;
    return;
  }
  const std::size_t ip_header_bytes = std::size_t{ip[0] & 0x0fu} * 4;
  const std::size_t total_length = load_big16(ip + 2);
  const bool bad_checksum =
      (mbuf->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD;
  if (ip_header_bytes < kMinIpv4HeaderBytes || total_length < ip_header_bytes ||
      at + total_length > length || bad_checksum) {
    ++tally.malformed_frames;
    return;
  }
  if (ip[9] != kProtocolUdp) {
    ++tally.not_udp_ipv4;
    return;
  }
  if ((load_big16(ip + 6) & kFragmentBits) != 0) {
    ++tally.fragments;
    return;
  }
  const std::uint8_t* udp = ip + ip_header_bytes;
  if (total_length < ip_header_bytes + kUdpHeaderBytes ||
      available < at + ip_header_bytes + kUdpHeaderBytes) {
    ++tally.malformed_frames;
    return;
  }
  const std::size_t udp_length = load_big16(udp + 4);
  if (udp_length < kUdpHeaderBytes || udp_length > total_length - ip_header_bytes ||
      (mbuf->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
    ++tally.malformed_frames;
    return;
  }
  if (config_.udp_port != 0 && load_big16(udp + 2) != config_.udp_port) {
    ++tally.other_udp_port;
    return;
  }
  const std::size_t payload_bytes = udp_length - kUdpHeaderBytes;
  ++tally.datagrams;
  tally.payload_bytes += payload_bytes;
  if (payload_bytes == 0) return;
  if (!reserve(queue, payload_bytes)) {
    ++tally.discarded_at_stop;
    return;
  }
  // Straight from the mbuf into the chunk buffer: rte_pktmbuf_read gathers a payload spread
  // over segments into the buffer itself, or points at it in place.
  std::byte* target = queue.buffer + queue.used;
  const void* payload =
      rte_pktmbuf_read(mbuf, static_cast<std::uint32_t>(at + ip_header_bytes + kUdpHeaderBytes),
                       static_cast<std::uint32_t>(payload_bytes), target);
  if (payload != target) std::memcpy(target, payload, payload_bytes);
  FrameInfo info;
  const std::size_t whole = queue.framer->frame(
      {target, payload_bytes}, std::numeric_limits<std::size_t>::max(), false, &info);
  std::uint64_t records = info.records;
  const bool partial = whole < payload_bytes || info.framing_lost;
  if (partial) {
    // The bad tail must end its chunk: there the decoder dead-letters it, instead of reading
    // the next payload as its continuation.
    ++records;
    ++tally.partial_payloads;
  }
  queue.used += payload_bytes;
  queue.block_records += records;
  tally.records += records;
  if (partial || queue.block_records >= options_.chunk_records) hand_on(queue);
}

bool DpdkSource::reserve(Queue& queue, std::size_t bytes) {
  if (queue.buffer != nullptr && queue.used + bytes > config_.buffer_bytes) hand_on(queue);
  if (queue.buffer != nullptr) return true;
  std::byte* buffer = buffers_->acquire(std::chrono::milliseconds(0));
  if (buffer == nullptr) {
    ++queue.tally.buffer_waits;
    queue.publish();
    while (buffer == nullptr && !ending()) {
      buffer = buffers_->acquire(std::chrono::duration_cast<std::chrono::milliseconds>(kStopPoll));
    }
    if (buffer == nullptr) return false;
  }
  queue.buffer = buffer;
  queue.used = 0;
  queue.block_records = 0;
  queue.block_started = Clock::now();
  return true;
}

void DpdkSource::hand_on(Queue& queue) {
  if (queue.buffer == nullptr || queue.used == 0) return;
  RawChunk chunk;
  chunk.source_index = index_;
  chunk.bytes = std::span<const std::byte>(queue.buffer, queue.used);
  chunk.block = buffers_->own(queue.buffer);
  chunk.records = queue.block_records;
  queue.buffer = nullptr;
  queue.used = 0;
  queue.block_records = 0;
  {
    std::lock_guard lock(mutex_);
    chunk.stream_offset = stream_offset_;
    stream_offset_ += chunk.bytes.size();
    ++chunks_;
    ready_.push_back(std::move(chunk));
  }
  chunk_ready_.notify_one();
}

void DpdkSource::finish(Queue& queue) {
  hand_on(queue);
  if (queue.buffer != nullptr) {
    buffers_->give_back(queue.buffer);
    queue.buffer = nullptr;
  }
  queue.publish();
  // The last thread stops the port, so its counters stop at the end of the stream.
  if (unfinished_.fetch_sub(1) == 1) stop_port();
  {
    std::lock_guard lock(mutex_);
    --running_;
  }
  chunk_ready_.notify_all();
}

std::uint64_t DpdkSource::bytes_read() const {
  std::uint64_t total = 0;
  for (const auto& queue : queues_) total += queue->read().payload_bytes;
  return total;
}

DpdkSourceStatistics DpdkSource::snapshot() const {
  DpdkSourceStatistics statistics;
  statistics.port = config_.port;
  statistics.driver = driver_;
  statistics.rss = rss_;
  {
    std::lock_guard lock(port_mutex_);
    PortCounters port = final_port_;
    rte_eth_stats stats{};
    if (port_started_ && rte_eth_stats_get(config_.port, &stats) == 0) {
      port = {stats.ipackets, stats.ibytes, stats.imissed, stats.ierrors, stats.rx_nombuf};
    }
    statistics.port_packets = port.packets;
    statistics.port_bytes = port.bytes;
    statistics.port_missed = port.missed;
    statistics.port_errors = port.errors;
    statistics.port_no_mbuf = port.no_mbuf;
  }
  for (const auto& queue : queues_) {
    const Queue::Tally tally = queue->read();
    statistics += tally;
    statistics.queues.push_back({tally.packets, tally.bytes});
  }
  std::lock_guard lock(mutex_);
  statistics.chunks = chunks_;
  return statistics;
}

void DpdkSource::statistics(std::vector<SourceCounter>& out) const {
  const DpdkSourceStatistics statistics = snapshot();
  const std::string port = "port" + std::to_string(statistics.port) + ".";
  out.push_back({port + "ipackets", statistics.port_packets});
  out.push_back({port + "ibytes", statistics.port_bytes});
  out.push_back({port + "imissed", statistics.port_missed});
  out.push_back({port + "ierrors", statistics.port_errors});
  out.push_back({port + "rx_nombuf", statistics.port_no_mbuf});
  for (std::size_t q = 0; q < statistics.queues.size(); ++q) {
    const std::string queue = "queue" + std::to_string(q) + ".";
    out.push_back({queue + "packets", statistics.queues[q].packets});
    out.push_back({queue + "bytes", statistics.queues[q].bytes});
  }
  out.push_back({"datagrams", statistics.datagrams});
  out.push_back({"records", statistics.records});
  out.push_back({"partial_payloads", statistics.partial_payloads});
  out.push_back({"not_udp_ipv4", statistics.not_udp_ipv4});
  out.push_back({"other_udp_port", statistics.other_udp_port});
  out.push_back({"fragments", statistics.fragments});
  out.push_back({"malformed_frames", statistics.malformed_frames});
  out.push_back({"discarded_at_stop", statistics.discarded_at_stop});
  out.push_back({"buffer_waits", statistics.buffer_waits});
}

}  // namespace ldh

#endif  // LDH_HAVE_DPDK
