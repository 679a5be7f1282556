#include "ingest/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

#include "ingest/kafka_settings.h"
#include "pipeline/error.h"

namespace ldh {

namespace {

// next() wakes at least this often to notice stop and the end conditions.
constexpr auto kStopPoll = std::chrono::milliseconds(100);
// A broker that is down makes librdkafka complain every few hundred milliseconds: one line per
// source this often is enough, the rest are counted in the next line.
constexpr std::size_t kFirstBlockBytes = 64u << 10;
// librdkafka logs with syslog levels; warnings and worse reach the user.
constexpr int kLogWarning = 4;

/// Owns a librdkafka topic-partition list.
class PartitionList {
 public:
  explicit PartitionList(int capacity) : list_(rd_kafka_topic_partition_list_new(capacity)) {}
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list_); }
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;

  rd_kafka_topic_partition_list_t* get() const { return list_; }
  bool empty() const { return list_->cnt == 0; }

 private:
  rd_kafka_topic_partition_list_t* list_;
};

bool contains(const rd_kafka_topic_partition_list_t* partitions, const char* topic,
              std::int32_t partition) {
  for (int i = 0; i < partitions->cnt; ++i) {
    const rd_kafka_topic_partition_t& entry = partitions->elems[i];
    if (entry.partition == partition && std::strcmp(entry.topic, topic) == 0) return true;
  }
  return false;
}

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

}  // namespace

struct KafkaSource::Callbacks {
  static void rebalance(rd_kafka_t* consumer, rd_kafka_resp_err_t error,
                        rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto& source = *static_cast<KafkaSource*>(opaque);
    source.rebalances_.fetch_add(1, std::memory_order_relaxed);
    if (error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      source.assign(partitions);
    } else if (error == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      source.revoke(partitions, rd_kafka_assignment_lost(consumer) != 0);
    } else {
      // librdkafka asks to drop the whole assignment to get back in step with the group.
      source.errors_.fetch_add(1, std::memory_order_relaxed);
      source.report_problem(std::string("rebalance failed: ") + rd_kafka_err2str(error));
      rd_kafka_topic_partition_list_t* assignment = nullptr;
      if (rd_kafka_assignment(consumer, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        source.forget(assignment);
        rd_kafka_topic_partition_list_destroy(assignment);
      }
      rd_kafka_assign(consumer, nullptr);
      source.assigned_partitions_.store(0, std::memory_order_relaxed);
    }
  }

  static void commit(rd_kafka_t*, rd_kafka_resp_err_t error,
                     rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto& source = *static_cast<KafkaSource*>(opaque);
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR && offsets != nullptr) {
      for (int i = 0; i < offsets->cnt; ++i) {
        if (offsets->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          error = offsets->elems[i].err;
          break;
        }
      }
    }
    // __NO_OFFSET: nothing was left to commit, which is no failure.
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR || error == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    source.commit_errors_.fetch_add(1, std::memory_order_relaxed);
    // A commit the group refuses while it rebalances is expected: the offsets are committed
    // again when the partitions are revoked, or re-read by their next owner.
    if (error == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
        error == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION) {
      return;
    }
    source.report_problem(std::string("offset commit failed: ") + rd_kafka_err2str(error));
  }

  static void error(rd_kafka_t* consumer, int code, const char* reason, void* opaque) {
    auto& source = *static_cast<KafkaSource*>(opaque);
    source.errors_.fetch_add(1, std::memory_order_relaxed);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
      source.fatal_ = true;
      source.fatal_reason_ = fatal_error_text(consumer);
      return;
    }
    source.report_problem(reason);
  }

  static void log(const rd_kafka_t* consumer, int level, const char* facility, const char* text) {
    if (level > kLogWarning) return;
    // Logs are forwarded to the consumer's queue, so this runs in next() like the others.
    auto& source = *static_cast<KafkaSource*>(rd_kafka_opaque(consumer));
    source.report_problem(std::string(facility) + ": " + text);
  }
};

void KafkaSource::MessageDeleter::operator()(rd_kafka_message_s* message) const {
  rd_kafka_message_destroy(message);
}

