#include "ingest/udp_source.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <thread>

#include "ingest/decoder.h"
#include "pipeline/error.h"

namespace ldh {

namespace {

constexpr unsigned kBatchDatagrams = 64;
// Any UDP payload over IPv4 or IPv6 (without jumbograms) fits.
constexpr std::size_t kDatagramBytes = 65536;
// Receive threads wake at least this often to notice stop and the end conditions.
constexpr auto kStopPoll = std::chrono::milliseconds(100);
// Chunks a receive thread may have waiting for next(); past that it stops reading, and the
// kernel drops (and counts) what overflows the socket buffer.
constexpr std::size_t kQueuedChunksPerThread = 2;
// Bounds the drain of datagrams left in a socket when the source ends (a sender that keeps
// sending could otherwise hold the source open).
constexpr unsigned kDrainBatches = 1024;
constexpr std::size_t kFirstBlockBytes = 64u << 10;

/// Turns readings of the kernel's cumulative 32-bit drop counter into a 64-bit total; readings
/// older than the latest one (SO_RXQ_OVFL values are taken when a datagram is queued) are
/// ignored.
class DropCounter {
 public:
  void observe(std::uint32_t reading) {
    std::uint32_t delta = reading - latest_;
    if (delta >= 0x8000'0000u) return;
    latest_ = reading;
    total_ += delta;
  }
  std::uint64_t total() const { return total_; }

 private:
  std::uint32_t latest_ = 0;
  std::uint64_t total_ = 0;
};

std::string system_error(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

/// Fills `address` with the numeric IPv4 or IPv6 `host` and `port`; returns its length.
socklen_t resolve(const std::string& host, std::uint16_t port, sockaddr_storage& address) {
  std::memset(&address, 0, sizeof(address));
  auto* ipv4 = reinterpret_cast<sockaddr_in*>(&address);
  if (::inet_pton(AF_INET, host.c_str(), &ipv4->sin_addr) == 1) {
    ipv4->sin_family = AF_INET;
    ipv4->sin_port = htons(port);
    return sizeof(sockaddr_in);
  }
  auto* ipv6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (::inet_pton(AF_INET6, host.c_str(), &ipv6->sin6_addr) == 1) {
    ipv6->sin6_family = AF_INET6;
    ipv6->sin6_port = htons(port);
    return sizeof(sockaddr_in6);
  }
  throw UserError("'" + host + "' is not a numeric IPv4 or IPv6 address");
}

std::uint16_t port_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
}

void set_option(int descriptor, int name, int value, const std::string& what) {
  if (::setsockopt(descriptor, SOL_SOCKET, name, &value, sizeof(value)) != 0) {
    throw UserError(system_error(what));
  }
}

/// Reads the socket's drop counter directly, which also sees drops after the last datagram.
bool read_kernel_drops(int descriptor, std::uint32_t& drops) {
  std::array<std::uint32_t, SK_MEMINFO_VARS> memory{};
  socklen_t length = sizeof(memory);
  if (::getsockopt(descriptor, SOL_SOCKET, SO_MEMINFO, memory.data(), &length) != 0) return false;
  if (length < (SK_MEMINFO_DROPS + 1) * sizeof(std::uint32_t)) return false;
  drops = memory[SK_MEMINFO_DROPS];
  return true;
}

std::int64_t ticks(std::chrono::steady_clock::time_point time) {
  return time.time_since_epoch().count();
}

}  // namespace

/// One socket and the state of the thread that reads it. The counters are published for
/// statistics(); the rest belongs to the receive thread.
struct UdpSource::Receiver {
  ~Receiver() {
    if (descriptor >= 0) ::close(descriptor);
  }

  int descriptor = -1;
  std::thread thread;
  std::unique_ptr<Decoder> framer;
  std::unique_ptr<std::byte[]> scratch;
  std::array<mmsghdr, kBatchDatagrams> messages{};
  std::array<iovec, kBatchDatagrams> vectors{};
  struct alignas(cmsghdr) Control {
    std::array<std::byte, CMSG_SPACE(sizeof(std::uint32_t))> bytes;
  };
  std::array<Control, kBatchDatagrams> controls{};

  std::shared_ptr<std::string> block;
  std::uint64_t block_records = 0;
  Clock::time_point block_started{};
  Clock::time_point drops_read_at{};
  std::size_t last_block_bytes = kFirstBlockBytes;
  DropCounter drops;

