#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ingest/decoder.h"
#include "ingest/source.h"
#include "pipeline/config.h"
#include "pipeline/problem_log.h"
#include "pipeline/schema.h"

// librdkafka's handles, kept out of every file that includes this one.
struct rd_kafka_s;
struct rd_kafka_topic_s;
struct rd_kafka_message_s;
struct rd_kafka_topic_partition_list_s;

namespace ldh {

/// Where a chunk of a Kafka source came from: one partition of one topic, and the offsets it
/// covers. Every chunk holds messages of one partition only, so that each partition keeps a
/// watermark of its own (RawChunk::stream).
struct KafkaChunkInfo {
  std::string topic;
  std::int32_t partition = 0;
  /// Offset of the chunk's first message.
  std::int64_t first_offset = 0;
  /// The offset after the chunk's last message: what is committed once the chunk is
  /// acknowledged.
  std::int64_t next_offset = 0;
  std::uint64_t records = 0;
};

/// Counts what a Kafka source consumed, committed and went through.
struct KafkaSourceStatistics {
  std::uint64_t messages = 0;
  /// Payload bytes of the messages.
  std::uint64_t bytes = 0;
  /// Records handed on: JSON lines, protobuf messages, binary records (plus one per bad
  /// binary tail, which the decoder dead-letters).
  std::uint64_t records = 0;
  std::uint64_t chunks = 0;
  /// Offset commits sent (explicit commits, or offset stores with autoCommit) and commit
  /// requests the broker rejected.
  std::uint64_t commits = 0;
  std::uint64_t commit_errors = 0;
  /// Assignments and revocations the group coordinator handed this consumer.
  std::uint64_t rebalances = 0;
  std::uint64_t assigned_partitions = 0;
  /// Consumer and client errors (a broker down, an unknown topic); logged with a rate limit.
  std::uint64_t errors = 0;
  /// Messages read again at an offset this consumer had already handed on (after an eager
  /// rebalance gave a partition back): the duplicates at-least-once delivery allows.
  std::uint64_t redelivered = 0;
  /// Messages of a chunk still being filled when its partition was revoked: never handed on,
  /// the partition's next owner reads them again.
  std::uint64_t discarded_on_revoke = 0;
  /// Messages that hold no record (tombstones, empty JSON or binary payloads).
  std::uint64_t empty_messages = 0;
  /// Chunks handed on but not yet acknowledged.
  std::uint64_t unacknowledged_chunks = 0;
};

/// Consumes topics of a Kafka cluster as a member of a consumer group (librdkafka's high-level
/// consumer), with at-least-once delivery: offsets are committed only for chunks the executor
/// acknowledged (every result derived from them emitted), never on receipt. Each message is one
/// JSON line (a newline is added when missing), one protobuf message (the source writes its
/// length prefix) or one or more whole binary frames. Messages are cut into chunks of at most
/// chunk_records records, of one partition each, handed on once full, once the first record
/// waited max_batch_latency (or at once with flush_partial), or when the next message belongs to
/// another partition. Each chunk's `stream` names its partition (1, 2, ... in the order the
/// partitions were first assigned, kept for the source's lifetime). Assignments and revocations
/// are announced in order by empty chunks: one with the partition's `stream` when it is
/// assigned (so that its watermark can hold the others back before its first message), one
/// with `stream_ends` after its last chunk when it is revoked. Ends on stop, after the configured
/// number of records, or after the configured idle time; a fatal client error ends it with a
/// UserError. See docs/sources.md.
class KafkaSource final : public Source {
 public:
  /// Creates the consumer and subscribes to the topics (the group join starts in the
  /// background). Throws ConfigError at the offending key when librdkafka rejects a property,
  /// UserError when the consumer cannot be created.
  KafkaSource(const SourceConfig& config, std::uint32_t index, const Schema& schema,
              const SourceOptions& options);
  /// Leaves the group: commits what was acknowledged (explicit commits) or stored
  /// (autoCommit), then closes the consumer.
  ~KafkaSource() override;

  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  bool next(RawChunk& chunk) override;
  Format format() const override { return format_; }
  const std::string& name() const override { return name_; }
  std::uint64_t bytes_read() const override;
  /// Commits, for each partition, the offset after the last message of the acknowledged chunks
  /// (every chunk up to `ack_token`); chunks of partitions revoked since are skipped. Any thread.
  void acknowledge(std::uint64_t ack_token) override;
  /// Pauses or resumes fetching on every assigned partition (and on partitions assigned while
  /// paused).
  void set_paused(bool paused) override;
  bool replayable() const override { return false; }
  void statistics(std::vector<SourceCounter>& out) const override;

