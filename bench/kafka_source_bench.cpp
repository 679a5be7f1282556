// Kafka source throughput from librdkafka's mock cluster: a child process hosts the cluster (so
// its CPU time is measured apart), the setup pre-produces 48-byte binary sensor events with
// rd_kafka_producev (one frame of `per_message` events per message, round-robin over the
// topic's partitions; the mock keeps at most 5 MiB per partition, so the volume is sized to
// fit), and
// each iteration consumes them all with a fresh consumer group through KafkaSource::next(),
// acknowledging every chunk (one asynchronous offset commit per chunk). Timing starts at the
// first chunk, so the group join (about 3 s on the mock cluster) is left out.
//
// Reports events/s and CPU time per event: of the thread calling next(), of the whole
// benchmark process (that thread plus librdkafka's fetch threads), and of the mock broker.
//
//   kafka_source_bench --benchmark_counters_tabular=true

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "ingest/kafka_source.h"
#include "ingest/sensor_schema.h"

namespace ldh {
namespace {

using Clock = std::chrono::steady_clock;

/// The benchmark's topics: events per message and partitions.
constexpr std::pair<int, std::int32_t> kTopics[] = {{1, 8}, {64, 16}};

std::string topic_name(int per_message) {
  return "bench-" + std::to_string(per_message);
}

/// The mock cluster's process and address.
struct Broker {
  pid_t pid = -1;
  int control = -1;  // closing it ends the child
  std::string bootstrap;
};

Broker& broker() {
  static Broker instance;
  return instance;
}

/// Runs in the child: hosts the cluster until the parent closes `control`.
[[noreturn]] void serve_cluster(int control, int report) {
  char reason[512];
  rd_kafka_conf_t* settings = rd_kafka_conf_new();
  rd_kafka_conf_set(settings, "log_level", "3", reason, sizeof(reason));
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, settings, reason, sizeof(reason));
  rd_kafka_mock_cluster_t* cluster =
      handle != nullptr ? rd_kafka_mock_cluster_new(handle, 1) : nullptr;
  std::string line = "\n";
  if (cluster != nullptr) {
    for (const auto& [per_message, partitions] : kTopics) {
      rd_kafka_mock_topic_create(cluster, topic_name(per_message).c_str(), partitions, 1);
    }
    line = std::string(rd_kafka_mock_cluster_bootstraps(cluster)) + "\n";
  }
  if (::write(report, line.data(), line.size()) < 0) ::_exit(1);
  ::close(report);
  char byte;
  while (::read(control, &byte, 1) > 0) {
  }
  if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
  if (handle != nullptr) rd_kafka_destroy(handle);
  ::_exit(0);
}

/// Forks the cluster's process; called before any thread exists.
bool start_broker() {
  int control[2];
  int report[2];
  if (::pipe(control) != 0 || ::pipe(report) != 0) return false;
  pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    ::close(control[1]);
    ::close(report[0]);
    serve_cluster(control[0], report[1]);
  }
  ::close(control[0]);
  ::close(report[1]);
  Broker& state = broker();
  state.pid = child;
  state.control = control[1];
  char c;
  while (::read(report[0], &c, 1) == 1 && c != '\n') state.bootstrap.push_back(c);
  ::close(report[0]);
  return !state.bootstrap.empty();
}

void stop_broker() {
  Broker& state = broker();
  if (state.control >= 0) ::close(state.control);
  if (state.pid > 0) ::waitpid(state.pid, nullptr, 0);
}

/// Returns the user plus system CPU seconds of the process `pid` (from /proc).
double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  // Fields 3 to 13 come before utime (14) and stime (15).
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double cpu_seconds(int who) {
  rusage usage;
  ::getrusage(who, &usage);
  auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// Produces `events` sensor events to `topic`, `per_message` in one frame per message.
void produce(const std::string& topic, std::int32_t partitions, std::uint64_t events,
             std::uint32_t per_message) {
  char reason[512];
  rd_kafka_conf_t* settings = rd_kafka_conf_new();
  auto set = [&](const char* key, const std::string& value) {
    rd_kafka_conf_set(settings, key, value.c_str(), reason, sizeof(reason));
  };
  set("bootstrap.servers", broker().bootstrap);
  set("linger.ms", "20");
  set("batch.num.messages", "10000");
  set("queue.buffering.max.messages", "1000000");
  set("queue.buffering.max.kbytes", "1048576");
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, settings, reason, sizeof(reason));
  if (producer == nullptr) return;
  const Schema schema = sensor_schema();
  GeneratorConfig generator;
  generator.events = 0;
  generator.seed = 11;
  SensorGenerator sensors(generator, schema);
  auto encoder = make_encoder(Format::binary, schema, per_message);
  std::string frame;
  for (std::uint64_t sent = 0, message = 0; sent < events; sent += per_message, ++message) {
    frame.clear();
    sensors.generate(*encoder, per_message, frame);
    encoder->flush(frame);
    while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                             RD_KAFKA_V_PARTITION(static_cast<std::int32_t>(message % partitions)),
                             RD_KAFKA_V_VALUE(frame.data(), frame.size()),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer, 10);
    }
  }
  rd_kafka_flush(producer, 120'000);
  rd_kafka_destroy(producer);
}

