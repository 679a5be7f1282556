#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/schema.h"

namespace ldh {

/// A piece of one source's stream made of whole records, handed from a source to a worker.
struct RawChunk {
  std::uint32_t source_index = 0;
  /// Offset of the chunk's first byte in the source's stream (for dead-letter offsets).
  std::uint64_t stream_offset = 0;
  /// Keeps the bytes alive while a worker decodes them.
  std::shared_ptr<const std::string> block;
  std::span<const std::byte> bytes;
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
};

/// Tells sources how to cut their streams.
struct SourceOptions {
  /// About this many records per chunk (a chunk becomes at least one batch downstream).
  std::size_t chunk_records = 65536;
  /// Set by the executor to ask sources to finish early (Ctrl-C).
  const std::atomic<bool>* stop = nullptr;
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
