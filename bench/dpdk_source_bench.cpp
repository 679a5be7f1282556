// Packets/s and events/s of 48-byte binary sensor events received by the DPDK source, whose
// queue threads check each frame and copy its payload into chunk buffers (pinned when a CUDA
// device is usable); chunks are handed on and dropped, not decoded. The EAL starts once for the
// whole program, with every port below in its one argument list:
// - net_pcap replaying a small pcap from memory without end (infinite_rx=1), one port per
//   payload size, on one polling thread, and one port reading a pcap file through libpcap;
// - net_af_packet on the root-namespace end of a veth pair whose other end lies in a network
//   namespace the program creates (root and iproute2 needed, else these skip), fed by a sender
//   thread that joins that namespace and sends with sendmmsg from ordinary UDP sockets. The
//   namespace is held by a descriptor only, so it and the pairs vanish with the process, however
//   it ends.
//
//   ldh/build/bench/dpdk_source_bench --benchmark_min_time=2

#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "host/memory.h"
#include "ingest/dpdk_source.h"
#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "ingest/pcap_writer.h"
#include "ingest/sensor_schema.h"
#include "pipeline/config.h"

namespace {

#ifdef LDH_HAVE_DPDK
// Events per datagram of the in-memory pcap behind each replaying port.
const std::vector<std::uint32_t> kEventsPerPacket = {1, 10, 30};
constexpr std::uint32_t kPacketsInPcap = 1024;
// The last port reads a pcap file once through libpcap, as a capture is replayed.
constexpr std::uint32_t kFileEventsPerPacket = 10;
constexpr std::uint32_t kPacketsInFile = 200'000;
const auto kFilePort = static_cast<std::uint16_t>(kEventsPerPacket.size());

/// Returns the CPU seconds (user plus system) of the process (RUSAGE_SELF, every thread) or of
/// the calling thread (RUSAGE_THREAD), for CPU time per event.
double cpu_seconds(int who) {
  rusage usage{};
  ::getrusage(who, &usage);
  auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::vector<std::string>& written_pcaps() {
  static std::vector<std::string> paths;
  return paths;
}

/// Writes a pcap of `packets` datagrams of `events` binary sensor events each; returns its
/// path (in /dev/shm when there is one, so reading never touches a disk).
std::string write_pcap(std::uint32_t events, std::uint32_t packets) {
  const std::filesystem::path folder =
      std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  const std::string path =
      (folder / ("ldh-dpdk-bench-" + std::to_string(::getpid()) + "-" + std::to_string(events) +
                 "-" + std::to_string(packets) + ".pcap"))
          .string();
  ldh::GeneratorConfig generator;
  generator.events = std::uint64_t{events} * packets;
  const ldh::Schema schema = ldh::sensor_schema();
  ldh::SensorGenerator sensors(generator, schema);
  auto encoder = ldh::make_encoder(ldh::Format::binary, schema, events);
  ldh::UdpFrameAddresses addresses;
  std::string out;
  ldh::append_pcap_header(out);
  std::string payload;
  std::string frame;
  for (std::uint32_t packet = 0; packet < packets; ++packet) {
    payload.clear();
    sensors.generate(*encoder, events, payload);
    encoder->flush(payload);
    addresses.source_port = static_cast<std::uint16_t>(40000 + packet % 64);
    frame.clear();
    ldh::append_udp_frame(addresses, std::as_bytes(std::span(payload)), frame);
    ldh::append_pcap_record(std::as_bytes(std::span(frame)), packet * 1000LL, out);
  }
  std::ofstream(path, std::ios::binary) << out;
  written_pcaps().push_back(path);
  return path;
}

// Queues of each af_packet port, one veth pair per port: fanout spreads a pair's frames over
// all its queues, so a port polled on one queue must have one.
const std::vector<std::uint32_t> kAfPacketQueues = {1, 2};
const auto kFirstAfPacketPort = static_cast<std::uint16_t>(kFilePort + 1);
constexpr std::uint16_t kUdpPort = 9000;

struct CommandResult {
  int status = -1;
  std::string output;
};

/// Runs a shell command; returns its exit status and what it wrote, standard error included.
CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, got);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

/// Holds a network namespace with the sending ends of veth pairs whose receiving ends stay in
/// the program's namespace, for net_af_packet. Once set up only a descriptor holds the
/// namespace (its name is removed at once), so the kernel deletes it, and the pairs with it,
/// when the process ends however it ends. Pair k sends from 10.77.k.1 to 10.77.k.2 through a
/// fixed neighbour entry whose MAC address is not the receiving end's: the program's own IP
/// stack drops those frames at once instead of routing them, while packet sockets see them.
class VethNamespace {
 public:
  explicit VethNamespace(std::size_t pairs)
      : name_("ldh-dpdk-bench-" + std::to_string(::getpid())),
        interface_prefix_("ldhb" + std::to_string(::getpid())),
        pairs_(pairs) {
    if (::geteuid() != 0) {
      failure_ =
          "net_af_packet needs root here: the benchmark creates a network namespace and "
          "veth pairs";
      return;
    }
    if (run_command("ip netns list").status != 0) {
      failure_ = "`ip netns` is unavailable (install iproute2)";
      return;
    }
    failure_ = set_up();
    if (!failure_.empty()) remove();
  }
  ~VethNamespace() { remove(); }

