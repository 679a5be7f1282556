// The event processor: events/s handed to a no-op handler through the priority queues (the
// product description's queueSize 1000 with overflow: block) and the latency from submit() to
// the handler, p50 and p99; rows/s and events/s the routing rules make of batches; and both
// together, routed and handled.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <vector>

#include "host/event_processor.h"
#include "host/event_router.h"
#include "host/memory.h"
#include "pipeline/plan.h"

namespace ldh {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

/// When each event was submitted and when its handler started, by the number that leads the
/// event's text.
struct Latencies {
  std::vector<std::int64_t> submitted;
  std::vector<std::int64_t> handled;
};

/// Handles nothing; notes when each event arrived.
class NoOpFactory final : public HandlerFactory {
 public:
  explicit NoOpFactory(Latencies* latencies) : latencies_(latencies) {}
  std::unique_ptr<EventHandler> create() override {
    class Handler final : public EventHandler {
     public:
      explicit Handler(Latencies* latencies) : latencies_(latencies) {}
      HandlerOutcome handle(std::string_view event) override {
        if (latencies_ != nullptr) {
          std::size_t index = 0;
          std::from_chars(event.data(), event.data() + event.size(), index);
          latencies_->handled[index] = now_ns();
        }
        return {};
      }

     private:
      Latencies* latencies_;
    };
    return std::make_unique<Handler>(latencies_);
  }
  std::string describe() const override { return "no-op"; }

 private:
  Latencies* latencies_;
};

EventsConfig bench_events(std::uint32_t workers) {
  EventsConfig events;
  events.workers = workers;
  events.queue_size = 1000;
  events.block_on_overflow = true;
  events.dead_letter_path = "/dev/null";
  return events;
}

std::unique_ptr<EventProcessor> no_op_processor(std::uint32_t workers, Latencies* latencies,
                                                std::size_t routes) {
  std::vector<std::unique_ptr<HandlerFactory>> factories;
  factories.push_back(std::make_unique<NoOpFactory>(latencies));
  std::vector<EventRoute> all;
  const EventPriority priorities[] = {EventPriority::high, EventPriority::medium,
                                      EventPriority::low};
  for (std::size_t route = 0; route < routes; ++route) all.push_back({priorities[route % 3], {0}});
  return std::make_unique<EventProcessor>(std::move(factories), std::move(all),
                                          bench_events(workers));
}

double percentile_us(std::vector<std::int64_t>& values, double share) {
  if (values.empty()) return 0;
  const std::size_t rank =
      std::min(values.size() - 1, static_cast<std::size_t>(share * values.size()));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                   values.end());
  return static_cast<double>(values[rank]) / 1e3;
}

/// Events/s through the queues to a no-op handler, and submit-to-handler latency.
void BM_EventProcessorNoOpHandler(benchmark::State& state) {
  const auto workers = static_cast<std::uint32_t>(state.range(0));
  constexpr std::size_t kEvents = 200'000;
  Latencies latencies;
  latencies.submitted.resize(kEvents);
  latencies.handled.resize(kEvents);
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < kEvents; ++i) {
    texts.push_back(std::to_string(i) +
                    ",\"type\":\"event\",\"event\":\"temperature_alert\",\"record\":{\"sensor_id\":"
                    "7,\"temperature\":104.5}");
  }
  std::vector<std::int64_t> waits;
  for (auto _ : state) {
    auto processor = no_op_processor(workers, &latencies, 3);
    processor->start();
    for (std::size_t i = 0; i < kEvents; ++i) {
      latencies.submitted[i] = now_ns();
      processor->submit(i % 3, texts[i]);
    }
    processor->finish();
    for (std::size_t i = 0; i < kEvents; ++i) {
      waits.push_back(latencies.handled[i] - latencies.submitted[i]);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kEvents));
  state.counters["p50_us"] = percentile_us(waits, 0.50);
  state.counters["p99_us"] = percentile_us(waits, 0.99);
}
BENCHMARK(BM_EventProcessorNoOpHandler)
    ->Arg(1)
    ->Arg(4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

/// The product description's two rules over sensor rows: 10% of them hot, 1% with an error.
constexpr char kRoutingConfig[] = R"(
input:
  sources: [{type: generator}]
  format:
    type: json
    schema:
      fields:
        - {name: timestamp, type: timestamp}
        - {name: sensor_id, type: int32}
        - {name: temperature, type: float64}
        - {name: status, type: string}
output: {destinations: [{type: stdout}]}
events:
  types:
    - {name: temperature_alert, priority: high, schema: [sensor_id, temperature, timestamp]}
    - {name: system_status, priority: medium}
  routing:
    rules:
      - {event: temperature_alert, condition: "temperature > 100", action: log,
         message: "High temperature detected: {temperature}°C"}
      - {event: system_status, condition: 'status == "error"', action: log}
)";

struct RoutingFixture {
  Config config = parse_config(kRoutingConfig, "bench.yaml");
  StringDictionary strings;
  Plan plan{config, strings};
  EventRouter router{config, plan, strings};
  EventBatch batch{plan.slots(), 65536, batch_memory()};

  RoutingFixture() {
    batch.resize(batch.capacity());
    const std::int32_t ok = strings.intern("ok");
    const std::int32_t error = strings.intern("error");
    const auto slot = [&](std::size_t field) {
      return static_cast<std::size_t>(plan.input_slots()[field]);
    };
    for (std::size_t row = 0; row < batch.size(); ++row) {
      batch.column(slot(0)).data<std::int64_t>()[row] =
          1'795'000'000'000'000'000 + static_cast<std::int64_t>(row) * 1'000'000;
      batch.column(slot(1)).data<std::int32_t>()[row] = static_cast<std::int32_t>(row % 100);
      batch.column(slot(2)).data<double>()[row] = row % 10 == 0 ? 104.5 : 21.5;
      batch.column(slot(3)).data<std::int32_t>()[row] = row % 100 == 7 ? error : ok;
    }
  }
};

/// Rows/s and events/s the rules make of 64Ki-row batches (one thread).
void BM_EventRouting(benchmark::State& state) {
  RoutingFixture fixture;
  EventRouter::Scratch scratch = fixture.router.make_scratch();
  std::vector<RoutedEvent> events;
  std::size_t made = 0;
  for (auto _ : state) {
    events.clear();
    fixture.router.route(fixture.batch, scratch, events);
    made += events.size();
    benchmark::DoNotOptimize(events.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * fixture.batch.size()));
  state.counters["events_per_second"] =
      benchmark::Counter(static_cast<double>(made), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EventRouting)->UseRealTime()->Unit(benchmark::kMillisecond);

/// Routed and handled: the events of each batch submitted to a processor with a no-op handler.
void BM_EventRoutedAndHandled(benchmark::State& state) {
  const auto workers = static_cast<std::uint32_t>(state.range(0));
  RoutingFixture fixture;
  EventRouter::Scratch scratch = fixture.router.make_scratch();
  std::vector<RoutedEvent> events;
  std::size_t made = 0;
  auto processor = no_op_processor(workers, nullptr, fixture.router.rule_count());
  processor->start();
  for (auto _ : state) {
    events.clear();
    fixture.router.route(fixture.batch, scratch, events);
    for (const auto& event : events) processor->submit(event.rule, event.event);
    made += events.size();
  }
  processor->finish();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * fixture.batch.size()));
  state.counters["events_per_second"] =
      benchmark::Counter(static_cast<double>(made), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EventRoutedAndHandled)->Arg(1)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ldh

BENCHMARK_MAIN();
