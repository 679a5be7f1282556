#include "ingest/udp_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "host/executor.h"
#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "run_pipeline.h"

namespace ldh {
namespace {

using testing::ScratchFolder;
using testing::StringSink;

// The sensor schema of docs/formats.md: 48-byte binary records, schema id 0x6C9F0A22.
const std::string kRest = R"yaml(
)yaml" + testing::sensor_format("binary") +
                          R"yaml(output:
  destinations: [{type: stdout}]
)yaml";

/// Builds a pipeline whose only source is `source` (a flow map).
Config pipeline_with(const std::string& source) {
  return parse_config("input:\n  sources: [" + source + "]\n" + kRest, "udp.yaml");
}

/// Encodes `count` datagrams of `per_datagram` sensor readings each (one binary frame each).
std::vector<std::string> make_datagrams(const Schema& schema, Format format, std::size_t count,
                                        std::uint32_t per_datagram, std::uint64_t seed = 3) {
  GeneratorConfig generator;
  generator.events = 0;
  generator.sensors = 17;
  generator.seed = seed;
  SensorGenerator sensors(generator, schema);
  auto encoder = make_encoder(format, schema, per_datagram);
  std::vector<std::string> datagrams(count);
  for (auto& datagram : datagrams) {
    sensors.generate(*encoder, per_datagram, datagram);
    encoder->flush(datagram);
  }
  return datagrams;
}

/// Sends datagrams to 127.0.0.1:port from one ordinary UDP socket (its own source port).
class Sender {
 public:
  explicit Sender(std::uint16_t port) : descriptor_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    target_.sin_family = AF_INET;
    target_.sin_port = htons(port);
    target_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~Sender() { ::close(descriptor_); }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  void send(const std::string& datagram) {
    ssize_t sent = ::sendto(descriptor_, datagram.data(), datagram.size(), 0,
                            reinterpret_cast<const sockaddr*>(&target_), sizeof(target_));
    EXPECT_EQ(sent, static_cast<ssize_t>(datagram.size()));
  }