  VethNamespace(const VethNamespace&) = delete;
  VethNamespace& operator=(const VethNamespace&) = delete;

  /// Says why the pairs are missing; empty when they are set up.
  const std::string& failure() const { return failure_; }
  std::string receiver(std::size_t pair) const {
    return interface_prefix_ + "r" + std::to_string(pair);
  }
  in_addr_t destination(std::size_t pair) const {
    return htonl((10u << 24) | (77u << 16) | (static_cast<std::uint32_t>(pair) << 8) | 2u);
  }
  /// Moves the calling thread, and only it, into the namespace.
  bool enter() const { return ::setns(descriptor_, CLONE_NEWNET) == 0; }

 private:
  std::string set_up() {
    attempted_ = true;
    run_command("ip netns delete " + name_);
    const std::string in = "ip netns exec " + name_ + " ";
    // No IPv6 on either end: nothing but the benchmark's datagrams crosses the pairs.
    std::string script = "set -e; ip netns add " + name_ + "; " + in +
                         "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                         "net.ipv6.conf.default.disable_ipv6=1; ";
    for (std::size_t pair = 0; pair < pairs_; ++pair) {
      const std::string receiving = receiver(pair);
      const std::string sending = interface_prefix_ + "s" + std::to_string(pair);
      const std::string subnet = "10.77." + std::to_string(pair) + ".";
      script += "ip link add " + receiving + " type veth peer name " + sending + " netns " + name_ +
                "; sysctl -qw net.ipv6.conf." + receiving + ".disable_ipv6=1; ip link set " +
                receiving + " up; " + in + "ip addr add " + subnet + "1/24 dev " + sending + "; " +
                in + "ip link set " + sending + " up; " + in + "ip neigh add " + subnet +
                "2 lladdr 02:00:00:00:77:0" + std::to_string(pair) + " dev " + sending + "; ";
    }
    const CommandResult made = run_command(script);
    if (made.status != 0) return "cannot set up the veth pairs: " + made.output;
    descriptor_ = ::open(("/var/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    if (descriptor_ < 0) return "cannot open network namespace " + name_;
    const CommandResult unnamed = run_command("ip netns delete " + name_);
    if (unnamed.status != 0) return "cannot remove the namespace's name: " + unnamed.output;
    return "";
  }

  void remove() {
    if (descriptor_ >= 0) ::close(descriptor_);
    descriptor_ = -1;
    if (!attempted_) return;
    if (std::filesystem::exists("/var/run/netns/" + name_)) run_command("ip netns delete " + name_);
    // The namespace goes asynchronously once its descriptor is closed; remove the pairs now.
    for (std::size_t pair = 0; pair < pairs_; ++pair) {
      run_command("ip link delete " + receiver(pair));
    }
  }

  std::string name_;
  std::string interface_prefix_;
  std::size_t pairs_;
  int descriptor_ = -1;
  bool attempted_ = false;
  std::string failure_;
};

/// Returns the veth pairs of the af_packet ports, set up with the EAL argument list.
const VethNamespace& veth_namespace() {
  static const VethNamespace pairs(kAfPacketQueues.size());
  return pairs;
}

/// The source settings of port `port`: every port shares the one EAL argument list, and the
/// vdev ports are numbered in its order.
ldh::SourceConfig source_config(std::uint16_t port) {
  static const std::vector<std::string> eal = [] {
    std::vector<std::string> arguments = {"--no-huge", "--no-pci", "--no-shconf", "-m",
                                          "512",       "-l",       "0",           "--no-telemetry"};
    for (std::size_t i = 0; i < kEventsPerPacket.size(); ++i) {
      arguments.push_back("--vdev=net_pcap" + std::to_string(i) + ",rx_pcap=" +
                          write_pcap(kEventsPerPacket[i], kPacketsInPcap) + ",infinite_rx=1");
    }
    arguments.push_back("--vdev=net_pcap" + std::to_string(kFilePort) +
                        ",rx_pcap=" + write_pcap(kFileEventsPerPacket, kPacketsInFile));
    // The veth pairs must exist when the EAL starts: net_af_packet opens its sockets then.
    if (veth_namespace().failure().empty()) {
      for (std::size_t pair = 0; pair < kAfPacketQueues.size(); ++pair) {
        arguments.push_back("--vdev=net_af_packet" + std::to_string(pair) +
                            ",iface=" + veth_namespace().receiver(pair) +
                            ",qpairs=" + std::to_string(kAfPacketQueues[pair]) + ",framecnt=8192");
      }
    }
    return arguments;
  }();
  ldh::SourceConfig config;
  config.name = "bench";
  config.type = ldh::SourceType::dpdk;
  config.format = ldh::Format::binary;
  config.dpdk.eal = eal;
  config.dpdk.port = port;
  config.dpdk.burst = 64;
  return config;
}
#endif

void BM_DpdkPcapReceive(benchmark::State& state) {
#ifdef LDH_HAVE_DPDK
  const auto port = static_cast<std::uint16_t>(state.range(0));
  // One source per port for the whole program: net_pcap cannot set up the queues of a stopped
  // infinite_rx port again, and Google Benchmark runs this function several times.
  static std::map<std::uint16_t, std::unique_ptr<ldh::DpdkSource>> sources;
  auto& held = sources[port];
  if (!held) {
    held = std::make_unique<ldh::DpdkSource>(source_config(port), 0, ldh::sensor_schema(),
                                             ldh::SourceOptions{}, ldh::batch_memory());
  }
  ldh::DpdkSource& source = *held;
  ldh::RawChunk chunk;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  const double cpu_before = cpu_seconds(RUSAGE_SELF);
  for (auto _ : state) {
    if (!source.next(chunk)) {
      state.SkipWithError("the source ended");
      break;
    }
    records += chunk.records;
    bytes += chunk.bytes.size();
    chunk = ldh::RawChunk{};
  }
  const double cpu = cpu_seconds(RUSAGE_SELF) - cpu_before;
  const ldh::DpdkSourceStatistics statistics = source.snapshot();
  state.counters["cpu_ns_per_event"] =
      cpu * 1e9 / static_cast<double>(std::max<std::uint64_t>(records, 1));
  const double packets = static_cast<double>(records) / kEventsPerPacket[port];
  state.counters["packets/s"] = benchmark::Counter(packets, benchmark::Counter::kIsRate);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.counters["payload_bytes/s"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsRate);
  state.counters["imissed"] = static_cast<double>(statistics.port_missed);
  state.counters["rx_nombuf"] = static_cast<double>(statistics.port_no_mbuf);
  state.SetLabel(std::to_string(kEventsPerPacket[port]) + " events/packet, " +
                 std::string(ldh::batch_memory().name()));
#else
  state.SkipWithError("this build has no DPDK (configure with -DLDH_DPDK=ON)");
  for (auto _ : state) {
  }
#endif
}
BENCHMARK(BM_DpdkPcapReceive)->DenseRange(0, 2)->UseRealTime()->Unit(benchmark::kMillisecond);

/// Reads the whole pcap file per iteration, timed from the source's start to its last chunk.
void BM_DpdkPcapFileReceive(benchmark::State& state) {
#ifdef LDH_HAVE_DPDK
  ldh::SourceConfig config = source_config(kFilePort);
  config.dpdk.end_after_idle_ns = 20'000'000;
  std::uint64_t records = 0;
  double cpu = 0;
  for (auto _ : state) {
    const double cpu_before = cpu_seconds(RUSAGE_SELF);
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    ldh::DpdkSource source(config, 0, ldh::sensor_schema(), ldh::SourceOptions{},
                           ldh::batch_memory());
    ldh::RawChunk chunk;
    std::uint64_t read = 0;
    while (source.next(chunk)) {
      read += chunk.records;
      last = std::chrono::steady_clock::now();
      chunk = ldh::RawChunk{};
    }
    // Includes the idle polls that end the source (20 ms, mostly asleep).
    cpu += cpu_seconds(RUSAGE_SELF) - cpu_before;
    if (read != std::uint64_t{kFileEventsPerPacket} * kPacketsInFile) {
      state.SkipWithError("the source did not read the whole file");
      break;
    }
    records += read;
    state.SetIterationTime(std::chrono::duration<double>(last - start).count());
  }
  state.counters["cpu_ns_per_event"] =
      cpu * 1e9 / static_cast<double>(std::max<std::uint64_t>(records, 1));
  state.counters["packets/s"] = benchmark::Counter(
      static_cast<double>(records) / kFileEventsPerPacket, benchmark::Counter::kIsRate);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.SetLabel(std::to_string(kFileEventsPerPacket) + " events/packet from a pcap file, " +
                 std::string(ldh::batch_memory().name()));
#else
  state.SkipWithError("this build has no DPDK (configure with -DLDH_DPDK=ON)");
  for (auto _ : state) {
  }
#endif
}
BENCHMARK(BM_DpdkPcapFileReceive)->UseManualTime()->Unit(benchmark::kMillisecond);

#ifdef LDH_HAVE_DPDK
constexpr std::size_t kDatagramsPerRun = 200'000;
constexpr std::size_t kDistinctDatagrams = 1024;
constexpr unsigned kSendBatch = 64;
// Sockets, and so UDP source ports, the sender spreads its batches over.
constexpr unsigned kFlows = 8;

/// Encodes datagrams of `events` binary sensor events each, one frame per datagram.
std::vector<std::string> encode_datagrams(std::uint32_t events) {
  ldh::GeneratorConfig generator;
  generator.events = 0;
  const ldh::Schema schema = ldh::sensor_schema();
  ldh::SensorGenerator sensors(generator, schema);
  auto encoder = ldh::make_encoder(ldh::Format::binary, schema, events);
  std::vector<std::string> datagrams(kDistinctDatagrams);
  for (auto& datagram : datagrams) {
    sensors.generate(*encoder, events, datagram);
    encoder->flush(datagram);
  }
  return datagrams;
}

struct Sent {
  std::uint64_t datagrams = 0;
  double cpu_seconds = 0;
  std::string error;
};

/// Sends kDatagramsPerRun datagrams from `pool` to pair `pair`'s receiver, from inside the
/// namespace (this thread only joins it), with sendmmsg over kFlows connected UDP sockets.
Sent send_datagrams(const VethNamespace& veth, std::size_t pair,
                    const std::vector<std::string>& pool) {
  Sent sent;
  if (!veth.enter()) {
    sent.error = std::string("cannot enter the network namespace: ") + std::strerror(errno);
    return sent;
  }
  const double cpu_start = cpu_seconds(RUSAGE_THREAD);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(kUdpPort);
  target.sin_addr.s_addr = veth.destination(pair);
  std::vector<int> sockets;
  for (unsigned flow = 0; flow < kFlows && sent.error.empty(); ++flow) {
    const int socket = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (socket >= 0) sockets.push_back(socket);
    if (socket < 0 ||
        ::connect(socket, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) {
      sent.error = std::string("cannot open a UDP socket: ") + std::strerror(errno);
    }
  }
  std::vector<iovec> vectors(kSendBatch);
  std::vector<mmsghdr> messages(kSendBatch);
  std::size_t next = 0;
  while (sent.error.empty() && sent.datagrams < kDatagramsPerRun) {
    const auto batch = static_cast<unsigned>(
        std::min<std::uint64_t>(kSendBatch, kDatagramsPerRun - sent.datagrams));
    for (unsigned i = 0; i < batch; ++i) {
      const std::string& datagram = pool[next++ % pool.size()];
      vectors[i] = {const_cast<char*>(datagram.data()), datagram.size()};
      messages[i] = {};
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    const int socket = sockets[(sent.datagrams / kSendBatch) % sockets.size()];
    const int got = ::sendmmsg(socket, messages.data(), batch, 0);
    if (got > 0) {
      sent.datagrams += static_cast<std::uint64_t>(got);
    } else if (got < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
      sent.error = std::string("sendmmsg failed: ") + std::strerror(errno);
    }
  }
  for (const int socket : sockets) ::close(socket);
  sent.cpu_seconds = cpu_seconds(RUSAGE_THREAD) - cpu_start;
  return sent;
}
#endif

/// Sends kDatagramsPerRun datagrams per iteration through a veth pair to net_af_packet, timed
/// from the first send to the last chunk. The receiving side's CPU time is the process's up to
/// that chunk less the sender thread's: the queue threads and the thread taking chunks. The
/// kernel's copy of each frame into the packet ring runs in the sender's softirq, so it counts
/// in the sender's CPU time.
void BM_DpdkAfPacketReceive(benchmark::State& state) {
#ifdef LDH_HAVE_DPDK
  using Clock = std::chrono::steady_clock;
  const auto events = static_cast<std::uint32_t>(state.range(0));
  const auto queues = static_cast<std::uint32_t>(state.range(1));
  const std::size_t pair = static_cast<std::size_t>(
      std::find(kAfPacketQueues.begin(), kAfPacketQueues.end(), queues) - kAfPacketQueues.begin());
  const auto port = static_cast<std::uint16_t>(kFirstAfPacketPort + pair);
  ldh::SourceConfig config = source_config(port);
  const VethNamespace& veth = veth_namespace();
  if (!veth.failure().empty()) {
    state.SkipWithError(veth.failure().c_str());
    for (auto _ : state) {
    }
    return;
  }
  config.dpdk.queues = queues;
  config.dpdk.udp_port = kUdpPort;
  config.dpdk.events = std::uint64_t{events} * kDatagramsPerRun;
  // Ends an iteration that lost datagrams.
  config.dpdk.end_after_idle_ns = 200'000'000;
  const std::vector<std::string> pool = encode_datagrams(events);
  double seconds = 0;
  double receive_cpu = 0;
  double send_cpu = 0;
  std::uint64_t sent_datagrams = 0;
  std::uint64_t datagrams = 0;
  std::uint64_t records = 0;
  std::uint64_t other_frames = 0;
  std::uint64_t missed = 0;
  for (auto _ : state) {
    ldh::DpdkSource source(config, 0, ldh::sensor_schema(), ldh::SourceOptions{},
                           ldh::batch_memory());
    std::atomic<std::uint64_t> taken{0};
    std::atomic<Clock::rep> last_chunk{0};
    std::atomic<double> cpu_at_last_chunk{0};
    std::string receive_error;
    std::thread consumer([&] {
      try {
        ldh::RawChunk chunk;
        while (source.next(chunk)) {
          taken.fetch_add(chunk.records, std::memory_order_relaxed);
          cpu_at_last_chunk.store(cpu_seconds(RUSAGE_SELF), std::memory_order_relaxed);
          last_chunk.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
          chunk = ldh::RawChunk{};
        }
      } catch (const std::exception& error) {
        receive_error = error.what();
      }
    });
    // The queue threads start on the first next(); the clock starts once they poll.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const double cpu_start = cpu_seconds(RUSAGE_SELF);
    const auto started = Clock::now();
    Sent sent;
    std::thread sender([&] { sent = send_datagrams(veth, pair, pool); });
    sender.join();
    consumer.join();
    const ldh::DpdkSourceStatistics statistics = source.snapshot();
    if (!sent.error.empty() || !receive_error.empty()) {
      state.SkipWithError((sent.error + receive_error).c_str());
      break;
    }
    if (statistics.driver != "net_af_packet" || taken.load() == 0) {
      state.SkipWithError(("port " + std::to_string(port) + " (" + statistics.driver +
                           ") received nothing from the veth pair")
                              .c_str());
      break;
    }
    const double elapsed = std::chrono::duration<double>(Clock::duration(last_chunk.load()) -
                                                         started.time_since_epoch())
                               .count();
    state.SetIterationTime(elapsed);
    seconds += elapsed;
    receive_cpu += cpu_at_last_chunk.load() - cpu_start - sent.cpu_seconds;
    send_cpu += sent.cpu_seconds;
    sent_datagrams += sent.datagrams;
    datagrams += statistics.datagrams;
    records += taken.load();
    other_frames += statistics.packets - statistics.datagrams;
    missed += statistics.port_missed;
  }
  if (records == 0) return;
  const double per_event = 1e9 / static_cast<double>(records);
  state.counters["packets/s"] = static_cast<double>(datagrams) / seconds;
  state.counters["events/s"] = static_cast<double>(records) / seconds;
  state.counters["receive_cpu_ns_per_event"] = receive_cpu * per_event;
  state.counters["send_cpu_ns_per_event"] = send_cpu * per_event;
  state.counters["sent"] = static_cast<double>(sent_datagrams);
  state.counters["dropped"] = static_cast<double>(sent_datagrams - datagrams);
  state.counters["imissed"] = static_cast<double>(missed);
  state.counters["other_frames"] = static_cast<double>(other_frames);
  state.SetLabel(std::to_string(events) + " events/packet, " + std::to_string(queues) +
                 (queues == 1 ? " queue, " : " queues, ") +
                 std::string(ldh::batch_memory().name()));
#else
  state.SkipWithError("this build has no DPDK (configure with -DLDH_DPDK=ON)");
  for (auto _ : state) {
  }
#endif
}
BENCHMARK(BM_DpdkAfPacketReceive)
    ->ArgNames({"events", "queues"})
    ->Args({10, 1})
    ->Args({30, 1})
    ->Args({30, 2})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
#ifdef LDH_HAVE_DPDK
  for (const auto& path : written_pcaps()) std::filesystem::remove(path);
#endif
  return 0;
}