KafkaSource::KafkaSource(const SourceConfig& config, std::uint32_t index, const Schema& schema,
                         const SourceOptions& options)
    : name_(config.name),
      format_(config.format),
      index_(index),
      options_(options),
      config_(config.kafka),
      framer_(make_decoder(config.format, schema)),
      problems_("ldh: source '" + config.name + "': kafka: ") {
  LDH_EXPECTS(!config_.topics.empty() && !config_.brokers.empty() && !config_.group.empty(),
              "a kafka source needs topics, brokers and a group");
  KafkaSettings settings;
  const std::string own = "source '" + name_ + "'";
  settings.set("client.id", "ldh-" + name_, config_.where, own);
  settings.set("bootstrap.servers", join_words(config_.brokers, ","), config_.where, own);
  settings.set("group.id", config_.group, config_.where, own);
  settings.set("enable.auto.commit", config_.auto_commit ? "true" : "false", config_.where, own);
  settings.set("enable.auto.offset.store", "false", config_.where, own);
  settings.set("log.queue", "true", config_.where, own);
  settings.set_properties(config_.properties);
  rd_kafka_conf_set_opaque(settings.get(), this);
  rd_kafka_conf_set_rebalance_cb(settings.get(), &Callbacks::rebalance);
  rd_kafka_conf_set_offset_commit_cb(settings.get(), &Callbacks::commit);
  rd_kafka_conf_set_error_cb(settings.get(), &Callbacks::error);
  rd_kafka_conf_set_log_cb(settings.get(), &Callbacks::log);
  consumer_ = settings.create(RD_KAFKA_CONSUMER, config_.where, own);
  rd_kafka_set_log_queue(consumer_, nullptr);
  rd_kafka_poll_set_consumer(consumer_);
  PartitionList topics(static_cast<int>(config_.topics.size()));
  for (const auto& topic : config_.topics) {
    rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t error = rd_kafka_subscribe(consumer_, topics.get());
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(consumer_);
    throw UserError(own + ": cannot subscribe to " + join_words(config_.topics, ", ") + ": " +
                    rd_kafka_err2str(error));
  }
}

KafkaSource::~KafkaSource() {
  held_.reset();
  // Leaving the group revokes the assignment, which commits what was acknowledged.
  rd_kafka_consumer_close(consumer_);
  rd_kafka_destroy(consumer_);
}

bool KafkaSource::next(RawChunk& chunk) {
  while (true) {
    if (fatal_) {
      throw UserError("source '" + name_ + "': the Kafka client failed: " + fatal_reason_);
    }
    if (!stream_changes_.empty()) {
      // An assigned partition starts holding the watermark back, a revoked one stops; there
      // are no bytes to decode.
      chunk = RawChunk{};
      chunk.source_index = index_;
      chunk.stream_offset = stream_offset_;
      chunk.stream = stream_changes_.front().first;
      chunk.stream_ends = stream_changes_.front().second;
      stream_changes_.pop_front();
      std::lock_guard lock(mutex_);
      chunk.ack_token = ++next_token_;
      return true;
    }
    if (finished_ || stopping()) {
      if (block_) return hand_on(chunk);
      return false;
    }
    Message message = take_message();
    if (!stream_changes_.empty()) {
      // A rebalance during the poll: its announcements go before any chunk of the new
      // assignment.
      held_ = std::move(message);
      continue;
    }
    const auto now = Clock::now();
    if (!message) {
      if (block_ && (options_.flush_partial || now >= block_deadline_)) return hand_on(chunk);
      if (config_.end_after_idle_ns > 0 && received_any_ &&
          now - last_message_ >= std::chrono::nanoseconds(config_.end_after_idle_ns)) {
        finished_ = true;
      }
      continue;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      errors_.fetch_add(1, std::memory_order_relaxed);
      std::string where = message->rkt != nullptr ? rd_kafka_topic_name(message->rkt) : "";
      if (!where.empty()) where += " [" + std::to_string(message->partition) + "]: ";
      report_problem(where + rd_kafka_message_errstr(message.get()));
      continue;
    }
    // One partition per chunk, and a message too big to share a chunk gets one of its own.
    if (block_ && (message->rkt != block_topic_ || message->partition != block_partition_ ||
                   message->len > kMaxRecordBytes)) {
      held_ = std::move(message);
      return hand_on(chunk);
    }
    received_any_ = true;
    last_message_ = now;
    const bool full = append(*message, now);
    if (config_.events > 0 && records_handed_on_ + block_records_ >= config_.events) {
      finished_ = true;
    }
    if (full) return hand_on(chunk);
  }
}

