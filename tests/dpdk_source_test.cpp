// The DPDK source against DPDK's virtual devices, no NIC needed: net_pcap reading pcap files
// written by `ldh gen --pcap` and by scapy (scripts/write_pcap.py), and net_af_packet on a veth
// pair in a network namespace the test creates, fed by ordinary UDP sockets. The EAL starts once
// per process, so every receiver runs in a child process of its own.

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ingest/decoder.h"
#include "ingest/dpdk_source.h"
#include "ingest/pcap_writer.h"
#include "ingest/sensor_schema.h"
#include "pipeline/batch.h"
#include "pipeline/config.h"
#include "pipeline/memory.h"
#include "pipeline/string_dictionary.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

namespace fs = std::filesystem;
using Counts = std::map<std::string, std::string>;

constexpr const char* kPython = "/usr/bin/python3";

Counts parse_counts(const std::string& text) {
  Counts counts;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    auto equals = line.find('=');
    if (equals != std::string::npos) counts[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return counts;
}

struct CommandResult {
  int status = -1;
  std::string output;
};

/// Runs a shell command, capturing its standard output (standard error passes through).
CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, got);
  int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string quote(const std::string& text) {
  return "'" + text + "'";
}

/// A temporary folder, removed with its contents.
class TemporaryFolder {
 public:
  explicit TemporaryFolder(const std::string& name)
      : path_(fs::temp_directory_path() / ("ldh-dpdk-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TemporaryFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

/// Rows and dead letters decoded from a source's chunks, with sums that do not depend on the
/// order in which queues handed their chunks on.
struct Decoded {
  std::uint64_t rows = 0;
  std::uint64_t sensor_id_sum = 0;
  std::uint64_t timestamp_sum = 0;
  DeadLetterCounts dead_letters;
  std::uint64_t chunks = 0;
  std::uint64_t chunk_records = 0;
};

/// Decodes chunks of sensor records the way a worker does.
class SensorDecoder {
 public:
  explicit SensorDecoder(Format format)
      : schema_(sensor_schema()), decoder_(make_decoder(format, schema_)) {
    for (std::size_t i = 0; i < schema_.fields.size(); ++i) {
      slots_.push_back({schema_.fields[i].type, !schema_.fields[i].required});
      field_slots_.push_back(static_cast<int>(i));
    }
    batch_ = std::make_unique<EventBatch>(slots_, 4096, page_aligned_memory());
  }

  void decode(std::span<const std::byte> chunk, std::uint64_t offset, Decoded& decoded) {
    ++decoded.chunks;
    std::vector<DeadLetter> dead_letters;
    DecodeTarget target{batch_.get(), &field_slots_, &strings_, &dead_letters, 0};
    DecodeCursor cursor;
    while (!cursor.done(chunk.size())) {
      decoder_->decode(chunk, offset, cursor, target);
      const auto* times = batch_->column(0).data<std::int64_t>();
      const auto* sensors = batch_->column(1).data<std::int32_t>();
      for (std::size_t row = 0; row < batch_->size(); ++row) {
        decoded.timestamp_sum += static_cast<std::uint64_t>(times[row]);
        decoded.sensor_id_sum += static_cast<std::uint64_t>(sensors[row]);
      }
      decoded.rows += batch_->size();
      batch_->clear();
    }
    for (const auto& letter : dead_letters) decoded.dead_letters.add(letter.reason);
  }

 private:
  Schema schema_;
  std::unique_ptr<Decoder> decoder_;
  std::vector<SlotSpec> slots_;
  std::vector<int> field_slots_;
  std::unique_ptr<EventBatch> batch_;
  StringDictionary strings_;
};

/// Reads the UDP payloads of a pcap file written by append_udp_frame (no VLAN tags).
std::vector<std::string> pcap_payloads(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::vector<std::string> payloads;
  std::size_t at = 24;
  while (at + 16 <= bytes.size()) {
    std::uint32_t captured;
    std::memcpy(&captured, bytes.data() + at + 8, 4);
    at += 16;
    constexpr std::size_t kHeaders = 14 + 20 + 8;
    payloads.push_back(bytes.substr(at + kHeaders, captured - kHeaders));
    at += captured;
  }
  return payloads;
}

/// Decodes each UDP payload of a pcap on its own, as datagrams independent of each other.
Decoded decode_payloads(Format format, const std::string& pcap) {
  SensorDecoder decoder(format);
  Decoded decoded;
  for (const auto& payload : pcap_payloads(pcap)) {
    decoder.decode(std::as_bytes(std::span(payload)), 0, decoded);
  }
  return decoded;
}

TEST(PcapWriterTest, GenWritesDatagramsOfWholeFramesWithValidChecksums) {
  TemporaryFolder folder("writer");
  const std::string pcap = folder.file("sensors.pcap");
  auto generated = run_command(std::string(LDH_EXECUTABLE) +
                               " gen --format binary --events 1003 --packet-events 10 --flows 3 "
                               "--udp-port 9100 --pcap " +
                               quote(pcap) + " 2>&1");
  ASSERT_EQ(generated.status, 0) << generated.output;
  const std::vector<std::string> payloads = pcap_payloads(pcap);
  ASSERT_EQ(payloads.size(), 101u);
  EXPECT_EQ(payloads.front().size(), 24u + 10u * 48u);
  EXPECT_EQ(payloads.back().size(), 24u + 3u * 48u);
  const Decoded decoded = decode_payloads(Format::binary, pcap);
  EXPECT_EQ(decoded.rows, 1003u);
  EXPECT_EQ(decoded.dead_letters.total(), 0u);
  if (run_command(std::string(kPython) + " -c 'import scapy.all' 2>/dev/null").status != 0) {
    GTEST_SKIP() << "scapy is missing: checksums not checked independently";
  }
  // scapy recomputes both checksums of every frame and reads the addresses back.
  auto checked = run_command(std::string(kPython) +
                             " -c \"\n"
                             "import sys\n"
                             "from scapy.all import rdpcap, Ether, IP, UDP\n"
                             "bad, ports = 0, set()\n"
                             "for frame in rdpcap(sys.argv[1]):\n"
                             "    copy = Ether(bytes(frame)); del copy[IP].chksum; "
                             "del copy[UDP].chksum\n"
                             "    copy = Ether(bytes(copy))\n"
                             "    bad += copy[IP].chksum != frame[IP].chksum\n"
                             "    bad += copy[UDP].chksum != frame[UDP].chksum\n"
                             "    bad += frame[UDP].dport != 9100 or frame[IP].flags != 'DF'\n"
                             "    ports.add(frame[UDP].sport)\n"
                             "print(f'bad={bad}'); print(f'ports={len(ports)}')\n"
                             "\" " +
                             quote(pcap));
  ASSERT_EQ(checked.status, 0);
  Counts counts = parse_counts(checked.output);
  EXPECT_EQ(counts["bad"], "0");
  EXPECT_EQ(counts["ports"], "3");
}

#ifdef LDH_HAVE_DPDK
// The DPDK source itself: each receiver in a child process with an EAL of its own.

constexpr auto kChildTimeout = std::chrono::seconds(60);
// What every test receiver runs with: no hugepages, no PCI scan, no shared files, no telemetry
// socket, so receivers of parallel tests never meet.
constexpr const char* kEal =
    "[--no-huge, --no-pci, --no-shconf, -m, '256', -l, '0', --no-telemetry";

const std::string kSchema = testing::sensor_format("binary");

std::uint64_t number(const Counts& counts, const std::string& key) {
  auto found = counts.find(key);
  if (found == counts.end()) {
    ADD_FAILURE() << "no '" << key << "' reported";
    return 0;
  }
  return std::stoull(found->second);
}

/// Writes key=value lines to the parent.
class Reporter {
 public:
  explicit Reporter(int descriptor) : descriptor_(descriptor) {}
  void operator()(const std::string& key, const std::string& value) {
    std::string line = key + "=" + value;
    std::replace(line.begin(), line.end(), '\n', ' ');
    line += '\n';
    [[maybe_unused]] auto written = ::write(descriptor_, line.data(), line.size());
  }
  void operator()(const std::string& key, std::uint64_t value) {
    (*this)(key, std::to_string(value));
  }

 private:
  int descriptor_;
};

/// Runs `body` in a child process (a fresh EAL each) and collects the lines it reports.
class Child {
 public:
  explicit Child(const std::function<void(Reporter&)>& body) {
    int ends[2];
    if (::pipe(ends) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ends[0]);
      Reporter report(ends[1]);
      int status = 0;
      try {
        body(report);
      } catch (const std::exception& error) {
        report("error", error.what());
        status = 1;
      }
      ::_exit(status);
    }
    ::close(ends[1]);
    descriptor_ = ends[0];
    deadline_ = std::chrono::steady_clock::now() + kChildTimeout;
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (descriptor_ >= 0) ::close(descriptor_);
  }

  /// Reads reported lines until `key` arrives; false at the end or the deadline.
  bool wait_for(const std::string& key) {
    while (true) {
      if (parse_counts(text_).count(key) > 0) return true;
      if (!read_more()) return false;
    }
  }

  /// Reads everything the child reports and waits for it to exit.
  Counts finish() {
    while (read_more()) {
    }
    if (std::chrono::steady_clock::now() >= deadline_) ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    Counts counts = parse_counts(text_);
    counts["exit"] = std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128);
    return counts;
  }

 private:
  bool read_more() {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd ready{descriptor_, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    ssize_t got = ::read(descriptor_, buffer, sizeof buffer);
    if (got <= 0) return false;
    text_.append(buffer, static_cast<std::size_t>(got));
    return true;
  }

  pid_t pid_ = -1;
  int descriptor_ = -1;
  bool reaped_ = false;
  std::string text_;
  std::chrono::steady_clock::time_point deadline_;
};

/// Moves the calling process into the network namespace `name` (made by `ip netns add`).
void enter_namespace(const std::string& name) {
  int descriptor = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0 || ::setns(descriptor, CLONE_NEWNET) != 0) {
    throw std::runtime_error("cannot enter network namespace " + name);
  }
  ::close(descriptor);
}

/// The child's part: receives what the config's one dpdk source gets, decodes it, and
/// reports the rows, dead letters and the source's counters.
void receive(Reporter& report, const std::string& config_text, const std::string& netns = "") {
  if (!netns.empty()) enter_namespace(netns);
  Config config = parse_config(config_text, "dpdk_source_test.yaml");
  const SourceConfig& source_config = config.sources.at(0);
  SourceOptions options;
  options.chunk_records = 4096;
  DpdkSource source(source_config, 0, config.format.schema, options, page_aligned_memory());
  report("ready", 1);
  SensorDecoder decoder(source_config.format);
  Decoded decoded;
  RawChunk chunk;
  while (source.next(chunk)) {
    decoded.chunk_records += chunk.records;
    decoder.decode(chunk.bytes, chunk.stream_offset, decoded);
    chunk = RawChunk{};
  }
  report("rows", decoded.rows);
  report("sensor_id_sum", decoded.sensor_id_sum);
  report("timestamp_sum", decoded.timestamp_sum);
  report("chunks_decoded", decoded.chunks);
  report("chunk_records", decoded.chunk_records);
  report("dead_letters", decoded.dead_letters.total());
  for (std::size_t reason = 0; reason < kDeadLetterReasonCount; ++reason) {
    report("dead_" + std::string(to_string(static_cast<DeadLetterReason>(reason))),
           decoded.dead_letters.by_reason[reason]);
  }
  const DpdkSourceStatistics statistics = source.snapshot();
  report("driver", statistics.driver);
  report("rss", statistics.rss ? 1 : 0);
  report("bytes_read", source.bytes_read());
  std::vector<SourceCounter> counters;
  source.statistics(counters);
  for (const auto& counter : counters) report(counter.name, counter.value);
  report("packets", statistics.packets);
  report("chunks", statistics.chunks);
}

/// Makes a config with one dpdk source: `settings` are keys of the source, `dpdk_settings`
/// keys of its `dpdk` map besides `eal`.
std::string dpdk_config(const std::string& format, const std::string& eal_tail,
                        const std::string& settings, const std::string& dpdk_settings = "",
                        const std::string& destination = "{type: stdout}") {
  return "input:\n  sources:\n    - name: nic\n      type: dpdk\n      format: " + format + "\n" +
         settings + "      dpdk:\n        eal: " + kEal + ", " + eal_tail + "]\n" + dpdk_settings +
         kSchema + "output:\n  destinations:\n    - " + destination + "\n";
}

TEST(DpdkSourceTest, ReadsEveryEventOfGeneratedPcapsOnTwoQueues) {
  TemporaryFolder folder("gen");
  const std::string pcap = folder.file("sensors.pcap");
  auto generated = run_command(std::string(LDH_EXECUTABLE) +
                               " gen --format binary --events 50000 --seed 7 --packet-events 10 "
                               "--flows 4 --udp-port 9000 --pcap " +
                               quote(pcap));
  ASSERT_EQ(generated.status, 0);
  const Decoded expected = decode_payloads(Format::binary, pcap);
  ASSERT_EQ(expected.rows, 50000u);
  // The same file on both queues (net_pcap gives a queue per rx_pcap).
  Child child([&](Reporter& report) {
    receive(report,
            dpdk_config("binary", "'--vdev=net_pcap0,rx_pcap=" + pcap + ",rx_pcap=" + pcap + "'",
                        "      udpPort: 9000\n      events: 100000\n"
                        "      endAfterIdle: 5s\n",
                        "        queues: 2\n"));
  });
  Counts counts = child.finish();
  ASSERT_EQ(counts["exit"], "0") << counts["error"];
  EXPECT_EQ(counts["driver"], "net_pcap");
  EXPECT_EQ(number(counts, "rows"), 2 * expected.rows);
  EXPECT_EQ(number(counts, "sensor_id_sum"), 2 * expected.sensor_id_sum);
  EXPECT_EQ(number(counts, "timestamp_sum"), 2 * expected.timestamp_sum);
  EXPECT_EQ(number(counts, "dead_letters"), 0u);
  EXPECT_EQ(number(counts, "packets"), 10000u);
  EXPECT_EQ(number(counts, "datagrams"), 10000u);
  EXPECT_EQ(number(counts, "records"), 100000u);
  EXPECT_EQ(number(counts, "chunk_records"), 100000u);
  EXPECT_EQ(number(counts, "queue0.packets"), 5000u);
  EXPECT_EQ(number(counts, "queue1.packets"), 5000u);
  EXPECT_EQ(number(counts, "port0.ipackets"), 10000u);
  EXPECT_EQ(number(counts, "port0.imissed"), 0u);
  EXPECT_EQ(number(counts, "malformed_frames"), 0u);
  EXPECT_EQ(number(counts, "not_udp_ipv4"), 0u);
  EXPECT_EQ(number(counts, "partial_payloads"), 0u);
  EXPECT_EQ(number(counts, "chunks"), number(counts, "chunks_decoded"));
  EXPECT_GE(number(counts, "chunks"), 2u * 50000u / 4096u);
  EXPECT_EQ(number(counts, "bytes_read"), 2 * 5000u * (24u + 10u * 48u));
}

TEST(DpdkSourceTest, ProtobufPcapWithBadRecordsEndsWhenTheFileIsExhausted) {
  TemporaryFolder folder("protobuf");
  const std::string pcap = folder.file("sensors.pcap");
  auto generated = run_command(std::string(LDH_EXECUTABLE) +
                               " gen --format protobuf --events 20000 --seed 3 --bad-share 0.01 "
                               "--packet-events 7 --pcap " +
                               quote(pcap) + " 2>&1");
  ASSERT_EQ(generated.status, 0) << generated.output;
  const Decoded expected = decode_payloads(Format::protobuf, pcap);
  ASSERT_GT(expected.dead_letters.total(), 0u);
  ASSERT_EQ(expected.rows + expected.dead_letters.total(), 20000u);
  Child child([&](Reporter& report) {
    receive(report, dpdk_config("protobuf", "'--vdev=net_pcap0,rx_pcap=" + pcap + "'",
                                "      endAfterIdle: 200ms\n"));
  });
  Counts counts = child.finish();
  ASSERT_EQ(counts["exit"], "0") << counts["error"];
  EXPECT_EQ(number(counts, "rows"), expected.rows);
  EXPECT_EQ(number(counts, "sensor_id_sum"), expected.sensor_id_sum);
  EXPECT_EQ(number(counts, "timestamp_sum"), expected.timestamp_sum);
  EXPECT_EQ(number(counts, "dead_letters"), expected.dead_letters.total());
  for (std::size_t reason = 0; reason < kDeadLetterReasonCount; ++reason) {
    const std::string name(to_string(static_cast<DeadLetterReason>(reason)));
    EXPECT_EQ(number(counts, "dead_" + name), expected.dead_letters.by_reason[reason]) << name;
  }
  EXPECT_EQ(number(counts, "records"), 20000u);
  EXPECT_EQ(number(counts, "datagrams"), (20000u + 6u) / 7u);
}

TEST(DpdkSourceTest, AccountsForEveryFrameOfAScapyPcap) {
  if (::access(kPython, X_OK) != 0) GTEST_SKIP() << kPython << " is missing";
  if (run_command(std::string(kPython) + " -c 'import scapy.all' 2>/dev/null").status != 0) {
    GTEST_SKIP() << "scapy is missing (apt-get install python3-scapy)";
  }
  TemporaryFolder folder("scapy");
  const std::string pcap = folder.file("scapy.pcap");
  auto written =
      run_command(std::string(kPython) + " " LDH_SOURCE_DIR "/scripts/write_pcap.py pcap " +
                  quote(pcap) + " --port 9000 --packets 400 --events 12");
  ASSERT_EQ(written.status, 0);
  Counts expected = parse_counts(written.output);
  Child child([&](Reporter& report) {
    receive(report, dpdk_config("binary", "'--vdev=net_pcap0,rx_pcap=" + pcap + "'",
                                "      udpPort: 9000\n      endAfterIdle: 300ms\n"));
  });
  Counts counts = child.finish();
  ASSERT_EQ(counts["exit"], "0") << counts["error"];
  EXPECT_EQ(number(counts, "rows"), number(expected, "events"));
  EXPECT_EQ(counts["sensor_id_sum"], expected["sensor_id_sum"]);
  EXPECT_EQ(counts["timestamp_sum"], expected["timestamp_sum"]);
  EXPECT_EQ(number(counts, "packets"), number(expected, "packets"));
  EXPECT_EQ(number(counts, "port0.ipackets"), number(expected, "packets"));
  for (const char* key :
       {"not_udp_ipv4", "other_udp_port", "fragments", "malformed_frames", "partial_payloads",
        "dead_malformed", "dead_truncated", "dead_schema_mismatch", "dead_not_a_number"}) {
    EXPECT_EQ(number(counts, key), number(expected, key)) << key;
  }
  EXPECT_EQ(number(counts, "dead_letters"),
            number(expected, "dead_malformed") + number(expected, "dead_truncated") +
                number(expected, "dead_schema_mismatch") + number(expected, "dead_not_a_number"));
  // Every frame is taken or set aside, each for one reason.
  EXPECT_EQ(number(counts, "datagrams") + number(counts, "not_udp_ipv4") +
                number(counts, "other_udp_port") + number(counts, "fragments") +
                number(counts, "malformed_frames"),
            number(counts, "packets"));
}

TEST(DpdkSourceTest, ChunksHeldDownstreamMakeTheQueueWaitForABufferAndLoseNothing) {
  TemporaryFolder folder("buffers");
  const std::string pcap = folder.file("sensors.pcap");
  ASSERT_EQ(run_command(std::string(LDH_EXECUTABLE) +
                        " gen --format binary --events 20000 --packet-events 10 --pcap " +
                        quote(pcap) + " 2>/dev/null")
                .status,
            0);
  Child child([&](Reporter& report) {
    // Two 64 KiB buffers: the third chunk must wait until a held one comes back.
    Config config = parse_config(
        dpdk_config("binary", "'--vdev=net_pcap0,rx_pcap=" + pcap + "'", "      events: 20000\n",
                    "        buffers: 2\n        bufferSize: 65536\n"),
        "buffers.yaml");
    DpdkSource source(config.sources[0], 0, config.format.schema, SourceOptions{},
                      page_aligned_memory());
    std::vector<RawChunk> held(2);
    std::uint64_t records = 0;
    for (auto& chunk : held) {
      if (!source.next(chunk)) throw std::runtime_error("the source ended early");
      records += chunk.records;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    report("waits_while_held", source.snapshot().buffer_waits);
    report("packets_while_held", source.snapshot().packets);
    held.clear();
    RawChunk chunk;
    while (source.next(chunk)) {
      records += chunk.records;
      chunk = RawChunk{};
    }
    report("records", records);
    report("datagrams", source.snapshot().datagrams);
  });
  Counts counts = child.finish();
  ASSERT_EQ(counts["exit"], "0") << counts["error"];
  EXPECT_GE(number(counts, "waits_while_held"), 1u);
  // Polling stopped within the burst that found no buffer: two buffers of 130 payloads of 504
  // bytes, the payload that did not fit, and the rest of its 32-packet burst.
  EXPECT_LE(number(counts, "packets_while_held"), 2u * 130u + 32u);
  EXPECT_EQ(number(counts, "records"), 20000u);
  EXPECT_EQ(number(counts, "datagrams"), 2000u);
}

/// A network namespace holding a veth pair, removed (with the pair) when it goes.
class VethNamespace {
 public:
  VethNamespace()
      : name_("ldh-dpdk-" + std::to_string(::getpid())),
        receiver_("ldh" + std::to_string(::getpid()) + "r"),
        sender_("ldh" + std::to_string(::getpid()) + "s") {}
  ~VethNamespace() {
    if (created_) run_command("ip netns delete " + name_ + " 2>/dev/null");
  }

  /// Creates the namespace and the pair; returns why not when it cannot.
  std::optional<std::string> create() {
    run_command("ip netns delete " + name_ + " 2>/dev/null");
    auto added = run_command("ip netns add " + name_ + " 2>&1");
    if (added.status != 0) return "cannot create a network namespace: " + added.output;
    created_ = true;
    const std::string in = "ip netns exec " + name_ + " ";
    // No IPv6 (router solicitations), no address on the receiving end (no ICMP replies), and
    // a fixed neighbour entry (no ARP): the receiver sees the sender's datagrams only.
    const std::string script =
        "ip link add " + receiver_ + " netns " + name_ + " type veth peer name " + sender_ +
        " netns " + name_ + " && " + in + "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && " + in +
        "sysctl -qw net.ipv6.conf.default.disable_ipv6=1 && " + in + "ip link set " + receiver_ +
        " up && " + in + "ip link set " + sender_ + " up && " + in +
        "ip addr add 10.77.0.1/24 dev " + sender_ + " && " + in + "ip neigh add 10.77.0.2 lladdr " +
        "$(" + in + "cat /sys/class/net/" + receiver_ + "/address) dev " + sender_ + " 2>&1";
    auto made = run_command(script);
    if (made.status != 0) return "cannot set up a veth pair: " + made.output;
    return std::nullopt;
  }

  const std::string& name() const { return name_; }
  const std::string& receiver() const { return receiver_; }

 private:
  std::string name_;
  std::string receiver_;
  std::string sender_;
  bool created_ = false;
};

TEST(DpdkSourceTest, AfPacketOnAVethPairReceivesEveryDatagramOfUdpSockets) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  if (::access(kPython, X_OK) != 0) GTEST_SKIP() << kPython << " is missing";
  if (run_command("ip -V >/dev/null 2>&1").status != 0) GTEST_SKIP() << "iproute2 is missing";
  VethNamespace veth;
  if (auto why_not = veth.create()) GTEST_SKIP() << *why_not;
  constexpr std::uint64_t kPackets = 3000;
  constexpr std::uint64_t kEventsPerPacket = 10;
  Child child([&](Reporter& report) {
    receive(
        report,
        dpdk_config("binary",
                    "'--vdev=net_af_packet0,iface=" + veth.receiver() + ",qpairs=2,framecnt=8192'",
                    "      udpPort: 9000\n      events: " +
                        std::to_string(kPackets * kEventsPerPacket) + "\n      endAfterIdle: 2s\n",
                    "        queues: 2\n"),
        veth.name());
  });
  ASSERT_TRUE(child.wait_for("ready")) << child.finish()["error"];
  auto sent =
      run_command("ip netns exec " + veth.name() + " " + kPython +
                  " " LDH_SOURCE_DIR
                  "/scripts/write_pcap.py send 10.77.0.2 --port 9000 "
                  "--flows 8 --packets " +
                  std::to_string(kPackets) + " --events " + std::to_string(kEventsPerPacket));
  ASSERT_EQ(sent.status, 0);
  Counts expected = parse_counts(sent.output);
  Counts counts = child.finish();
  ASSERT_EQ(counts["exit"], "0") << counts["error"];
  EXPECT_EQ(counts["driver"], "net_af_packet");
  // Every datagram was received or counted by the port as missed. net_af_packet (DPDK 22.11)
  // does not count its ring's drops, so the sender paces itself and the rings hold 8192 frames
  // each: nothing is lost, and imissed stays 0.
  const std::uint64_t missed = number(counts, "port0.imissed");
  EXPECT_EQ(number(counts, "datagrams") + missed, kPackets);
  EXPECT_EQ(number(counts, "rows") + missed * kEventsPerPacket, number(expected, "events"));
  if (missed == 0) {
    EXPECT_EQ(counts["sensor_id_sum"], expected["sensor_id_sum"]);
    EXPECT_EQ(counts["timestamp_sum"], expected["timestamp_sum"]);
  }
  EXPECT_EQ(number(counts, "dead_letters"), 0u);
  EXPECT_EQ(number(counts, "malformed_frames"), 0u);
  // The kernel's fanout hash spreads the eight flows over the two queues.
  EXPECT_EQ(number(counts, "queue0.packets") + number(counts, "queue1.packets"),
            number(counts, "packets"));
}

TEST(DpdkSourceTest, APausedSourceStopsPollingAndTheRingHoldsWhatArrives) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  if (::access(kPython, X_OK) != 0) GTEST_SKIP() << kPython << " is missing";
  if (run_command("ip -V >/dev/null 2>&1").status != 0) GTEST_SKIP() << "iproute2 is missing";
  VethNamespace veth;
  if (auto why_not = veth.create()) GTEST_SKIP() << *why_not;
  TemporaryFolder folder("pause");
  const std::string resume = folder.file("resume");
  constexpr std::uint64_t kPackets = 2000;
  constexpr std::uint64_t kEventsPerPacket = 4;
  Child child([&](Reporter& report) {
    enter_namespace(veth.name());
    // A 512-frame ring, and flow control's `block` holds the source while 2000 datagrams come.
    Config config = parse_config(
        dpdk_config("binary", "'--vdev=net_af_packet0,iface=" + veth.receiver() + ",framecnt=512'",
                    "      udpPort: 9000\n      endAfterIdle: 500ms\n"),
        "pause.yaml");
    DpdkSource source(config.sources[0], 0, config.format.schema, SourceOptions{},
                      page_aligned_memory());
    source.set_paused(true);
    std::uint64_t records = 0;
    std::thread drain([&] {
      RawChunk chunk;
      while (source.next(chunk)) {
        records += chunk.records;
        chunk = RawChunk{};
      }
    });
    report("ready", 1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!fs::exists(resume) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    report("packets_while_paused", source.snapshot().packets);
    source.set_paused(false);
    drain.join();
    const DpdkSourceStatistics statistics = source.snapshot();
    report("datagrams", statistics.datagrams);
    report("missed", statistics.port_missed);
    report("records", records);
  });
  ASSERT_TRUE(child.wait_for("ready")) << child.finish()["error"];
  auto sent =
      run_command("ip netns exec " + veth.name() + " " + kPython +
                  " " LDH_SOURCE_DIR
                  "/scripts/write_pcap.py send 10.77.0.2 --port 9000 "
                  "--flows 1 --pause-every 0 --packets " +
                  std::to_string(kPackets) + " --events " + std::to_string(kEventsPerPacket));
  ASSERT_EQ(sent.status, 0);
  std::ofstream(resume) << "go\n";
  Counts counts = child.finish();
  ASSERT_EQ(counts["exit"], "0") << counts["error"];
  EXPECT_EQ(number(counts, "packets_while_paused"), 0u);
  // What the ring held is delivered after the resume; the rest overflowed it while the source
  // was paused. (A NIC counts that overflow in imissed; net_af_packet in DPDK 22.11 does not.)
  const std::uint64_t datagrams = number(counts, "datagrams");
  EXPECT_GT(datagrams, 0u);
  EXPECT_LE(datagrams, 512u);
  EXPECT_LE(datagrams + number(counts, "missed"), kPackets);
  EXPECT_EQ(number(counts, "records"), datagrams * kEventsPerPacket);
}

TEST(DpdkSourceTest, RefusesASecondEalConfigurationAndMissingPortsClearly) {
  TemporaryFolder folder("errors");
  const std::string pcap = folder.file("one.pcap");
  std::string bytes;
  append_pcap_header(bytes);
  std::ofstream(pcap, std::ios::binary) << bytes;
  Child child([&](Reporter& report) {
    const std::string eal = "'--vdev=net_pcap0,rx_pcap=" + pcap + "'";
    Config config =
        parse_config(dpdk_config("binary", eal, "      endAfterIdle: 50ms\n"), "first.yaml");
    SourceOptions options;
    DpdkSource source(config.sources[0], 0, config.format.schema, options, page_aligned_memory());
    RawChunk chunk;
    report("empty_file_ends", source.next(chunk) ? 0 : 1);
    auto attempt = [&](const std::string& key, const std::string& text) {
      try {
        Config other = parse_config(text, key + ".yaml");
        DpdkSource second(other.sources[0], 1, other.format.schema, options, page_aligned_memory());
        report(key, "no error");
      } catch (const UserError& error) {
        report(key, error.what());
      }
    };
    attempt("other_eal", dpdk_config("binary", "'--vdev=net_pcap1,rx_pcap=" + pcap + "'", ""));
    attempt("missing_port", dpdk_config("binary", eal, "", "        port: 5\n"));
    attempt("too_many_queues", dpdk_config("binary", eal, "", "        queues: 4\n"));
  });
  Counts counts = child.finish();
  ASSERT_EQ(counts["exit"], "0") << counts["error"];
  EXPECT_EQ(counts["empty_file_ends"], "1");
  EXPECT_NE(counts["other_eal"].find("already started in this process with other arguments"),
            std::string::npos)
      << counts["other_eal"];
  EXPECT_NE(counts["missing_port"].find("DPDK port 5 does not exist"), std::string::npos)
      << counts["missing_port"];
  EXPECT_NE(counts["too_many_queues"].find("has at most 1 RX queues"), std::string::npos)
      << counts["too_many_queues"];
}

TEST(DpdkSourceTest, LdhRunReadsAPcapEndToEnd) {
  TemporaryFolder folder("run");
  const std::string pcap = folder.file("sensors.pcap");
  ASSERT_EQ(run_command(std::string(LDH_EXECUTABLE) +
                        " gen --format binary --events 30000 --packet-events 20 --pcap " +
                        quote(pcap) + " 2>/dev/null")
                .status,
            0);
  const std::string config_path = folder.file("run.yaml");
  const std::string output = folder.file("events.jsonl");
  std::string config =
      dpdk_config("binary", "'--vdev=net_pcap0,rx_pcap=" + pcap + "'", "      events: 30000\n", "",
                  "{type: jsonl, path: " + output + "}");
  config.insert(config.find("output:"), "  deadLetter: " + folder.file("dead.jsonl") + "\n");
  std::ofstream(config_path) << config;
  auto run = run_command(std::string(LDH_EXECUTABLE) + " run " + quote(config_path) + " 2>&1");
  ASSERT_EQ(run.status, 0) << run.output;
  auto lines = run_command("wc -l < " + quote(output));
  EXPECT_EQ(std::stoull(lines.output), 30000u) << run.output;
}

#else
TEST(DpdkSourceTest, NeedsABuildWithDpdk) {
  GTEST_SKIP() << "this build has no DPDK (install libdpdk-dev, configure with -DLDH_DPDK=ON)";
}
#endif

}  // namespace
}  // namespace ldh
