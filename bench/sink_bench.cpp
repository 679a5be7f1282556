// Results per second (items/s) through each destination, for window result rows of about 220
// bytes written in chunks of 1000 as the executor writes them:
//   - Jsonl, JsonlGzip, JsonlZstd: a file on /tmp, plain or compressed (write + flush per chunk).
//   - WebSocket/clients/lines: the broadcast destination with 1 or 4 clients on loopback (Beast
//     clients on threads of this process), one line per message or 100; each iteration writes
//     16 chunks and waits until every client has received every line.
//   - KafkaMock/batch: the delivery queue and the idempotent producer against librdkafka's mock
//     cluster, hosted in this process, in batches of 1000 or 10000 records; each iteration
//     writes 16 chunks and waits until all are delivered.
//
//   sink_bench --benchmark_counters_tabular=true

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "host/compression.h"
#include "host/delivery.h"
#include "host/kafka_sink.h"
#include "host/websocket_sink.h"

namespace ldh {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kChunkLines = 1000;
constexpr std::size_t kChunks = 16;
// Waiting for clients and deliveries sleeps this long between looks, leaving the CPU to them.
constexpr auto kWait = std::chrono::microseconds(200);

/// Returns one of 16 chunks of 1000 window result rows with distinct sensors and values, as the
/// engine prints them. Together they outgrow zstd's window, so no chunk compresses against an
/// earlier copy of itself.
const std::string& chunk(std::size_t index) {
  static const std::vector<std::string> chunks = [] {
    std::vector<std::string> made;
    std::uint64_t state = 88172645463325252ull;
    const auto next = [&state] {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      return state;
    };
    for (std::size_t c = 0; c < kChunks; ++c) {
      std::string lines;
      for (std::size_t i = 0; i < kChunkLines; ++i) {
        const double average = -10.0 + static_cast<double>(next() % 600'000) / 10'000.0;
        const auto spread = [&] { return static_cast<double>(next() % 1000) / 1000.0; };
        lines +=
            "{\"window\":\"minute\",\"start\":\"2026-11-29T04:03:00.000Z\",\"end\":\"2026-"
            "11-29T04:04:00.000Z\",\"sensor_id\":";
        lines += std::to_string(c * kChunkLines + i);
        lines += ",\"count\":" + std::to_string(50 + next() % 20);
        lines += ",\"temperature_avg\":" + std::to_string(average);
        lines += ",\"temperature_max\":" + std::to_string(average + spread());
        lines += ",\"temperature_min\":" + std::to_string(average - spread());
        lines += ",\"temperature_p99_9\":" + std::to_string(average + spread()) + "}\n";
      }
      made.push_back(std::move(lines));
    }
    return made;
  }();
  return chunks[index % kChunks];
}

std::string scratch_file(const std::string& name) {
  const auto folder =
      std::filesystem::temp_directory_path() / ("ldh-sink-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder);
  return (folder / name).string();
}

void count_chunks(benchmark::State& state, std::int64_t chunks) {
  state.SetItemsProcessed(chunks * static_cast<std::int64_t>(kChunkLines));
  state.SetBytesProcessed(chunks * static_cast<std::int64_t>(chunk(0).size()));
}

void write_file(benchmark::State& state, Sink& sink) {
  std::int64_t chunks = 0;
  for (auto _ : state) {
    sink.write(chunk(static_cast<std::size_t>(chunks)));
    sink.flush();
    ++chunks;
  }
  sink.finish();
  count_chunks(state, chunks);
}

void BM_Jsonl(benchmark::State& state) {
  const std::string path = scratch_file("plain.jsonl");
  {
    FileSink sink(path);
    write_file(state, sink);
  }
  std::filesystem::remove(path);
}
BENCHMARK(BM_Jsonl)->Name("Jsonl")->UseRealTime();

void BM_JsonlCompressed(benchmark::State& state, Compression compression) {
  const std::string path = scratch_file("compressed.jsonl");
  {
    CompressedFileSink sink(path, compression);
    write_file(state, sink);
    std::vector<SinkCounter> counters;
    sink.statistics(counters);
    state.counters["ratio"] =
        static_cast<double>(counters[0].value) / static_cast<double>(counters[1].value);
  }
  std::filesystem::remove(path);
}
BENCHMARK_CAPTURE(BM_JsonlCompressed, gzip, Compression::gzip)->Name("JsonlGzip")->UseRealTime();
BENCHMARK_CAPTURE(BM_JsonlCompressed, zstd, Compression::zstd)->Name("JsonlZstd")->UseRealTime();

/// A WebSocket client on its own thread that counts the lines it receives.
class CountingClient {
 public:
  explicit CountingClient(std::uint16_t port) : stream_(io_) {
    net::ip::tcp::resolver resolver(io_);
    net::connect(stream_.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port)));
    stream_.handshake("127.0.0.1", "/metrics");
    thread_ = std::thread([this] {
      beast::flat_buffer buffer;
      beast::error_code error;
      while (true) {
        stream_.read(buffer, error);
        if (error) return;
        const auto data = buffer.data();
        const char* bytes = static_cast<const char*>(data.data());
        const auto newlines = std::count(bytes, bytes + data.size(), '\n');
        lines_.fetch_add(1 + static_cast<std::uint64_t>(newlines), std::memory_order_relaxed);
        buffer.clear();
      }
    });
  }
  ~CountingClient() { thread_.join(); }
  CountingClient(const CountingClient&) = delete;
  CountingClient& operator=(const CountingClient&) = delete;

  std::uint64_t lines() const { return lines_.load(std::memory_order_relaxed); }

 private:
  net::io_context io_;
  beast::websocket::stream<net::ip::tcp::socket> stream_;
  std::atomic<std::uint64_t> lines_{0};
  std::thread thread_;
};

void BM_WebSocket(benchmark::State& state) {
  const auto clients_wanted = static_cast<std::size_t>(state.range(0));
  WebSocketSinkConfig config;
  config.port = 0;
  config.client_queue = 1'000'000;
  config.message_lines = static_cast<std::uint32_t>(state.range(1));
  std::int64_t chunks = 0;
  std::uint64_t dropped = 0;
  {
    WebSocketSink sink(config);
    std::vector<std::unique_ptr<CountingClient>> clients;
    for (std::size_t i = 0; i < clients_wanted; ++i) {
      clients.push_back(std::make_unique<CountingClient>(sink.port()));
    }
    while (sink.counters().clients < clients_wanted) std::this_thread::sleep_for(kWait);
    std::uint64_t written = 0;
    for (auto _ : state) {
      const auto start = Clock::now();
      for (std::size_t i = 0; i < kChunks; ++i) sink.write(chunk(i));
      written += kChunks * kChunkLines;
      for (const auto& client : clients) {
        while (client->lines() < written) std::this_thread::sleep_for(kWait);
      }
      state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
      chunks += kChunks;
    }
    dropped = sink.counters().dropped;
    // Closes the connections, which ends the clients' threads.
    sink.finish();
  }
  count_chunks(state, chunks);
  state.counters["dropped"] = static_cast<double>(dropped);
}
BENCHMARK(BM_WebSocket)
    ->Name("WebSocket")
    ->ArgNames({"clients", "lines"})
    ->Args({1, 1})
    ->Args({4, 1})
    ->Args({4, 100})
    ->UseManualTime();

void BM_Kafka(benchmark::State& state) {
  char reason[512];
  rd_kafka_conf_t* settings = rd_kafka_conf_new();
  rd_kafka_conf_set(settings, "log_level", "3", reason, sizeof(reason));
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, settings, reason, sizeof(reason));
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, 1);
  rd_kafka_mock_topic_create(cluster, "results", 4, 1);
  KafkaSinkConfig kafka;
  kafka.brokers = {rd_kafka_mock_cluster_bootstraps(cluster)};
  kafka.topic = "results";
  kafka.key_fields = {{"minute", {"sensor_id"}}};
  kafka.properties.push_back({"linger.ms", "5", "linger.ms", {}});
  DeliveryConfig delivery;
  delivery.batch_records = static_cast<std::size_t>(state.range(0));
  delivery.batch_interval_ns = 1'000'000;
  delivery.dead_letter_path = scratch_file("kafka-dead.jsonl");
  std::int64_t chunks = 0;
  {
    DeliverySink sink(std::make_unique<KafkaTransport>(kafka), delivery);
    std::uint64_t written = 0;
    for (auto _ : state) {
      const auto start = Clock::now();
      for (std::size_t i = 0; i < kChunks; ++i) sink.write(chunk(i));
      sink.flush();
      written += kChunks * kChunkLines;
      while (true) {
        const DeliveryCounters counted = sink.counters();
        if (counted.delivered + counted.dead_lettered >= written) break;
        std::this_thread::sleep_for(kWait);
      }
      state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
      chunks += kChunks;
    }
    sink.finish();
    state.counters["dead_lettered"] = static_cast<double>(sink.counters().dead_lettered);
  }
  count_chunks(state, chunks);
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(handle);
}
BENCHMARK(BM_Kafka)->Name("KafkaMock")->ArgName("batch")->Arg(1000)->Arg(10000)->UseManualTime();

}  // namespace
}  // namespace ldh

BENCHMARK_MAIN();
