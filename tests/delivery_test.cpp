// The delivery queue of network destinations: batching, retries with backoff, dead letters for
// refusals, exhausted attempts, overflow and the drain timeout; delivered + dead-lettered ==
// produced in every case. The transport here is scripted (the queue's logic does not depend on
// a protocol); each real transport is tested against its real peer in its own test.

#include "host/delivery.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "run_pipeline.h"

namespace ldh {
namespace {

using std::chrono::milliseconds;

/// Answers each record by a rule: how many attempts fail transiently before it goes through,
/// and which records are refused for good.
class ScriptedTransport final : public Transport {
 public:
  ScriptedTransport(int transient_failures, std::string refuse, milliseconds delay = {})
      : transient_failures_(transient_failures), refuse_(std::move(refuse)), delay_(delay) {}

  void send(std::span<const std::string_view> records,
            std::span<DeliveryOutcome> outcomes) override {
    std::this_thread::sleep_for(delay_);
    std::lock_guard lock(mutex_);
    ++batches_;
    for (std::size_t i = 0; i < records.size(); ++i) {
      const std::string record(records[i]);
      if (!refuse_.empty() && record.find(refuse_) != std::string::npos) {
        outcomes[i] = {DeliveryOutcome::Kind::failed, "mapping error"};
      } else if (attempts_[record]++ < transient_failures_) {
        outcomes[i] = {DeliveryOutcome::Kind::retry, "503 Service Unavailable"};
      } else {
        delivered_.push_back(record);
      }
    }
  }
  std::string describe() const override { return "scripted"; }

  std::vector<std::string> delivered() const {
    std::lock_guard lock(mutex_);
    return delivered_;
  }

