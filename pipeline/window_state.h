#pragma once

// Storage for window state: records laid out by StateLayout (window_metrics.h) in blocks that
// never move, and the values exact percentiles keep, in linked chunks.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "pipeline/math.h"
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

/// Keeps the values (canonical, for exact percentiles) of every record of a pane in entries of
/// `width` values, eight entries to a chunk, each chain's chunks linked in arrival order
/// (ValueChain): appending never allocates per record, and a record's values come back with one
/// read per chunk. Chunks live in fixed blocks, so the store never copies values to grow. A
/// record of a StateLayout::counts_only() layout keeps one chain of rows, a value per measure
/// (width: the measures), so adding an event writes one chunk rather than one per measure
/// (`ldh bench --repeat 4`, four alternating rounds: 10.04 M events per CPU s with a chain per
/// measure, 10.34 M with rows); other records keep a chain per measure (width 1).
class ValueChunks {
 public:
  static constexpr std::uint32_t kChunkEntries = 8;
  /// Fills the slot of a null measure in a row: a NaN payload no canonical value has.
  static constexpr std::uint64_t kNullBits = 0x7ff0000000000001ULL;
  static double null_value() { return math::from_bits(kNullBits); }

  explicit ValueChunks(std::size_t width) : width_(static_cast<std::uint32_t>(width)) {}

  /// Appends an entry to a chain that holds `count` and returns its width slots to fill;
  /// `kWidth`, when not 0, is the width known at compile time (constant strides).
  template <std::size_t kWidth = 0>
  LDH_FORCE_INLINE double* append(ValueChain& chain, std::uint64_t count) {
    const std::size_t width = kWidth != 0 ? kWidth : width_;
    const std::uint32_t slot = static_cast<std::uint32_t>(count % kChunkEntries);
    if (slot == 0) {
      const std::uint32_t chunk = chunks_++;
      if ((chunk >> kBlockShift) == blocks_.size()) add_block();
      if (count == 0) {
        chain.first = chunk;
      } else {
        next(chain.last) = chunk;
      }
      chain.last = chunk;
    }
    return values(chain.last, width) + slot * width;
  }

  /// Appends column `column` of the `count` entries of `chain` to `out`, nulls (kNullBits) left
  /// out.
  void gather(const ValueChain& chain, std::uint64_t count, std::size_t column,
              std::vector<double>& out) const {
    std::size_t position = out.size();
    out.resize(position + count);
    each_chunk(chain, count, width_, [&](const double* entries, std::uint32_t take) {
      for (std::uint32_t i = 0; i < take; ++i)
        keep(out.data(), position, entries[i * width_ + column]);
    });
    out.resize(position);
  }

  /// Appends every column of the `count` entries of `chain` to `columns` (one per column, kWidth
  /// of them: the width known at compile time), nulls left out: one walk of the chain for all.
  template <std::size_t kWidth>
  void gather_columns(const ValueChain& chain, std::uint64_t count,
                      std::vector<std::vector<double>>& columns) const {
    double* out[kWidth];
    std::size_t positions[kWidth];
    for (std::size_t c = 0; c < kWidth; ++c) {
      positions[c] = columns[c].size();
      columns[c].resize(positions[c] + count);
      out[c] = columns[c].data();
    }
    each_chunk(chain, count, kWidth, [&](const double* entries, std::uint32_t take) {
      for (std::uint32_t i = 0; i < take; ++i) {
        for (std::size_t c = 0; c < kWidth; ++c)
          keep(out[c], positions[c], entries[i * kWidth + c]);
      }
    });
    for (std::size_t c = 0; c < kWidth; ++c) columns[c].resize(positions[c]);
  }

  /// Forgets every chain; the blocks stay for reuse.
  void clear() { chunks_ = 0; }
  std::size_t memory_bytes() const {
    return blocks_.size() * ((std::size_t{kChunkEntries * width_} << kBlockShift) * sizeof(double) +
                             (std::size_t{1} << kBlockShift) * sizeof(std::uint32_t));
  }

 private:
  static constexpr unsigned kBlockShift = 8;  // 256 chunks per block
  static constexpr std::uint32_t kBlockMask = (1u << kBlockShift) - 1;
  // On a cache line, so a chunk of one-value entries is one line rather than parts of two.
  static constexpr std::align_val_t kAlignment{64};
  struct ValuesDeleter {
    void operator()(double* values) const { ::operator delete[](values, kAlignment); }
  };
  struct Block {
    std::unique_ptr<double[], ValuesDeleter> values;
    std::unique_ptr<std::uint32_t[]> next;  // the chunk after each chunk of a chain
  };

  void add_block() {
    const std::size_t values = std::size_t{kChunkEntries * width_} << kBlockShift;
    blocks_.push_back(
        {std::unique_ptr<double[], ValuesDeleter>(
             static_cast<double*>(::operator new[](values * sizeof(double), kAlignment))),
         std::make_unique_for_overwrite<std::uint32_t[]>(std::size_t{1} << kBlockShift)});
  }
  /// Calls visit(entries, take) for each chunk of the `count` entries of `chain`, in order:
  /// `take` entries of `width` values from `entries`.
  template <typename Visit>
  LDH_FORCE_INLINE void each_chunk(const ValueChain& chain, std::uint64_t count, std::size_t width,
                                   Visit visit) const {
    std::uint32_t chunk = chain.first;
    while (count > 0) {
      const auto take = static_cast<std::uint32_t>(std::min<std::uint64_t>(count, kChunkEntries));
      visit(values(chunk, width), take);
      count -= take;
      if (count > 0) chunk = next(chunk);
    }
  }
  /// Writes `x` at out[position] and moves past it unless it is a null's slot (no branch).
  static void keep(double* out, std::size_t& position, double x) {
    out[position] = x;
    position += math::to_bits(x) != kNullBits;
  }
  double* values(std::uint32_t chunk, std::size_t width) const {
    return blocks_[chunk >> kBlockShift].values.get() +
           (chunk & kBlockMask) * kChunkEntries * width;
  }
  std::uint32_t& next(std::uint32_t chunk) const {
    return blocks_[chunk >> kBlockShift].next[chunk & kBlockMask];
  }

  std::uint32_t width_;
  std::vector<Block> blocks_;
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