KafkaSource::Message KafkaSource::take_message() {
  if (held_) return std::move(held_);
  auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(kStopPoll);
  const auto now = Clock::now();
  if (block_) {
    wait = options_.flush_partial ? std::chrono::nanoseconds(0)
                                  : std::min(wait, std::chrono::nanoseconds(block_deadline_ - now));
  }
  if (config_.end_after_idle_ns > 0 && received_any_) {
    auto quiet_until = last_message_ + std::chrono::nanoseconds(config_.end_after_idle_ns);
    wait = std::min(wait, std::chrono::nanoseconds(quiet_until - now));
  }
  // Rounded up, so a wait that ends before a deadline does not spin.
  const auto milliseconds = std::max<std::int64_t>(0, (wait.count() + 999'999) / 1'000'000);
  return Message(rd_kafka_consumer_poll(consumer_, static_cast<int>(milliseconds)));
}

bool KafkaSource::append(const rd_kafka_message_s& message, Clock::time_point now) {
  const auto* payload = static_cast<const char*>(message.payload);
  const std::size_t size = message.len;
  messages_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(size, std::memory_order_relaxed);
  if (!block_) {
    block_ = std::make_shared<std::string>();
    block_->reserve(last_block_bytes_);
    block_topic_ = message.rkt;
    block_partition_ = message.partition;
    block_first_offset_ = message.offset;
    block_records_ = 0;
    block_messages_ = 0;
    block_deadline_ = now + std::chrono::nanoseconds(options_.max_batch_latency_ns);
    const TopicPartition partition{rd_kafka_topic_name(block_topic_), block_partition_};
    auto handed = handed_on_.find(partition);
    block_redelivery_limit_ = handed == handed_on_.end() ? 0 : handed->second;
    block_stream_ = stream_of(partition);
  }
  if (message.offset < block_redelivery_limit_) {
    redelivered_.fetch_add(1, std::memory_order_relaxed);
  }
  block_next_offset_ = message.offset + 1;
  ++block_messages_;
  std::string& block = *block_;
  std::uint64_t records = 0;
  bool ends_chunk = size > kMaxRecordBytes;
  // A null payload is a tombstone; only protobuf gives an empty payload a meaning (a message
  // with every field at its default).
  if (payload == nullptr || (size == 0 && format_ != Format::protobuf)) {
    empty_messages_.fetch_add(1, std::memory_order_relaxed);
  } else if (format_ == Format::json) {
    block.append(payload, size);
    records = static_cast<std::uint64_t>(std::count(payload, payload + size, '\n'));
    if (payload[size - 1] != '\n') {
      block.push_back('\n');
      ++records;
    }
  } else if (format_ == Format::protobuf) {
    append_varint(block, size);
    block.append(payload, size);
    records = 1;
  } else {
    FrameInfo info;
    std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(payload), size);
    const std::size_t whole =
        framer_->frame(bytes, std::numeric_limits<std::size_t>::max(), false, &info);
    block.append(payload, size);
    records = info.records;
    if (whole < size) {
      // The bad tail must end its chunk: there the decoder dead-letters it, instead of reading
      // the next message as its continuation.
      ++records;
      ends_chunk = true;
    }
  }
  block_records_ += records;
  return ends_chunk || block_records_ >= options_.chunk_records ||
         block.size() >= kMaxRecordBytes || now >= block_deadline_;
}

bool KafkaSource::hand_on(RawChunk& chunk) {
  std::shared_ptr<const std::string> block = std::move(block_);
  block_.reset();
  KafkaChunkInfo info{rd_kafka_topic_name(block_topic_), block_partition_, block_first_offset_,
                      block_next_offset_, block_records_};
  std::int64_t& handed = handed_on_[{info.topic, info.partition}];
  handed = std::max(handed, info.next_offset);
  std::uint64_t token;
  {
    std::lock_guard lock(mutex_);
    token = ++next_token_;
    pending_.emplace(token, std::move(info));
  }
  chunk = RawChunk{};
  chunk.source_index = index_;
  chunk.stream_offset = stream_offset_;
  chunk.bytes =
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(block->data()), block->size());
  chunk.records = block_records_;
  chunk.ack_token = token;
  chunk.stream = block_stream_;
  stream_offset_ += block->size();
  records_handed_on_ += block_records_;
  records_.fetch_add(block_records_, std::memory_order_relaxed);
  last_block_bytes_ = std::max(kFirstBlockBytes, block->size());
  chunk.block = std::move(block);
  chunks_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void KafkaSource::acknowledge(std::uint64_t ack_token) {
  std::lock_guard lock(mutex_);
  auto end = pending_.upper_bound(ack_token);
  if (end == pending_.begin()) return;
  PartitionList offsets(4);
  for (auto it = pending_.begin(); it != end; ++it) {
    const KafkaChunkInfo& info = it->second;
    std::int64_t& acknowledged = acknowledged_[{info.topic, info.partition}];
    acknowledged = std::max(acknowledged, info.next_offset);
    rd_kafka_topic_partition_t* entry =
        rd_kafka_topic_partition_list_find(offsets.get(), info.topic.c_str(), info.partition);
    if (entry == nullptr) {
      entry = rd_kafka_topic_partition_list_add(offsets.get(), info.topic.c_str(), info.partition);
    }
    entry->offset = acknowledged;
  }
  pending_.erase(pending_.begin(), end);
  // With autoCommit librdkafka commits the stored offsets on its timer and when the partitions
  // are revoked; otherwise they are committed now, without waiting for the broker's answer.
  rd_kafka_resp_err_t error = config_.auto_commit ? rd_kafka_offsets_store(consumer_, offsets.get())
                                                  : rd_kafka_commit(consumer_, offsets.get(), 1);
  if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
    commits_.fetch_add(1, std::memory_order_relaxed);
  } else {
    commit_errors_.fetch_add(1, std::memory_order_relaxed);
    report_problem(std::string("cannot commit offsets: ") + rd_kafka_err2str(error));
  }
}