 private:
  int transient_failures_;
  std::string refuse_;
  milliseconds delay_;
  mutable std::mutex mutex_;
  std::map<std::string, int> attempts_;
  std::vector<std::string> delivered_;
  int batches_ = 0;
};

DeliveryConfig fast_config(const std::string& dead_letters) {
  DeliveryConfig config;
  config.initial_backoff_ns = 1'000'000;
  config.max_backoff_ns = 4'000'000;
  config.batch_records = 10;
  config.batch_interval_ns = 5'000'000;
  config.drain_timeout_ns = 10'000'000'000;
  config.dead_letter_path = dead_letters;
  return config;
}

std::string records(int count, int first = 0) {
  std::string text;
  for (int i = first; i < first + count; ++i) text += "{\"n\":" + std::to_string(i) + "}\n";
  return text;
}

std::uint64_t count_lines(const std::string& text) {
  return static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(DeliverySinkTest, DeliversEverythingInBatches) {
  testing::ScratchFolder folder;
  auto transport = std::make_unique<ScriptedTransport>(0, "");
  ScriptedTransport* peer = transport.get();
  DeliverySink sink(std::move(transport), fast_config(folder.file("dead.jsonl")));
  sink.write(records(95));
  sink.finish();
  const DeliveryCounters counted = sink.counters();
  EXPECT_EQ(counted.produced, 95u);
  EXPECT_EQ(counted.delivered, 95u);
  EXPECT_EQ(counted.dead_lettered, 0u);
  EXPECT_GE(counted.batches, 10u);
  EXPECT_EQ(peer->delivered().size(), 95u);
  EXPECT_EQ(peer->delivered().front(), "{\"n\":0}");
}

TEST(DeliverySinkTest, RetriesTransientFailuresWithBackoff) {
  testing::ScratchFolder folder;
  DeliverySink sink(std::make_unique<ScriptedTransport>(2, ""),
                    fast_config(folder.file("dead.jsonl")));
  sink.write(records(30));
  sink.finish();
  const DeliveryCounters counted = sink.counters();
  EXPECT_EQ(counted.delivered, 30u);
  EXPECT_EQ(counted.retried, 60u);
  EXPECT_EQ(counted.dead_lettered, 0u);
}

TEST(DeliverySinkTest, DeadLettersRefusalsAndExhaustedAttemptsWithTheLastError) {
  testing::ScratchFolder folder;
  DeliveryConfig config = fast_config(folder.file("dead.jsonl"));
  config.max_attempts = 3;
  // Record 7 is refused; everything fails transiently more often than it may be tried.
  DeliverySink sink(std::make_unique<ScriptedTransport>(5, "\"n\":7}"), config);
  sink.write(records(10));
  sink.finish();
  const DeliveryCounters counted = sink.counters();
  EXPECT_EQ(counted.delivered, 0u);
  EXPECT_EQ(counted.dead_lettered, 10u);
  const std::string dead = testing::read_file(folder.file("dead.jsonl"));
  EXPECT_EQ(count_lines(dead), 10u);
  EXPECT_NE(dead.find("{\"destination\":\"scripted\",\"reason\":\"refused by the destination\","
                      "\"attempts\":1,\"error\":\"mapping error\",\"record\":{\"n\":7}}"),
            std::string::npos)
      << dead;
  EXPECT_NE(dead.find("\"reason\":\"out of attempts\",\"attempts\":3,\"error\":\"503 Service "
                      "Unavailable\",\"record\":{\"n\":0}}"),
            std::string::npos)
      << dead;
}

TEST(DeliverySinkTest, AFullQueueDeadLettersInsteadOfStallingTheWriter) {
  testing::ScratchFolder folder;
  DeliveryConfig config = fast_config(folder.file("dead.jsonl"));
  config.queue_records = 20;
  DeliverySink sink(std::make_unique<ScriptedTransport>(0, "", milliseconds(50)), config);
  for (int i = 0; i < 10; ++i) sink.write(records(10, i * 10));
  sink.finish();
  const DeliveryCounters counted = sink.counters();
  EXPECT_EQ(counted.produced, 100u);
  EXPECT_GT(counted.overflowed, 0u);
  EXPECT_EQ(counted.delivered + counted.dead_lettered, 100u);
  EXPECT_LE(counted.peak_queued, 20u);
}

TEST(DeliverySinkTest, BlockOnOverflowWaitsForRoomAndLosesNothing) {
  testing::ScratchFolder folder;
  DeliveryConfig config = fast_config(folder.file("dead.jsonl"));
  config.queue_records = 20;
  config.block_on_overflow = true;
  DeliverySink sink(std::make_unique<ScriptedTransport>(0, "", milliseconds(5)), config);
  for (int i = 0; i < 10; ++i) sink.write(records(10, i * 10));
  sink.finish();
  const DeliveryCounters counted = sink.counters();
  EXPECT_EQ(counted.delivered, 100u);
  EXPECT_EQ(counted.overflowed, 0u);
  EXPECT_LE(counted.peak_queued, 20u);
}

TEST(DeliverySinkTest, ARecordLargerThanTheByteLimitStillMovesWhenBlocking) {
  testing::ScratchFolder folder;
  DeliveryConfig config = fast_config(folder.file("dead.jsonl"));
  config.queue_bytes = 16;
  config.block_on_overflow = true;
  DeliverySink sink(std::make_unique<ScriptedTransport>(0, ""), config);
  sink.write("{\"large\":\"" + std::string(100, 'x') + "\"}\n" + records(3));
  sink.finish();
  EXPECT_EQ(sink.counters().delivered, 4u);
  EXPECT_EQ(sink.settled_through(), sink.produced());
}

TEST(DeliverySinkTest, GivesUpAtTheDrainTimeoutAndDeadLettersTheRest) {
  testing::ScratchFolder folder;
  DeliveryConfig config = fast_config(folder.file("dead.jsonl"));
  config.max_attempts = 1000;
  config.drain_timeout_ns = 200'000'000;
  DeliverySink sink(std::make_unique<ScriptedTransport>(1'000'000, ""), config);
  sink.write(records(25));
  sink.finish();
  const DeliveryCounters counted = sink.counters();
  EXPECT_EQ(counted.delivered, 0u);
  EXPECT_EQ(counted.dead_lettered, 25u);
  const std::string dead = testing::read_file(folder.file("dead.jsonl"));
  EXPECT_NE(dead.find("undelivered when the run ended"), std::string::npos);
}

}  // namespace
}  // namespace ldh