  /// Sends all, pausing 1 ms after every `burst` datagrams so a receiver keeps up.
  void send_paced(const std::vector<std::string>& datagrams, std::size_t burst) {
    for (std::size_t i = 0; i < datagrams.size(); ++i) {
      send(datagrams[i]);
      if ((i + 1) % burst == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  int descriptor_;
  sockaddr_in target_{};
};

/// Lets a test read a source's counters after the executor, which destroys its sources, ran.
class SharedSource final : public Source {
 public:
  explicit SharedSource(std::shared_ptr<Source> source) : source_(std::move(source)) {}
  bool next(RawChunk& chunk) override { return source_->next(chunk); }
  Format format() const override { return source_->format(); }
  const std::string& name() const override { return source_->name(); }
  std::uint64_t bytes_read() const override { return source_->bytes_read(); }
  bool replayable() const override { return source_->replayable(); }
  void set_paused(bool paused) override { source_->set_paused(paused); }

 private:
  std::shared_ptr<Source> source_;
};

struct UdpRun {
  RunSummary summary;
  UdpSourceStatistics statistics;
  std::string results;
  std::string dead_letters;
};

/// Runs `config` (one udp source) in-process; `send` gets the bound port and runs on its own
/// thread while the pipeline runs; `before` (when given) sends before the first next().
UdpRun run_udp(const Config& config, const std::function<void(std::uint16_t)>& send,
               const std::function<void(std::uint16_t)>& before = {}) {
  ScratchFolder scratch;
  RunOptions options;
  options.threads = 2;
  options.batch_size = testing::default_batch_size();
  options.dead_letter_path = scratch.file("dead.jsonl");
  Executor executor(config, options);
  auto source = std::make_shared<UdpSource>(config.sources.at(0), 0, executor.plan().schema(),
                                            executor.source_options());
  const std::uint16_t port = source->port();
  if (before) before(port);
  std::thread sender([&] { send(port); });
  UdpRun run;
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(std::make_unique<SharedSource>(source));
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<StringSink>(run.results));
  run.summary = executor.run(std::move(sources), std::move(sinks));
  sender.join();
  run.statistics = source->statistics();
  if (std::filesystem::exists(options.dead_letter_path)) {
    run.dead_letters = testing::read_file(options.dead_letter_path);
  }
  return run;
}

std::uint64_t dead_letters_of(const RunSummary& summary, DeadLetterReason reason) {
  return summary.dead_letters.by_reason[static_cast<std::size_t>(reason)];
}

TEST(UdpSourceTest, AccountsForEveryEventInEachFormat) {
  const std::size_t datagrams = 1500;
  const std::uint32_t per_datagram = 4;
  for (Format format : {Format::binary, Format::protobuf, Format::json}) {
    SCOPED_TRACE(std::string(to_string(format)));
    const std::uint64_t events = datagrams * per_datagram;
    // The buffer holds every datagram even if the receive thread is starved: no drops.
    Config config = pipeline_with("{type: udp, port: 0, format: " + std::string(to_string(format)) +
                                  ", receiveBuffer: 4194304, events: " + std::to_string(events) +
                                  ", endAfterIdle: 20s}");
    auto payloads = make_datagrams(config.format.schema, format, datagrams, per_datagram);
    if (format == Format::json) {
      // A datagram's last line may go without its newline.
      for (std::size_t i = 0; i < payloads.size(); i += 2) payloads[i].pop_back();
    }
    std::uint64_t bytes = 0;
    for (const auto& payload : payloads) bytes += payload.size();
    UdpRun run = run_udp(config, [&](std::uint16_t port) {
      Sender sender(port);
      sender.send_paced(payloads, 32);
    });
    const UdpSourceStatistics& statistics = run.statistics;
    EXPECT_EQ(statistics.datagrams + statistics.kernel_drops, datagrams);
    EXPECT_EQ(statistics.kernel_drops, 0u);
    EXPECT_EQ(statistics.datagrams, datagrams);
    EXPECT_EQ(statistics.bytes, bytes);
    EXPECT_EQ(statistics.records, events);
    EXPECT_EQ(statistics.partial_datagrams, 0u);
    EXPECT_EQ(statistics.unread_at_end, 0u);
    EXPECT_GE(statistics.chunks, 1u);
    EXPECT_EQ(run.summary.rows_decoded, events);
    EXPECT_EQ(run.summary.dead_letters.total(), 0u) << run.dead_letters;
    EXPECT_EQ(run.summary.bytes_in, bytes);
    EXPECT_EQ(static_cast<std::uint64_t>(std::count(run.results.begin(), run.results.end(), '\n')),
              events);
  }
}

TEST(UdpSourceTest, ReusePortThreadsShareTheFlows) {
  const std::size_t senders = 16;
  const std::size_t per_sender = 100;
  const std::uint32_t per_datagram = 4;
  const std::uint64_t events = senders * per_sender * per_datagram;
  Config config = pipeline_with(
      "{type: udp, port: 0, threads: 4, receiveBuffer: 4194304, events: " + std::to_string(events) +
      ", endAfterIdle: 20s}");
  auto payloads =
      make_datagrams(config.format.schema, Format::binary, senders * per_sender, per_datagram);
  UdpRun run = run_udp(config, [&](std::uint16_t port) {
    // The kernel spreads flows (source address and port) over the sockets of the port.
    std::vector<std::unique_ptr<Sender>> flows;
    for (std::size_t s = 0; s < senders; ++s) flows.push_back(std::make_unique<Sender>(port));
    for (std::size_t i = 0; i < payloads.size(); ++i) {
      flows[i % senders]->send(payloads[i]);
      if ((i + 1) % 32 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const UdpSourceStatistics& statistics = run.statistics;
  ASSERT_EQ(statistics.sockets.size(), 4u);
  EXPECT_EQ(statistics.datagrams + statistics.kernel_drops, senders * per_sender);
  EXPECT_EQ(statistics.kernel_drops, 0u);
  std::size_t busy = 0;
  std::uint64_t datagrams = 0;
  for (const auto& socket : statistics.sockets) {
    busy += socket.datagrams > 0 ? 1 : 0;
    datagrams += socket.datagrams;
  }
  EXPECT_GE(busy, 2u);
  EXPECT_EQ(datagrams, statistics.datagrams);
  EXPECT_EQ(run.summary.rows_decoded, events);
  EXPECT_EQ(run.summary.dead_letters.total(), 0u) << run.dead_letters;
}

TEST(UdpSourceTest, CountsKernelDropsOfABurst) {
  const std::uint32_t per_datagram = 4;
  // The smallest buffer the kernel grants holds a handful of datagrams.
  Config config = pipeline_with("{type: udp, port: 0, receiveBuffer: 1, endAfterIdle: 500ms}");
  auto burst = make_datagrams(config.format.schema, Format::binary, 3000, per_datagram, 5);
  auto trickle = make_datagrams(config.format.schema, Format::binary, 50, per_datagram, 6);
  // Before the first next() nothing reads the socket, so most of the first burst is dropped;
  // the second comes while the source runs, and the trickle after it carries the kernel's
  // drop counter (SO_RXQ_OVFL) as well.
  UdpRun run = run_udp(
      config,
      [&](std::uint16_t port) {
        Sender sender(port);
        for (const auto& payload : burst) sender.send(payload);
        sender.send_paced(trickle, 1);
      },
      [&](std::uint16_t port) {
        Sender sender(port);
        for (const auto& payload : burst) sender.send(payload);
      });
  const UdpSourceStatistics& statistics = run.statistics;
  const std::uint64_t sent = 2 * burst.size() + trickle.size();
  EXPECT_GT(statistics.kernel_drops, 0u);
  EXPECT_GT(statistics.datagrams, 0u);
  EXPECT_EQ(statistics.datagrams + statistics.kernel_drops + statistics.unread_at_end, sent);
  EXPECT_EQ(statistics.unread_at_end, 0u);
  EXPECT_LE(statistics.receive_buffer_granted, 16384u);
  EXPECT_EQ(run.summary.rows_decoded, statistics.datagrams * per_datagram);
  EXPECT_EQ(run.summary.rows_decoded, statistics.records);
}

TEST(UdpSourceTest, BadDatagramsBecomeDeadLetters) {
  Config config = pipeline_with("{type: udp, port: 0, name: feed, endAfterIdle: 300ms}");
  const Schema& schema = config.format.schema;
  auto good = make_datagrams(schema, Format::binary, 6, 4);
  std::string wrong_schema = good[3];
  wrong_schema[8] ^= 0x5a;  // schema_id
  const std::vector<std::string> payloads = {
      good[0],      good[1].substr(0, 100),  // a frame cut after 100 of its 216 bytes
      good[2],
      "hello",                                        // no frame at all
      "",                                             // nothing: skipped
      wrong_schema, good[4] + good[5].substr(0, 30),  // a whole frame, then a cut header
      good[5],
  };
  UdpRun run = run_udp(config, [&](std::uint16_t port) {
    Sender sender(port);
    sender.send_paced(payloads, 1);
  });
  EXPECT_EQ(run.statistics.datagrams, payloads.size());
  EXPECT_EQ(run.statistics.kernel_drops, 0u);
  EXPECT_EQ(run.statistics.partial_datagrams, 3u);
  EXPECT_EQ(run.summary.rows_decoded, 4u * 4u);
  EXPECT_EQ(dead_letters_of(run.summary, DeadLetterReason::truncated), 2u) << run.dead_letters;
  EXPECT_EQ(dead_letters_of(run.summary, DeadLetterReason::malformed), 1u) << run.dead_letters;
  EXPECT_EQ(dead_letters_of(run.summary, DeadLetterReason::schema_mismatch), 1u)
      << run.dead_letters;
  EXPECT_EQ(run.summary.dead_letters.total(), 4u);
  EXPECT_NE(run.dead_letters.find("\"source\":\"feed\""), std::string::npos) << run.dead_letters;
}

TEST(UdpSourceTest, BadProtobufAndJsonDatagramsBecomeDeadLetters) {
  {
    Config config = pipeline_with("{type: udp, port: 0, format: protobuf, endAfterIdle: 300ms}");
    auto good = make_datagrams(config.format.schema, Format::protobuf, 3, 2);
    const std::vector<std::string> payloads = {
        good[0],
        good[1].substr(0, good[1].size() - 5),  // the second message is cut
        std::string(11, '\xff'),                // a length prefix longer than 10 bytes
        good[2],
    };
    UdpRun run = run_udp(config, [&](std::uint16_t port) {
      Sender sender(port);
      sender.send_paced(payloads, 1);
    });
    EXPECT_EQ(run.statistics.partial_datagrams, 2u);
    EXPECT_EQ(run.summary.rows_decoded, 2u + 1u + 2u);
    EXPECT_EQ(dead_letters_of(run.summary, DeadLetterReason::truncated), 1u) << run.dead_letters;
    EXPECT_EQ(dead_letters_of(run.summary, DeadLetterReason::bad_varint), 1u) << run.dead_letters;
    EXPECT_EQ(run.summary.dead_letters.total(), 2u);
  }
  {
    Config config = pipeline_with("{type: udp, port: 0, format: json, endAfterIdle: 300ms}");
    auto good = make_datagrams(config.format.schema, Format::json, 3, 2);
    const std::vector<std::string> payloads = {
        good[0],
        good[1].substr(0, good[1].size() - 20),  // the second line is cut inside its object
        good[2],
    };
    UdpRun run = run_udp(config, [&](std::uint16_t port) {
      Sender sender(port);
      sender.send_paced(payloads, 1);
    });
    EXPECT_EQ(run.summary.rows_decoded, 2u + 1u + 2u);
    EXPECT_EQ(run.summary.dead_letters.total(), 1u) << run.dead_letters;
  }
}

TEST(UdpSourceTest, HandsOnAPartialChunkAfterTheLatencyBoundAndEndsOnStop) {
  Config config = pipeline_with("{type: udp, port: 0, maxBatchLatency: 20ms}");
  std::atomic<bool> stop{false};
  SourceOptions options;
  options.stop = &stop;
  UdpSource source(config.sources[0], 0, config.format.schema, options);
  auto payloads = make_datagrams(config.format.schema, Format::binary, 3, 4);
  Sender sender(source.port());
  for (const auto& payload : payloads) sender.send(payload);
  // No end condition and chunks of 65536 records: only the latency bound hands these on.
  std::uint64_t records = 0;
  RawChunk chunk;
  while (records < 12) {
    ASSERT_TRUE(source.next(chunk));
    EXPECT_EQ(chunk.source_index, 0u);
    records += chunk.records;
  }
  EXPECT_EQ(records, 12u);
  stop = true;
  EXPECT_FALSE(source.next(chunk));
  EXPECT_EQ(source.statistics().records, 12u);
}

TEST(UdpSourceTest, UnderflowFlushHandsOnWhatArrivedAtOnce) {
  Config config = pipeline_with("{type: udp, port: 0}");
  std::atomic<bool> stop{false};
  SourceOptions options;
  options.stop = &stop;
  options.max_batch_latency_ns = 3'600'000'000'000;  // an hour: only flushing hands these on
  options.flush_partial = true;
  UdpSource source(config.sources[0], 0, config.format.schema, options);
  auto payloads = make_datagrams(config.format.schema, Format::binary, 2, 4);
  Sender sender(source.port());
  for (const auto& payload : payloads) sender.send(payload);
  std::uint64_t records = 0;
  RawChunk chunk;
  while (records < 8) {
    ASSERT_TRUE(source.next(chunk));
    records += chunk.records;
  }
  EXPECT_EQ(records, 8u);
  stop = true;
  EXPECT_FALSE(source.next(chunk));
}

TEST(UdpSourceTest, ChunksFollowChunkRecordsAndStreamOffsets) {
  Config config = pipeline_with("{type: udp, port: 0, receiveBuffer: 4194304, events: 40}");
  SourceOptions options;
  options.chunk_records = 8;
  UdpSource source(config.sources[0], 0, config.format.schema, options);
  auto payloads = make_datagrams(config.format.schema, Format::binary, 10, 4);
  Sender sender(source.port());
  for (const auto& payload : payloads) sender.send(payload);
  std::uint64_t offset = 0;
  std::uint64_t records = 0;
  RawChunk chunk;
  while (source.next(chunk)) {
    EXPECT_EQ(chunk.stream_offset, offset);
    EXPECT_LE(chunk.records, 8u);
    offset += chunk.bytes.size();
    records += chunk.records;
  }
  EXPECT_EQ(records, 40u);
  EXPECT_EQ(offset, source.statistics().bytes);
}

TEST(UdpSourceTest, EndsAfterIdleTime) {
  Config config = pipeline_with("{type: udp, port: 0, endAfterIdle: 100ms}");
  UdpSource source(config.sources[0], 0, config.format.schema, SourceOptions{});
  RawChunk chunk;
  EXPECT_FALSE(source.next(chunk));
  const UdpSourceStatistics statistics = source.statistics();
  EXPECT_EQ(statistics.datagrams, 0u);
  EXPECT_EQ(statistics.chunks, 0u);
}

TEST(UdpSourceTest, PausedSourceLeavesOverflowToTheKernel) {
  Config config = pipeline_with("{type: udp, port: 0, receiveBuffer: 1, endAfterIdle: 300ms}");
  UdpSource source(config.sources[0], 0, config.format.schema, SourceOptions{});
  auto payloads = make_datagrams(config.format.schema, Format::binary, 2000, 4);
  source.set_paused(true);
  std::uint64_t records = 0;
  std::thread reader([&] {
    RawChunk chunk;
    while (source.next(chunk)) records += chunk.records;
  });
  Sender sender(source.port());
  for (const auto& payload : payloads) sender.send(payload);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  source.set_paused(false);
  reader.join();
  const UdpSourceStatistics statistics = source.statistics();
  EXPECT_GT(statistics.kernel_drops, 0u);
  EXPECT_EQ(statistics.datagrams + statistics.kernel_drops, payloads.size());
  EXPECT_EQ(records, statistics.datagrams * 4);
}

TEST(UdpSourceTest, ReportsPortAndGrantedBuffer) {
  Config config = pipeline_with("{type: udp, port: 0, threads: 2, receiveBuffer: 65536}");
  UdpSource source(config.sources[0], 0, config.format.schema, SourceOptions{});
  const UdpSourceStatistics statistics = source.statistics();
  EXPECT_NE(source.port(), 0);
  EXPECT_EQ(statistics.port, source.port());
  EXPECT_EQ(statistics.receive_buffer_requested, 65536u);
  // Linux doubles the request to cover its bookkeeping.
  EXPECT_EQ(statistics.receive_buffer_granted, 2u * 65536u);
  EXPECT_EQ(statistics.sockets.size(), 2u);
  EXPECT_FALSE(source.replayable());
  std::vector<SourceCounter> counters;
  static_cast<const Source&>(source).statistics(counters);
  ASSERT_FALSE(counters.empty());
  EXPECT_EQ(counters.front().name, "udp_datagrams");
}

TEST(UdpSourceTest, AddressProblemsAreUserErrors) {
  Config config = pipeline_with("{type: udp, port: 0}");
  UdpSource first(config.sources[0], 0, config.format.schema, SourceOptions{});
  SourceConfig taken = config.sources[0];
  taken.udp.port = first.port();
  EXPECT_THROW(UdpSource(taken, 0, config.format.schema, SourceOptions{}), UserError);
  SourceConfig foreign = config.sources[0];
  foreign.udp.bind = "192.0.2.1";  // TEST-NET-1: no interface here has it
  EXPECT_THROW(UdpSource(foreign, 0, config.format.schema, SourceOptions{}), UserError);
}

TEST(UdpSourceTest, MakeSourceBuildsOne) {
  Config config = pipeline_with("{type: udp, port: 0}");
  auto source = make_source(config.sources[0], 0, config.format.schema, SourceOptions{});
  EXPECT_NE(dynamic_cast<UdpSource*>(source.get()), nullptr);
  EXPECT_EQ(source->name(), "udp-0");
}

// An independent writer: Debian's python3 builds the frames of docs/formats.md by hand.
TEST(UdpSourceTest, DecodesFramesFromAPythonSender) {
  const char* python = "/usr/bin/python3";
  if (!std::filesystem::exists(python)) GTEST_SKIP() << "no " << python;
  const std::uint64_t events = 300 * 3;
  Config config = pipeline_with("{type: udp, port: 0, receiveBuffer: 4194304, events: " +
                                std::to_string(events) + ", endAfterIdle: 20s}");
  ScratchFolder scratch;
  const std::string script = scratch.file("send.py");
  {
    std::FILE* file = std::fopen(script.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs(R"py(import socket, struct, sys, time
port = int(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in range(300):
    records = b"".join(
        struct.pack("<qi12s8sdff", 1795000000000 + 1000 * (3 * d + r), 3 * d + r,
                    b"lab-%d" % r, b"temp", 20.5 + r, 40.25, 1013.5)
        for r in range(3))
    header = struct.pack("<4sHHIIII", b"LDHF", 1, 24, 0x6C9F0A22, 3, 48, 0)
    sock.sendto(header + records, ("127.0.0.1", port))
    if d % 32 == 31:
        time.sleep(0.001)
)py",
               file);
    std::fclose(file);
  }
  UdpRun run = run_udp(config, [&](std::uint16_t port) {
    const std::string command = std::string(python) + " " + script + " " + std::to_string(port);
    EXPECT_EQ(std::system(command.c_str()), 0);
  });
  EXPECT_EQ(run.statistics.datagrams + run.statistics.kernel_drops, 300u);
  EXPECT_EQ(run.summary.rows_decoded, events);
  EXPECT_EQ(run.summary.dead_letters.total(), 0u) << run.dead_letters;
  EXPECT_NE(run.results.find("\"sensor_id\":899"), std::string::npos);
  EXPECT_NE(run.results.find("\"location\":\"lab-2\""), std::string::npos);
}

}  // namespace
}  // namespace ldh