void BM_KafkaConsume(benchmark::State& state) {
  const auto per_message = static_cast<std::uint32_t>(state.range(0));
  const auto events = static_cast<std::uint64_t>(state.range(1));
  const std::string topic = topic_name(static_cast<int>(per_message));
  std::int32_t partitions = 1;
  for (const auto& [size, count] : kTopics) {
    if (size == static_cast<int>(per_message)) partitions = count;
  }
  static std::set<std::string> produced;
  if (broker().bootstrap.empty()) {
    state.SkipWithError("the mock cluster did not start");
    return;
  }
  if (produced.insert(topic).second) produce(topic, partitions, events, per_message);
  static int groups = 0;
  double seconds = 0;
  double thread_cpu = 0;
  double process_cpu = 0;
  double broker_cpu = 0;
  std::uint64_t timed_events = 0;
  for (auto _ : state) {
    SourceConfig config;
    config.name = "bench";
    config.type = SourceType::kafka;
    config.format = Format::binary;
    config.kafka.brokers = {broker().bootstrap};
    config.kafka.topics = {topic};
    config.kafka.group = "bench-" + std::to_string(++groups);
    config.kafka.events = events;
    // Catching up on a backlog: librdkafka 2.0.2 stops fetching for a second whenever the
    // consumer queue holds queued.min.messages (100 000 by default, counted over all
    // partitions), and the mock broker holds an empty fetch for fetch.wait.max.ms.
    config.kafka.properties = {{"auto.offset.reset", "earliest", "auto.offset.reset", {}},
                               {"queued.min.messages", "1000000", "queued.min.messages", {}},
                               {"fetch.wait.max.ms", "10", "fetch.wait.max.ms", {}}};
    KafkaSource source(config, 0, sensor_schema(), SourceOptions{});
    RawChunk chunk;
    do {
      if (!source.next(chunk)) {
        state.SkipWithError("no chunk arrived");
        return;
      }
      source.acknowledge(chunk.ack_token);
    } while (chunk.records == 0);
    const auto started = Clock::now();
    const double thread_before = cpu_seconds(RUSAGE_THREAD);
    const double process_before = cpu_seconds(RUSAGE_SELF);
    const double broker_before = process_cpu_seconds(broker().pid);
    std::uint64_t records = 0;
    while (source.next(chunk)) {
      records += chunk.records;
      source.acknowledge(chunk.ack_token);
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    state.SetIterationTime(elapsed);
    seconds += elapsed;
    thread_cpu += cpu_seconds(RUSAGE_THREAD) - thread_before;
    process_cpu += cpu_seconds(RUSAGE_SELF) - process_before;
    broker_cpu += process_cpu_seconds(broker().pid) - broker_before;
    timed_events += records;
  }
  const double count = static_cast<double>(timed_events);
  state.SetItemsProcessed(static_cast<std::int64_t>(timed_events));
  state.counters["events_per_s"] = count / seconds;
  state.counters["next_thread_cpu_ns_per_event"] = thread_cpu * 1e9 / count;
  state.counters["process_cpu_ns_per_event"] = process_cpu * 1e9 / count;
  state.counters["broker_cpu_ns_per_event"] = broker_cpu * 1e9 / count;
}

BENCHMARK(BM_KafkaConsume)
    ->ArgNames({"events_per_message", "events"})
    ->Args({1, 320'000})     // 40 000 messages of 72 bytes per partition
    ->Args({64, 1'310'720})  // 1 280 messages of 3 096 bytes per partition
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ldh

int main(int argc, char** argv) {
  // The cluster's process is forked before Google Benchmark or librdkafka start any thread.
  if (!ldh::start_broker())
    std::fputs("kafka_source_bench: the mock cluster did not start\n", stderr);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  ldh::stop_broker();
  return 0;
}
