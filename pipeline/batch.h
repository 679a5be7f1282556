#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/memory.h"
#include "pipeline/types.h"

namespace ldh {

/// Points at one column without owning it. Trivially copyable, so the same struct describes
/// columns in host memory and, with device pointers, on a GPU.
struct ColumnView {
  DataType type;
  void* data;              // storage as documented on DataType
  std::uint8_t* validity;  // 1 = value present; nullptr when the column has no nulls

  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }
  bool valid(std::size_t row) const { return validity == nullptr || validity[row] != 0; }
};

/// Declares one column slot of a batch.
struct SlotSpec {
  DataType type = DataType::float64;
  bool nullable = false;
};

/// Owns one column: values and, for nullable slots, a validity byte per row.
class Column {
 public:
  Column(SlotSpec spec, std::size_t capacity, HostMemoryResource& memory);
  ColumnView view() { return {spec_.type, values_.data(), nullable() ? validity() : nullptr}; }
  DataType type() const { return spec_.type; }
  bool nullable() const { return spec_.nullable; }
  template <typename T>
  T* data() {
    return static_cast<T*>(values_.data());
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(values_.data());
  }
  std::uint8_t* validity() { return static_cast<std::uint8_t*>(validity_.data()); }
  const std::uint8_t* validity() const {
    return static_cast<const std::uint8_t*>(validity_.data());
  }

 private:
  SlotSpec spec_;
  Buffer values_;
  Buffer validity_;
};

/// Marks a live row in a batch's selection. 0 marks a row dropped without a trace (none yet);
/// kRejectedBase + k marks a row that filter stage k rejected, so its reject sink can get it.
inline constexpr std::uint8_t kLive = 1;
inline constexpr std::uint8_t kRejectedBase = 2;
/// Bounds the number of filter stages, so stage codes fit the selection byte.
inline constexpr std::size_t kMaxFilterStages = 250;

/// The most column slots a batch can have; bounds the device view so it stays trivially copyable.
inline constexpr std::size_t kMaxSlots = 64;

/// Describes a batch for a kernel: plain pointers and sizes, trivially copyable.
struct EventBatchDeviceView {
  ColumnView columns[kMaxSlots];
  std::uint8_t* selection;  // kLive = row is live
  std::uint32_t slot_count;
  std::uint32_t size;
};

/// Points at a batch without owning it.
struct EventBatchView {
  std::vector<ColumnView> columns;
  std::uint8_t* selection = nullptr;
  std::size_t size = 0;

  /// Flattens into the fixed-size form that kernels take.
  EventBatchDeviceView device_view() const;
};

/// Owns a batch of events as columns (struct of arrays), one per slot of the pipeline's plan.
/// Rows that a filter rejected stay in place (selection[row] != kLive): stages run over whole
/// columns and only the writers skip them.
class EventBatch {
 public:
  EventBatch(const std::vector<SlotSpec>& slots, std::size_t capacity, HostMemoryResource& memory);

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool full() const { return size_ == capacity_; }
  std::size_t slot_count() const { return columns_.size(); }
  Column& column(std::size_t slot) { return columns_[slot]; }
  const Column& column(std::size_t slot) const { return columns_[slot]; }
  std::uint8_t* selection() { return static_cast<std::uint8_t*>(selection_.data()); }
  const std::uint8_t* selection() const {
    return static_cast<const std::uint8_t*>(selection_.data());
  }

  /// Sets the row count; rows added by growing start live.
  void resize(std::size_t rows);
  /// Drops every row (capacity stays).
  void clear() { size_ = 0; }
  /// Counts live rows.
  std::size_t live_count() const;
  EventBatchView view();

  /// Index of the source that produced these rows.
  std::uint32_t source_index = 0;
  /// Processing time the batch was decoded at (ns since epoch); what now() returns.
  std::int64_t processing_time_ns = 0;

 private:
  std::vector<Column> columns_;
  Buffer selection_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace ldh
