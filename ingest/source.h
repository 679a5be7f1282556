#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/memory.h"
#include "pipeline/schema.h"

namespace ldh {

/// A piece of one source's stream made of whole records, handed from a source to a worker.
struct RawChunk {
  std::uint32_t source_index = 0;
  /// Offset of the chunk's first byte in the source's stream (for dead-letter offsets).
  std::uint64_t stream_offset = 0;
  /// Keeps the bytes alive while a worker decodes them (a string, a pinned buffer, ...).
  std::shared_ptr<const void> block;
  std::span<const std::byte> bytes;
  /// Records in the chunk when the source knows (messages, datagram contents); 0 when it does
  /// not. Flow control counts what it sheds with it.
  std::uint64_t records = 0;
  /// Handed back to Source::acknowledge once everything derived from the chunk was emitted; 0
  /// (sources that cannot replay): nothing to acknowledge, so nothing is tracked.
  std::uint64_t ack_token = 0;
  /// A part of the source with its own event-time order (a Kafka partition + 1), whose
  /// watermark windows track on its own; 0: the source as a whole.
  std::uint32_t stream = 0;
  /// Marks the end of `stream` (a revoked partition; the chunk may hold no bytes): it stops
  /// holding the watermark back.
  bool stream_ends = false;
};

/// One named counter of a source (kernel drops, reconnects, ...), for the run summary.
struct SourceCounter {
  std::string name;
  std::uint64_t value = 0;
};

/// Produces a stream of chunks. One thread calls next() until it returns false.
class Source {
 public:
  virtual ~Source() = default;
  /// Fetches the next chunk; false at the end of the stream or once `stop` is set.
  virtual bool next(RawChunk& chunk) = 0;
  virtual Format format() const = 0;
  virtual const std::string& name() const = 0;
  /// Counts bytes read so far (for the status line).
  virtual std::uint64_t bytes_read() const = 0;
  /// Tells the source that every result derived from its chunks up to the one that carried
  /// `ack_token` has been emitted (a Kafka source commits offsets here). Called from the writer
  /// thread, in the source's chunk order; sources that cannot replay ignore it.
  virtual void acknowledge(std::uint64_t ack_token) { static_cast<void>(ack_token); }
  /// Pauses or resumes receiving while flow control blocks the source (a Kafka source pauses
  /// its partitions); called from the thread that calls next().
  virtual void set_paused(bool paused) { static_cast<void>(paused); }
  /// Tells whether the stream can be read again with the same result (files, generators):
  /// the executor orders such sources' chunks round-robin for byte-identical output, and live
  /// sources' chunks in arrival order so that a quiet one never holds the others up.
  virtual bool replayable() const { return true; }
  /// Appends the source's own counters (kernel drops, reconnects, ...) to `out`; thread-safe.
  virtual void statistics(std::vector<SourceCounter>& out) const { static_cast<void>(out); }
};

/// Tells sources how to cut their streams.
struct SourceOptions {
  /// About this many records per chunk (a chunk becomes at least one batch downstream).
  std::size_t chunk_records = 65536;
  /// Set by the executor to ask sources to finish early (Ctrl-C).
  const std::atomic<bool>* stop = nullptr;
  /// Live sources (network) hand on a partial chunk once its first record waited this long
  /// (`input.buffer.underflow: wait`), or as soon as nothing more is waiting when
  /// `flush_partial` (`underflow: flush`).
  std::int64_t max_batch_latency_ns = 5'000'000;
  bool flush_partial = false;
  /// Where sources that fill buffers themselves (DPDK) allocate them: pinned when a device is
  /// usable, so batches copy to it without staging. Null: page-aligned host memory.
  HostMemoryResource* memory = nullptr;
};

/// Creates the source `config` describes (file or generator); throws UserError when it cannot
/// start (a missing file, a generator asked for fields it cannot make).
std::unique_ptr<Source> make_source(const SourceConfig& config, std::uint32_t index,
                                    const Schema& schema, const SourceOptions& options);

/// Creates a source over bytes already in memory (benchmarks and tests).
std::unique_ptr<Source> make_memory_source(std::string name, Format format, const Schema& schema,
                                           std::shared_ptr<const std::string> bytes,
                                           std::uint32_t index, const SourceOptions& options);

}  // namespace ldh