  /// Returns where the chunk that carried `ack_token` came from, while it is neither
  /// acknowledged nor dropped by a revocation; any thread.
  std::optional<KafkaChunkInfo> chunk_info(std::uint64_t ack_token) const;
  /// Returns a snapshot of the counters; any thread.
  KafkaSourceStatistics counters() const;

 private:
  using TopicPartition = std::pair<std::string, std::int32_t>;
  struct MessageDeleter {
    void operator()(rd_kafka_message_s* message) const;
  };
  using Message = std::unique_ptr<rd_kafka_message_s, MessageDeleter>;
  using Clock = std::chrono::steady_clock;

  /// librdkafka's callbacks (rebalance, commit results, errors, logs), in kafka_source.cpp.
  struct Callbacks;
  friend struct Callbacks;

  void assign(rd_kafka_topic_partition_list_s* partitions);
  void revoke(rd_kafka_topic_partition_list_s* partitions, bool lost);
  /// Drops every trace of `partitions` (the chunk being filled, unacknowledged chunks) and
  /// returns the offsets acknowledged for them.
  std::vector<std::pair<TopicPartition, std::int64_t>> forget(
      const rd_kafka_topic_partition_list_s* partitions);
  Message take_message();
  /// Returns the RawChunk::stream of `partition`, numbering partitions as they first appear.
  std::uint32_t stream_of(const TopicPartition& partition);
  /// Adds a message to the chunk being filled; true when the chunk must be handed on now.
  bool append(const rd_kafka_message_s& message, Clock::time_point now);
  bool hand_on(RawChunk& chunk);
  void report_problem(const std::string& text) { problems_.report(text); }
  bool stopping() const;

  std::string name_;
  Format format_;
  std::uint32_t index_;
  SourceOptions options_;
  KafkaSourceConfig config_;
  std::unique_ptr<Decoder> framer_;
  rd_kafka_s* consumer_ = nullptr;
  bool cooperative_ = false;

  // The chunk being filled and the message that starts the next one (source thread only).
  std::shared_ptr<std::string> block_;
  std::size_t last_block_bytes_ = 64u << 10;
  rd_kafka_topic_s* block_topic_ = nullptr;
  std::int32_t block_partition_ = 0;
  std::int64_t block_first_offset_ = 0;
  std::int64_t block_next_offset_ = 0;
  std::uint64_t block_records_ = 0;
  std::uint64_t block_messages_ = 0;
  /// Offsets below this in the block's partition were handed on before (redelivered).
  std::int64_t block_redelivery_limit_ = 0;
  std::uint32_t block_stream_ = 0;
  Clock::time_point block_deadline_{};
  Message held_;
  /// Per partition: the offset after the last message handed on (source thread only).
  std::map<TopicPartition, std::int64_t> handed_on_;
  /// Per partition: its RawChunk::stream (source thread only).
  std::map<TopicPartition, std::uint32_t> streams_;
  /// Assigned (false) and revoked (true) streams whose announcement next() has still to hand
  /// on, in the order they happened.
  std::deque<std::pair<std::uint32_t, bool>> stream_changes_;
  /// Acknowledged offsets of revoked partitions the group refused to commit (it was already
  /// rebalancing): if the next assignment gives a partition back, reading resumes there and
  /// the offset is committed in the new generation (source thread only).
  std::map<TopicPartition, std::int64_t> resume_offsets_;
  std::uint64_t stream_offset_ = 0;
  std::uint64_t records_handed_on_ = 0;
  bool received_any_ = false;
  Clock::time_point last_message_{};
  bool finished_ = false;
  bool paused_ = false;
  bool fatal_ = false;
  std::string fatal_reason_;

  // Chunks handed on but not acknowledged, and the offsets acknowledged per partition.
  mutable std::mutex mutex_;
  std::uint64_t next_token_ = 0;
  std::map<std::uint64_t, KafkaChunkInfo> pending_;
  std::map<TopicPartition, std::int64_t> acknowledged_;

  ProblemLog problems_;

  std::atomic<std::uint64_t> messages_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> records_{0};
  std::atomic<std::uint64_t> chunks_{0};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> commit_errors_{0};
  std::atomic<std::uint64_t> rebalances_{0};
  std::atomic<std::uint64_t> assigned_partitions_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> redelivered_{0};
  std::atomic<std::uint64_t> discarded_on_revoke_{0};
  std::atomic<std::uint64_t> empty_messages_{0};
};

}  // namespace ldh