  std::atomic<std::uint64_t> datagrams{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> records{0};
  std::atomic<std::uint64_t> partial_datagrams{0};
  std::atomic<std::uint64_t> kernel_drops{0};
  std::atomic<std::uint64_t> unread_at_end{0};
};

UdpSource::UdpSource(const SourceConfig& config, std::uint32_t index, const Schema& schema,
                     const SourceOptions& options)
    : name_(config.name),
      format_(config.format),
      index_(index),
      options_(options),
      config_(config.udp),
      max_batch_latency_(config.udp.max_batch_latency_ns.value_or(options.max_batch_latency_ns)) {
  LDH_EXPECTS(config_.threads >= 1, "a UDP source needs at least one thread");
  auto failed = [&](const std::string& what) {
    return UserError("source '" + name_ + "': " +
                     system_error(what + " udp " + config_.bind + ":" +
                                  std::to_string(port_ != 0 ? port_ : config_.port)));
  };
  sockaddr_storage address;
  socklen_t length = resolve(config_.bind, config_.port, address);
  for (std::uint32_t t = 0; t < config_.threads; ++t) {
    auto receiver = std::make_unique<Receiver>();
    receiver->descriptor = ::socket(address.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (receiver->descriptor < 0) throw failed("cannot open a socket for");
    int descriptor = receiver->descriptor;
    if (config_.threads > 1) set_option(descriptor, SO_REUSEPORT, 1, "SO_REUSEPORT");
    if (config_.receive_buffer > 0) {
      set_option(descriptor, SO_RCVBUF, static_cast<int>(config_.receive_buffer), "SO_RCVBUF");
    }
    set_option(descriptor, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL");
    if (::bind(descriptor, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
      throw failed("cannot bind");
    }
    if (t == 0) {
      // Later sockets join the port the first one got (the kernel picks one for port 0).
      socklen_t bound_length = sizeof(address);
      if (::getsockname(descriptor, reinterpret_cast<sockaddr*>(&address), &bound_length) != 0) {
        throw failed("cannot read the address of");
      }
      port_ = port_of(address);
      int granted = 0;
      socklen_t granted_length = sizeof(granted);
      ::getsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &granted, &granted_length);
      receive_buffer_granted_ = static_cast<std::uint64_t>(granted);
    }
    receiver->framer = make_decoder(format_, schema);
    receivers_.push_back(std::move(receiver));
  }
  queue_limit_ = kQueuedChunksPerThread * receivers_.size();
}

UdpSource::~UdpSource() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  space_ready_.notify_all();
  resumed_.notify_all();
  for (auto& receiver : receivers_) {
    if (receiver->thread.joinable()) receiver->thread.join();
  }
}

void UdpSource::start() {
  started_ = true;
  last_arrival_ = ticks(Clock::now());
  // Held while threads start, so none can finish before it is counted.
  std::lock_guard lock(mutex_);
  for (auto& receiver : receivers_) {
    Receiver* target = receiver.get();
    receiver->thread = std::thread([this, target] {
      try {
        receive(*target);
      } catch (...) {
        std::lock_guard error_lock(mutex_);
        if (!error_) error_ = std::current_exception();
        ended_ = true;
      }
      finish(*target);
    });
    ++running_;
  }
}

bool UdpSource::next(RawChunk& chunk) {
  if (!started_) start();
  std::unique_lock lock(mutex_);
  chunk_ready_.wait(lock, [&] { return !queue_.empty() || running_ == 0; });
  if (!queue_.empty()) {
    chunk = std::move(queue_.front());
    queue_.pop_front();
    space_ready_.notify_one();
    return true;
  }
  if (error_) std::rethrow_exception(error_);
  return false;
}

std::uint64_t UdpSource::bytes_read() const {
  std::uint64_t total = 0;
  for (const auto& receiver : receivers_) total += receiver->bytes.load(std::memory_order_relaxed);
  return total;
}

UdpSourceStatistics UdpSource::statistics() const {
  UdpSourceStatistics statistics;
  statistics.port = port_;
  statistics.receive_buffer_requested = config_.receive_buffer;
  statistics.receive_buffer_granted = receive_buffer_granted_;
  for (const auto& receiver : receivers_) {
    UdpSocketStatistics socket;
    socket.datagrams = receiver->datagrams.load(std::memory_order_relaxed);
    socket.bytes = receiver->bytes.load(std::memory_order_relaxed);
    socket.kernel_drops = receiver->kernel_drops.load(std::memory_order_relaxed);
    statistics.datagrams += socket.datagrams;
    statistics.bytes += socket.bytes;
    statistics.kernel_drops += socket.kernel_drops;
    statistics.records += receiver->records.load(std::memory_order_relaxed);
    statistics.partial_datagrams += receiver->partial_datagrams.load(std::memory_order_relaxed);
    statistics.unread_at_end += receiver->unread_at_end.load(std::memory_order_relaxed);
    statistics.sockets.push_back(socket);
  }
  std::lock_guard lock(mutex_);
  statistics.chunks = chunks_;
  return statistics;
}

void UdpSource::statistics(std::vector<SourceCounter>& out) const {
  const UdpSourceStatistics counts = statistics();
  out.push_back({"udp_datagrams", counts.datagrams});
  out.push_back({"udp_bytes", counts.bytes});
  out.push_back({"udp_records", counts.records});
  out.push_back({"udp_partial_datagrams", counts.partial_datagrams});
  out.push_back({"udp_kernel_drops", counts.kernel_drops});
  out.push_back({"udp_unread_at_end", counts.unread_at_end});
  out.push_back({"udp_chunks", counts.chunks});
  out.push_back({"udp_receive_buffer_bytes", counts.receive_buffer_granted});
}

bool UdpSource::ending() const {
  return ended_.load(std::memory_order_relaxed) || quit_.load(std::memory_order_relaxed) ||
         (options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed));
}

void UdpSource::receive(Receiver& receiver) {
  // Uninitialised on purpose: only the bytes datagrams fill are ever touched.
  receiver.scratch.reset(new std::byte[kBatchDatagrams * kDatagramBytes]);
  for (unsigned i = 0; i < kBatchDatagrams; ++i) {
    receiver.vectors[i] = {receiver.scratch.get() + i * kDatagramBytes, kDatagramBytes};
    msghdr& header = receiver.messages[i].msg_hdr;
    header.msg_iov = &receiver.vectors[i];
    header.msg_iovlen = 1;
    header.msg_control = receiver.controls[i].bytes.data();
  }
  while (!ending()) {
    if (paused_.load(std::memory_order_relaxed)) {
      wait_while_paused(receiver);
      continue;
    }
    for (auto& message : receiver.messages) {
      // The kernel shrinks these to what it wrote.
      message.msg_hdr.msg_controllen = sizeof(Receiver::Control::bytes);
      message.msg_hdr.msg_flags = 0;
    }
    int got = ::recvmmsg(receiver.descriptor, receiver.messages.data(), kBatchDatagrams,
                         MSG_DONTWAIT, nullptr);
    if (got > 0) {
      take(receiver, static_cast<unsigned>(got));
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      throw UserError("source '" + name_ +
                      "': " + system_error("receiving from udp port " + std::to_string(port_)));
    }
    wait_for_datagrams(receiver);
  }
}

void UdpSource::take(Receiver& receiver, unsigned count) {
  std::uint64_t bytes = 0;
  for (unsigned i = 0; i < count; ++i) {
    msghdr& header = receiver.messages[i].msg_hdr;
    for (cmsghdr* control = CMSG_FIRSTHDR(&header); control != nullptr;
         control = CMSG_NXTHDR(&header, control)) {
      if (control->cmsg_level == SOL_SOCKET && control->cmsg_type == SO_RXQ_OVFL) {
        std::uint32_t drops;
        std::memcpy(&drops, CMSG_DATA(control), sizeof(drops));
        receiver.drops.observe(drops);
      }
    }
    std::size_t size = receiver.messages[i].msg_len;
    bytes += size;
    append(receiver, {receiver.scratch.get() + i * kDatagramBytes, size});
  }
  const auto now = Clock::now();
  last_arrival_.store(ticks(now), std::memory_order_relaxed);
  receiver.datagrams.fetch_add(count, std::memory_order_relaxed);
  receiver.bytes.fetch_add(bytes, std::memory_order_relaxed);
  receiver.kernel_drops.store(receiver.drops.total(), std::memory_order_relaxed);
  hand_on_when_due(receiver, now);
}

void UdpSource::append(Receiver& receiver, std::span<const std::byte> datagram) {
  if (datagram.empty()) return;
  if (!receiver.block) {
    receiver.block = std::make_shared<std::string>();
    receiver.block->reserve(receiver.last_block_bytes);
    receiver.block_records = 0;
    receiver.block_started = Clock::now();
  }
  std::string& block = *receiver.block;
  FrameInfo info;
  std::size_t whole =
      receiver.framer->frame(datagram, std::numeric_limits<std::size_t>::max(), false, &info);
  std::uint64_t records = info.records;
  block.append(reinterpret_cast<const char*>(datagram.data()), datagram.size());
  bool ends_chunk = false;
  if (format_ == Format::json) {
    // A datagram holds whole lines; the last one may lack its newline.
    if (whole < datagram.size()) {
      block.push_back('\n');
      ++records;
    }
  } else if (whole < datagram.size() || info.framing_lost) {
    // The bad tail must end its chunk: there the decoder dead-letters it, instead of reading
    // the next datagram as its continuation.
    ++records;
    receiver.partial_datagrams.fetch_add(1, std::memory_order_relaxed);
    ends_chunk = true;
  }
  receiver.block_records += records;
  receiver.records.fetch_add(records, std::memory_order_relaxed);
  std::uint64_t total = records_.fetch_add(records, std::memory_order_relaxed) + records;
  if (config_.events > 0 && total >= config_.events) ended_ = true;
  if (ends_chunk || receiver.block_records >= options_.chunk_records ||
      block.size() >= kMaxRecordBytes) {
    hand_on(receiver);
  }
}

void UdpSource::refresh_kernel_drops(Receiver& receiver, Clock::time_point now, bool always) {
  // At most every poll interval: a receiver that outpaces its sender waits very often.
  if (!always && now - receiver.drops_read_at < kStopPoll) return;
  receiver.drops_read_at = now;
  std::uint32_t drops;
  if (read_kernel_drops(receiver.descriptor, drops)) receiver.drops.observe(drops);
  receiver.kernel_drops.store(receiver.drops.total(), std::memory_order_relaxed);
}

void UdpSource::wait_for_datagrams(Receiver& receiver) {
  const auto now = Clock::now();
  refresh_kernel_drops(receiver, now, false);
  // Nothing is waiting in the kernel: `underflow: flush` hands the partial chunk on now.
  if (options_.flush_partial && receiver.block) {
    hand_on(receiver);
    return;
  }
  if (hand_on_when_due(receiver, now)) return;
  auto wake = now + kStopPoll;
  if (receiver.block) wake = std::min(wake, receiver.block_started + max_batch_latency_);
  if (config_.end_after_idle_ns > 0) {
    auto quiet_until = Clock::time_point(Clock::duration(last_arrival_.load())) +
                       std::chrono::nanoseconds(config_.end_after_idle_ns);
    if (quiet_until <= now) {
      ended_ = true;
      return;
    }
    wake = std::min(wake, quiet_until);
  }
  auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now);
  timespec timeout{static_cast<time_t>(wait.count() / 1'000'000'000),
                   static_cast<long>(wait.count() % 1'000'000'000)};
  pollfd ready{receiver.descriptor, POLLIN, 0};
  ::ppoll(&ready, 1, &timeout, nullptr);
}

bool UdpSource::hand_on_when_due(Receiver& receiver, Clock::time_point now) {
  if (!receiver.block || now - receiver.block_started < max_batch_latency_) return false;
  hand_on(receiver);
  return true;
}

void UdpSource::wait_while_paused(Receiver& receiver) {
  const auto now = Clock::now();
  refresh_kernel_drops(receiver, now, false);
  hand_on_when_due(receiver, now);
  std::unique_lock lock(mutex_);
  resumed_.wait_for(lock, kStopPoll,
                    [&] { return !paused_.load(std::memory_order_relaxed) || quit_; });
}

void UdpSource::set_paused(bool paused) {
  {
    std::lock_guard lock(mutex_);
    paused_ = paused;
  }
  // Time spent paused is not idleness: the sockets simply were not read.
  if (!paused) last_arrival_ = ticks(Clock::now());
  resumed_.notify_all();
}

void UdpSource::hand_on(Receiver& receiver) {
  if (!receiver.block) return;
  std::shared_ptr<const std::string> block = std::move(receiver.block);
  receiver.block.reset();
  const std::uint64_t records = receiver.block_records;
  receiver.last_block_bytes = std::max(kFirstBlockBytes, block->size());
  std::unique_lock lock(mutex_);
  space_ready_.wait(lock, [&] { return queue_.size() < queue_limit_ || quit_; });
  if (quit_) return;
  RawChunk chunk;
  chunk.source_index = index_;
  chunk.records = records;
  chunk.stream_offset = stream_offset_;
  chunk.bytes =
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(block->data()), block->size());
  chunk.block = std::move(block);
  stream_offset_ += chunk.bytes.size();
  ++chunks_;
  queue_.push_back(std::move(chunk));
  chunk_ready_.notify_one();
}

void UdpSource::finish(Receiver& receiver) {
  hand_on(receiver);
  // Count what the kernel still holds, then close: the datagrams would otherwise vanish
  // uncounted with the socket.
  std::uint64_t unread = 0;
  for (unsigned batch = 0; batch < kDrainBatches; ++batch) {
    for (auto& message : receiver.messages) message.msg_hdr.msg_controllen = 0;
    int got = ::recvmmsg(receiver.descriptor, receiver.messages.data(), kBatchDatagrams,
                         MSG_DONTWAIT, nullptr);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    unread += static_cast<std::uint64_t>(got);
  }
  receiver.unread_at_end.store(unread, std::memory_order_relaxed);
  refresh_kernel_drops(receiver, Clock::now(), true);
  ::close(receiver.descriptor);
  receiver.descriptor = -1;
  std::lock_guard lock(mutex_);
  --running_;
  chunk_ready_.notify_all();
}

}  // namespace ldh
