// UDP source throughput over loopback: a sender thread blasts 48-byte binary sensor events, several
// per datagram (one frame each), with sendmmsg from one socket per receive thread; the source
// receives them with recvmmsg and cuts chunks, which the benchmark thread takes through next().
// Reports events/s delivered (items), the share the kernel dropped, and CPU time per delivered
// event of the receiving side (receive threads plus the thread calling next()) and of the
// sender. On loopback the sender's system time includes the kernel's delivery into the socket.
//
//   udp_source_bench --benchmark_counters_tabular=true

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "ingest/sensor_schema.h"
#include "ingest/udp_source.h"

namespace ldh {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kDatagramsPerRun = 200'000;
constexpr std::size_t kDistinctDatagrams = 1024;
constexpr unsigned kSendBatch = 64;

/// User and system CPU seconds.
struct CpuTime {
  double user = 0;
  double system = 0;
  CpuTime operator-(const CpuTime& other) const {
    return {user - other.user, system - other.system};
  }
  CpuTime& operator+=(const CpuTime& other) {
    user += other.user;
    system += other.system;
    return *this;
  }
};

/// Reads the CPU time of the process (RUSAGE_SELF) or of the calling thread (RUSAGE_THREAD).
CpuTime cpu_time(int who) {
  rusage usage;
  ::getrusage(who, &usage);
  auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) * 1e-6;
  };
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

std::vector<std::string> encode_datagrams(const Schema& schema, std::uint32_t per_datagram) {
  GeneratorConfig generator;
  generator.events = 0;
  generator.sensors = 100;
  generator.seed = 7;
  SensorGenerator sensors(generator, schema);
  auto encoder = make_encoder(Format::binary, schema, per_datagram);
  std::vector<std::string> datagrams(kDistinctDatagrams);
  for (auto& datagram : datagrams) {
    sensors.generate(*encoder, per_datagram, datagram);
    encoder->flush(datagram);
  }
  return datagrams;
}

/// Sends `count` datagrams from `pool` round-robin over `sockets` connected sockets; returns the
/// thread's CPU time.
CpuTime send_all(std::uint16_t port, unsigned sockets, const std::vector<std::string>& pool,
                 std::size_t count) {
  const CpuTime cpu_start = cpu_time(RUSAGE_THREAD);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(port);
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> descriptors;
  for (unsigned s = 0; s < sockets; ++s) {
    int descriptor = ::socket(AF_INET, SOCK_DGRAM, 0);
    ::connect(descriptor, reinterpret_cast<const sockaddr*>(&target), sizeof(target));
    descriptors.push_back(descriptor);
  }
  std::vector<iovec> vectors(kSendBatch);
  std::vector<mmsghdr> messages(kSendBatch);
  std::size_t sent = 0;
  std::size_t next = 0;
  while (sent < count) {
    unsigned batch = static_cast<unsigned>(std::min<std::size_t>(kSendBatch, count - sent));
    for (unsigned i = 0; i < batch; ++i) {
      const std::string& datagram = pool[next++ % pool.size()];
      vectors[i] = {const_cast<char*>(datagram.data()), datagram.size()};
      messages[i] = {};
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    int descriptor = descriptors[(sent / kSendBatch) % descriptors.size()];
    int got = ::sendmmsg(descriptor, messages.data(), batch, 0);
    if (got > 0) sent += static_cast<std::size_t>(got);
  }
  for (int descriptor : descriptors) ::close(descriptor);
  return cpu_time(RUSAGE_THREAD) - cpu_start;
}

void BM_UdpLoopback(benchmark::State& state) {
  const auto per_datagram = static_cast<std::uint32_t>(state.range(0));
  const auto threads = static_cast<std::uint32_t>(state.range(1));
  const Schema schema = sensor_schema();
  const auto pool = encode_datagrams(schema, per_datagram);
  SourceConfig config;
  config.name = "udp";
  config.type = SourceType::udp;
  config.format = Format::binary;
  config.udp.port = 0;
  config.udp.threads = threads;
  config.udp.receive_buffer = 4u << 20;
  config.udp.end_after_idle_ns = 50'000'000;

  double seconds = 0;
  CpuTime receive_cpu;
  CpuTime send_cpu;
  std::uint64_t delivered = 0;
  std::uint64_t datagrams = 0;
  std::uint64_t dropped = 0;
  std::uint64_t granted = 0;
  for (auto _ : state) {
    UdpSource source(config, 0, schema, SourceOptions{});
    std::atomic<std::uint64_t> records{0};
    std::atomic<std::int64_t> last_chunk{0};
    std::thread consumer([&] {
      RawChunk chunk;
      while (source.next(chunk)) {
        records.fetch_add(chunk.records, std::memory_order_relaxed);
        last_chunk.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
      }
    });
    // Let the receive threads start (on the first next()) before the clock does.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const CpuTime process_cpu_start = cpu_time(RUSAGE_SELF);
    const auto started = Clock::now();
    CpuTime sender_cpu;
    std::thread sender(
        [&] { sender_cpu = send_all(source.port(), threads, pool, kDatagramsPerRun); });
    sender.join();
    consumer.join();
    const CpuTime process_cpu = cpu_time(RUSAGE_SELF) - process_cpu_start;
    const double elapsed = std::chrono::duration<double>(Clock::duration(last_chunk.load()) -
                                                         started.time_since_epoch())
                               .count();
    state.SetIterationTime(elapsed);
    const UdpSourceStatistics statistics = source.statistics();
    seconds += elapsed;
    receive_cpu += process_cpu - sender_cpu;
    send_cpu += sender_cpu;
    delivered += records.load();
    datagrams += statistics.datagrams;
    dropped += statistics.kernel_drops;
    granted = statistics.receive_buffer_granted;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(delivered));
  const double sent = static_cast<double>(datagrams + dropped);
  state.counters["events_per_s"] = static_cast<double>(delivered) / seconds;
  state.counters["datagrams_per_s"] = static_cast<double>(datagrams) / seconds;
  state.counters["drop_share"] = sent > 0 ? static_cast<double>(dropped) / sent : 0;
  auto per_event = [&](double seconds_used) {
    return seconds_used * 1e9 / static_cast<double>(delivered);
  };
  state.counters["receive_user_ns_per_event"] = per_event(receive_cpu.user);
  state.counters["receive_sys_ns_per_event"] = per_event(receive_cpu.system);
  state.counters["send_cpu_ns_per_event"] = per_event(send_cpu.user + send_cpu.system);
  state.counters["buffer_granted"] = static_cast<double>(granted);
}

BENCHMARK(BM_UdpLoopback)
    ->ArgNames({"events_per_datagram", "threads"})
    ->Args({8, 1})
    ->Args({32, 1})
    ->Args({32, 2})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
}  // namespace ldh

BENCHMARK_MAIN();
