#pragma once

// Storage for window state: records laid out by StateLayout (window_metrics.h) in blocks that
// never move, and the values exact percentiles keep, in linked chunks.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "pipeline/window_metrics.h"

namespace ldh {

/// Keeps state records in fixed blocks, so a record never moves once made and a pane's records
/// cost one allocation per block, not one per record.
class RecordStore {
 public:
  explicit RecordStore(std::size_t record_bytes) : record_bytes_(record_bytes) {
    while (shift_ < 10 && (record_bytes_ << (shift_ + 1)) <= kBlockBytes) ++shift_;
  }
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;

  std::uint32_t size() const { return size_; }
  std::byte* at(std::uint32_t index) const {
    return blocks_[index >> shift_].get() + (index & ((1u << shift_) - 1)) * record_bytes_;
  }
  /// Makes an empty record and returns its index.
  std::uint32_t push(const StateLayout& layout) {
    if ((size_ >> shift_) == blocks_.size()) {
      blocks_.emplace_back(
          static_cast<std::byte*>(::operator new(record_bytes_ << shift_, kBlockAlignment)));
    }
    layout.construct(at(size_));
    return size_++;
  }
  /// Tears every record down; the blocks stay for reuse.
  void clear(const StateLayout& layout) {
    for (std::uint32_t i = 0; i < size_; ++i) layout.destroy(at(i));
    size_ = 0;
  }
  std::size_t memory_bytes() const { return blocks_.size() * (record_bytes_ << shift_); }

 private:
  static constexpr std::size_t kBlockBytes = 64 * 1024;
  /// Blocks start on a cache line, so records straddle lines in a fixed pattern rather than
  /// wherever malloc's 16-byte alignment puts them (`ldh bench --events 4000000`: 8.75-8.84 M
  /// events/s before, 9.00-9.16 M after).
  static constexpr std::align_val_t kBlockAlignment{64};
  std::size_t record_bytes_;
  unsigned shift_ = 0;  // 2^shift_ records per block
  std::uint32_t size_ = 0;
  struct BlockDeleter {
    void operator()(std::byte* block) const { ::operator delete(block, kBlockAlignment); }
  };
  std::vector<std::unique_ptr<std::byte[], BlockDeleter>> blocks_;
};

/// Keeps the values (canonical, for exact percentiles) of the measures of every record of a
/// pane, eight to a chunk, each chain's chunks linked in arrival order (ValueChain): appending
/// never allocates per record, and a record's values come back with one cache line read per
/// eight. Chunks live in fixed blocks, so the store never copies values to grow.
class ValueChunks {
 public:
  static constexpr std::uint32_t kChunkValues = 8;

  /// Appends `value` to a chain that holds `count` values.
  LDH_FORCE_INLINE void append(ValueChain& chain, std::uint64_t count, double value) {
    const std::uint32_t slot = static_cast<std::uint32_t>(count % kChunkValues);
    if (slot == 0) {
      const std::uint32_t chunk = chunks_++;
      if ((chunk >> kBlockShift) == blocks_.size()) blocks_.emplace_back(new Block);
      if (count == 0) {
        chain.first = chunk;
      } else {
        next(chain.last) = chunk;
      }
      chain.last = chunk;
    }
    values(chain.last)[slot] = value;
  }

  /// Appends the `count` values of `chain` to `out`.
  void gather(const ValueChain& chain, std::uint64_t count, std::vector<double>& out) const {
    std::size_t position = out.size();
    out.resize(position + count);
    std::uint32_t chunk = chain.first;
    while (count > 0) {
      const auto take = static_cast<std::uint32_t>(std::min<std::uint64_t>(count, kChunkValues));
      const double* first = values(chunk);
      for (std::uint32_t i = 0; i < take; ++i) out[position + i] = first[i];
      position += take;
      count -= take;
      if (count > 0) chunk = next(chunk);
    }
  }

  /// Forgets every chain; the blocks stay for reuse.
  void clear() { chunks_ = 0; }
  std::size_t memory_bytes() const { return blocks_.size() * sizeof(Block); }

 private:
  static constexpr unsigned kBlockShift = 8;  // 256 chunks, 16 KiB of values, per block
  static constexpr std::uint32_t kBlockMask = (1u << kBlockShift) - 1;
  // On a cache line, so each chunk is one line rather than parts of two.
  struct alignas(64) Block {
    double values[kChunkValues << kBlockShift];
    std::uint32_t next[1u << kBlockShift];  // the chunk after each chunk of a chain
  };

  double* values(std::uint32_t chunk) const {
    return blocks_[chunk >> kBlockShift]->values + (chunk & kBlockMask) * kChunkValues;
  }
  std::uint32_t& next(std::uint32_t chunk) const {
    return blocks_[chunk >> kBlockShift]->next[chunk & kBlockMask];
  }

  std::vector<std::unique_ptr<Block>> blocks_;
  std::uint32_t chunks_ = 0;
};

/// Deletes a record made by make_record, tearing its state down first.
struct RecordDeleter {
  const StateLayout* layout = nullptr;
  void operator()(std::byte* record) const {
    layout->destroy(record);
    delete[] record;
  }
};
using OwnedRecord = std::unique_ptr<std::byte[], RecordDeleter>;

/// Makes one empty record on the heap (a session's state, a merge scratch).
inline OwnedRecord make_record(const StateLayout& layout) {
  OwnedRecord record(new std::byte[layout.record_bytes()], RecordDeleter{&layout});
  layout.construct(record.get());
  return record;
}

}  // namespace ldh
