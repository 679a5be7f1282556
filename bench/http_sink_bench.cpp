// HTTP destinations against local peers (tests/http_peer.py, tests/smtp_peer.py):
//
// - DocumentIds: Elasticsearch document ids derived from result rows (parse + SHA-256), rows/s.
// - ElasticsearchToDiscardingPeer: results/s through DeliverySink and the _bulk transport to a
//   peer that answers {"errors": false} without reading the body: what ldh and libcurl can do.
// - ElasticsearchToIndexingPeer: the same to the peer implementing the bulk contract (parses
//   every document, checks its mapping, stores it): bounded by that Python server.
// - AlertLatency/webhook, /email: from the alert record reaching the notifier (the executor
//   hands it over in the same step that writes the window result firing it) to the peer's
//   receipt on loopback, one alert every 5 ms; p50 and p99 in milliseconds.
//
//   http_sink_bench --benchmark_counters_tabular=true

#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "host/elasticsearch_sink.h"
#include "host/notification.h"
#include "tests/child_process.h"

namespace ldh {
namespace {

using std::chrono::milliseconds;

const std::filesystem::path kTests =
    std::filesystem::path(__FILE__).parent_path().parent_path() / "tests";

const std::vector<std::pair<std::string, std::vector<std::string>>> kKeyFields = {
    {"minute", {"sensor_id"}}};

/// A peer script as a child process; port() once it listens.
class Peer {
 public:
  explicit Peer(std::vector<std::string> argv) {
    argv.insert(argv.begin(), "/usr/bin/python3");
    process_ = std::make_unique<testing::ChildProcess>(argv);
    const auto line = process_->read_line(milliseconds(10000));
    if (!line || !line->starts_with("PORT ")) throw std::runtime_error("the peer did not start");
    port_ = std::stoi(line->substr(5));
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::unique_ptr<testing::ChildProcess> process_;
  int port_ = 0;
};

/// `count` result rows of a one-minute window over 100 sensors, as JSON lines.
std::string result_rows(int count) {
  std::string text;
  char row[320];
  for (int i = 0; i < count; ++i) {
    const int minute = i / 100;
    std::snprintf(row, sizeof row,
                  "{\"window\":\"minute\",\"start\":\"2026-11-%02dT%02d:%02d:00.000Z\",\"end\":\""
                  "2026-11-%02dT%02d:%02d:59.999Z\",\"sensor_id\":%d,\"count\":60,"
                  "\"temperature_avg\":%d.25,\"temperature_max\":%d.5,\"temperature_min\":%d.75,"
                  "\"humidity_avg\":%d.125}\n",
                  1 + minute / 1440, minute / 60 % 24, minute % 60, 1 + minute / 1440,
                  minute / 60 % 24, minute % 60, i % 100, 20 + i % 7, 25 + i % 5, 15 + i % 3,
                  40 + i % 11);
    text += row;
  }
  return text;
}

void DocumentIdsBench(benchmark::State& state) {
  const std::string text = result_rows(10'000);
  std::vector<std::string_view> rows;
  for (std::size_t begin = 0; begin < text.size();) {
    const std::size_t end = text.find('\n', begin);
    rows.emplace_back(text.data() + begin, end - begin);
    begin = end + 1;
  }
  DocumentIds ids(kKeyFields);
  for (auto _ : state) {
    for (const auto row : rows) benchmark::DoNotOptimize(ids.id(row));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rows.size()));
}
BENCHMARK(DocumentIdsBench)->Name("DocumentIds")->Unit(benchmark::kMillisecond);

/// Sends `rows` results through a fresh DeliverySink per iteration; counts results/s.
void run_bulk(benchmark::State& state, const Peer& peer, int rows) {
  const std::string text = result_rows(rows);
  ElasticsearchConfig config;
  config.url = peer.url();
  config.key_fields = kKeyFields;
  DeliveryConfig delivery;
  delivery.batch_records = static_cast<std::size_t>(state.range(0));
  delivery.batch_interval_ns = 10'000'000;
  delivery.dead_letter_path = "/dev/null";
  // Sustained throughput: the writer waits for room instead of dead-lettering what overflows.
  delivery.block_on_overflow = true;
  std::uint64_t delivered = 0;
  for (auto _ : state) {
    DeliverySink sink(std::make_unique<ElasticsearchTransport>(config), delivery);
    // Chunks of about 64 KiB, as the executor writes them.
    for (std::size_t begin = 0; begin < text.size();) {
      std::size_t end = text.find('\n', std::min(text.size() - 1, begin + 65536));
      sink.write(std::string_view(text).substr(begin, end + 1 - begin));
      sink.flush();
      begin = end + 1;
    }
    sink.finish();
    delivered += sink.counters().delivered;
  }
  state.SetItemsProcessed(state.iterations() * rows);
  state.counters["delivered_share"] =
      static_cast<double>(delivered) / static_cast<double>(state.iterations() * rows);
}

void ElasticsearchToDiscardingPeer(benchmark::State& state) {
  static const Peer peer({(kTests / "http_peer.py").string(), "--discard"});
  run_bulk(state, peer, 200'000);
}
BENCHMARK(ElasticsearchToDiscardingPeer)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(5000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void ElasticsearchToIndexingPeer(benchmark::State& state) {
  static const Peer peer({(kTests / "http_peer.py").string()});
  run_bulk(state, peer, 20'000);
}
BENCHMARK(ElasticsearchToIndexingPeer)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

double unix_seconds_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// Returns each "received": seconds of `lines` (the peers' logs) in order.
std::vector<double> receipt_times(const std::string& lines) {
  std::vector<double> times;
  const std::string needle = "\"received\": ";
  for (std::size_t at = lines.find(needle); at != std::string::npos;
       at = lines.find(needle, at + 1)) {
    times.push_back(std::stod(lines.substr(at + needle.size(), 32)));
  }
  return times;
}

/// Notifies `count` alerts (distinct keys, so none is held back) one every 5 ms through
/// `channel` and reports the latency to the peer's receipt, which `receipts` reads afterwards.
void run_latency(benchmark::State& state, std::unique_ptr<Transport> channel, int count,
                 const std::function<std::vector<double>()>& receipts) {
  DeliveryConfig delivery;
  delivery.batch_records = 1;
  delivery.dead_letter_path = "/dev/null";
  std::vector<std::unique_ptr<Sink>> channels;
  channels.push_back(std::make_unique<DeliverySink>(std::move(channel), delivery));
  AlertNotifier notifier(300'000'000'000, std::move(channels));
  std::vector<double> sent;
  char record[320];
  for (auto _ : state) {
    for (int i = 0; i < count; ++i) {
      std::snprintf(record, sizeof record,
                    "{\"alert\":\"temperature gt 29\",\"window\":\"five-minutes\",\"start\":"
                    "\"2026-11-29T04:03:00.000Z\",\"end\":\"2026-11-29T04:08:00.000Z\","
                    "\"sensor_id\":%d,\"metric\":\"temperature_max\",\"value\":29.5,"
                    "\"threshold\":29}\n",
                    static_cast<int>(sent.size()));
      sent.push_back(unix_seconds_now());
      notifier.write(record);
      notifier.flush();
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
  notifier.finish();
  const std::vector<double> received = receipts();
  std::vector<double> latencies;
  for (std::size_t i = 0; i < std::min(sent.size(), received.size()); ++i) {
    latencies.push_back((received[i] - sent[i]) * 1e3);
  }
  std::sort(latencies.begin(), latencies.end());
  const auto quantile = [&](double q) {
    return latencies.empty() ? 0.0
                             : latencies[static_cast<std::size_t>(q * (latencies.size() - 1))];
  };
  state.counters["p50_ms"] = quantile(0.5);
  state.counters["p99_ms"] = quantile(0.99);
  state.counters["notified"] = static_cast<double>(latencies.size());
}

void AlertLatencyWebhook(benchmark::State& state) {
  Peer peer({(kTests / "http_peer.py").string()});
  WebhookConfig webhook;
  webhook.url = peer.url() + "/alerts";
  HttpClient query{TlsConfig{}};
  HttpRequest webhooks;
  webhooks.url = peer.url() + "/_peer/webhooks";
  run_latency(state, std::make_unique<WebhookTransport>(webhook), 400,
              [&] { return receipt_times(query.post(webhooks, "").body); });
}
BENCHMARK(AlertLatencyWebhook)->Name("AlertLatency/webhook")->Iterations(1)->UseRealTime();

void AlertLatencyEmail(benchmark::State& state) {
  const std::string log = (std::filesystem::temp_directory_path() /
                           ("ldh-bench-mails-" + std::to_string(::getpid()) + ".jsonl"))
                              .string();
  std::filesystem::remove(log);
  Peer peer({(kTests / "smtp_peer.py").string(), "--log", log});
  EmailConfig email;
  email.smtp = "smtp://127.0.0.1:" + std::to_string(peer.port());
  email.to = {"ops@example.com"};
  run_latency(state, std::make_unique<EmailTransport>(email), 200, [&] {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    return receipt_times(text.str());
  });
  std::filesystem::remove(log);
}
BENCHMARK(AlertLatencyEmail)->Name("AlertLatency/email")->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace ldh

BENCHMARK_MAIN();