void KafkaSource::set_paused(bool paused) {
  if (paused == paused_) return;
  paused_ = paused;
  rd_kafka_topic_partition_list_t* assignment = nullptr;
  if (rd_kafka_assignment(consumer_, &assignment) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  if (paused) {
    rd_kafka_pause_partitions(consumer_, assignment);
  } else {
    rd_kafka_resume_partitions(consumer_, assignment);
  }
  rd_kafka_topic_partition_list_destroy(assignment);
}

std::uint32_t KafkaSource::stream_of(const TopicPartition& partition) {
  return streams_.emplace(partition, static_cast<std::uint32_t>(streams_.size() + 1)).first->second;
}

void KafkaSource::assign(rd_kafka_topic_partition_list_s* partitions) {
  PartitionList resumed(static_cast<int>(resume_offsets_.size()));
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& entry = partitions->elems[i];
    auto found = resume_offsets_.find({entry.topic, entry.partition});
    if (found == resume_offsets_.end()) continue;
    entry.offset = found->second;
    rd_kafka_topic_partition_list_add(resumed.get(), entry.topic, entry.partition)->offset =
        found->second;
    std::lock_guard lock(mutex_);
    acknowledged_[found->first] = found->second;
  }
  resume_offsets_.clear();
  if (std::strcmp(rd_kafka_rebalance_protocol(consumer_), "COOPERATIVE") == 0) {
    if (rd_kafka_error_t* error = rd_kafka_incremental_assign(consumer_, partitions)) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      report_problem(std::string("cannot take assigned partitions: ") +
                     rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
      return;
    }
    assigned_partitions_.fetch_add(static_cast<std::uint64_t>(partitions->cnt),
                                   std::memory_order_relaxed);
  } else {
    rd_kafka_assign(consumer_, partitions);
    assigned_partitions_.store(static_cast<std::uint64_t>(partitions->cnt),
                               std::memory_order_relaxed);
  }
  for (int i = 0; i < partitions->cnt; ++i) {
    const rd_kafka_topic_partition_t& entry = partitions->elems[i];
    stream_changes_.emplace_back(stream_of({entry.topic, entry.partition}), false);
  }
  if (paused_) rd_kafka_pause_partitions(consumer_, partitions);
  if (!resumed.empty()) {
    if (rd_kafka_commit(consumer_, resumed.get(), 1) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      commits_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void KafkaSource::revoke(rd_kafka_topic_partition_list_s* partitions, bool lost) {
  const auto acknowledged = forget(partitions);
  PartitionList offsets(static_cast<int>(acknowledged.size()));
  for (const auto& [partition, offset] : acknowledged) {
    rd_kafka_topic_partition_list_add(offsets.get(), partition.first.c_str(), partition.second)
        ->offset = offset;
  }
  // Acknowledged offsets were committed asynchronously; committing them again synchronously
  // makes sure they are on the broker before the next owner reads them.
  if (!lost && !config_.auto_commit && !offsets.empty()) {
    rd_kafka_resp_err_t error = rd_kafka_commit(consumer_, offsets.get(), 0);
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
      commits_.fetch_add(1, std::memory_order_relaxed);
    } else {
      // A group that already started rebalancing refuses commits of the old generation.
      commit_errors_.fetch_add(1, std::memory_order_relaxed);
      for (const auto& [partition, offset] : acknowledged) resume_offsets_[partition] = offset;
    }
  }
  if (std::strcmp(rd_kafka_rebalance_protocol(consumer_), "COOPERATIVE") == 0) {
    if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(consumer_, partitions)) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      report_problem(std::string("cannot give revoked partitions up: ") +
                     rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
    }
    const auto revoked = static_cast<std::uint64_t>(partitions->cnt);
    const auto assigned = assigned_partitions_.load(std::memory_order_relaxed);
    assigned_partitions_.store(assigned - std::min(assigned, revoked), std::memory_order_relaxed);
  } else {
    rd_kafka_assign(consumer_, nullptr);
    assigned_partitions_.store(0, std::memory_order_relaxed);
  }
}

std::vector<std::pair<KafkaSource::TopicPartition, std::int64_t>> KafkaSource::forget(
    const rd_kafka_topic_partition_list_s* partitions) {
  if (block_ && contains(partitions, rd_kafka_topic_name(block_topic_), block_partition_)) {
    discarded_on_revoke_.fetch_add(block_messages_, std::memory_order_relaxed);
    block_.reset();
  }
  if (held_ && contains(partitions, rd_kafka_topic_name(held_->rkt), held_->partition)) {
    discarded_on_revoke_.fetch_add(1, std::memory_order_relaxed);
    held_.reset();
  }
  for (int i = 0; i < partitions->cnt; ++i) {
    const rd_kafka_topic_partition_t& entry = partitions->elems[i];
    stream_changes_.emplace_back(stream_of({entry.topic, entry.partition}), true);
  }
  std::vector<std::pair<TopicPartition, std::int64_t>> offsets;
  std::lock_guard lock(mutex_);
  std::erase_if(pending_, [&](const auto& entry) {
    return contains(partitions, entry.second.topic.c_str(), entry.second.partition);
  });
  for (auto it = acknowledged_.begin(); it != acknowledged_.end();) {
    if (!contains(partitions, it->first.first.c_str(), it->first.second)) {
      ++it;
      continue;
    }
    offsets.emplace_back(it->first, it->second);
    it = acknowledged_.erase(it);
  }
  return offsets;
}

std::uint64_t KafkaSource::bytes_read() const {
  return bytes_.load(std::memory_order_relaxed);
}

std::optional<KafkaChunkInfo> KafkaSource::chunk_info(std::uint64_t ack_token) const {
  std::lock_guard lock(mutex_);
  auto found = pending_.find(ack_token);
  if (found == pending_.end()) return std::nullopt;
  return found->second;
}

KafkaSourceStatistics KafkaSource::counters() const {
  KafkaSourceStatistics statistics;
  statistics.messages = messages_.load(std::memory_order_relaxed);
  statistics.bytes = bytes_.load(std::memory_order_relaxed);
  statistics.chunks = chunks_.load(std::memory_order_relaxed);
  statistics.commits = commits_.load(std::memory_order_relaxed);
  statistics.commit_errors = commit_errors_.load(std::memory_order_relaxed);
  statistics.rebalances = rebalances_.load(std::memory_order_relaxed);
  statistics.assigned_partitions = assigned_partitions_.load(std::memory_order_relaxed);
  statistics.errors = errors_.load(std::memory_order_relaxed);
  statistics.redelivered = redelivered_.load(std::memory_order_relaxed);
  statistics.discarded_on_revoke = discarded_on_revoke_.load(std::memory_order_relaxed);
  statistics.empty_messages = empty_messages_.load(std::memory_order_relaxed);
  statistics.records = records_.load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  statistics.unacknowledged_chunks = pending_.size();
  return statistics;
}

void KafkaSource::statistics(std::vector<SourceCounter>& out) const {
  const KafkaSourceStatistics statistics = counters();
  out.push_back({"kafka_messages", statistics.messages});
  out.push_back({"kafka_bytes", statistics.bytes});
  out.push_back({"kafka_records", statistics.records});
  out.push_back({"kafka_chunks", statistics.chunks});
  out.push_back({"kafka_commits", statistics.commits});
  out.push_back({"kafka_commit_errors", statistics.commit_errors});
  out.push_back({"kafka_rebalances", statistics.rebalances});
  out.push_back({"kafka_assigned_partitions", statistics.assigned_partitions});
  out.push_back({"kafka_errors", statistics.errors});
  out.push_back({"kafka_redelivered", statistics.redelivered});
  out.push_back({"kafka_discarded_on_revoke", statistics.discarded_on_revoke});
  out.push_back({"kafka_empty_messages", statistics.empty_messages});
  out.push_back({"kafka_unacknowledged_chunks", statistics.unacknowledged_chunks});
}

bool KafkaSource::stopping() const {
  return options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed);
}

}  // namespace ldh
