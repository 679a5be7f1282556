#include "pipeline/batch.h"

#include <cstring>

#include "pipeline/error.h"

namespace ldh {

Column::Column(SlotSpec spec, std::size_t capacity, HostMemoryResource& memory)
    : spec_(spec), values_(capacity * storage_width(spec.type), memory) {
  if (spec.nullable) validity_ = Buffer(capacity, memory);
}

EventBatchDeviceView EventBatchView::device_view() const {
  LDH_EXPECTS(columns.size() <= kMaxSlots, "too many column slots for a device view");
  EventBatchDeviceView device{};
  for (std::size_t i = 0; i < columns.size(); ++i) device.columns[i] = columns[i];
  device.selection = selection;
  device.slot_count = static_cast<std::uint32_t>(columns.size());
  device.size = static_cast<std::uint32_t>(size);
  return device;
}

EventBatch::EventBatch(const std::vector<SlotSpec>& slots, std::size_t capacity,
                       HostMemoryResource& memory)
    : selection_(capacity, memory), capacity_(capacity) {
  LDH_EXPECTS(capacity > 0, "batch capacity must be positive");
  LDH_EXPECTS(slots.size() <= kMaxSlots, "too many column slots");
  columns_.reserve(slots.size());
  for (const auto& slot : slots) columns_.emplace_back(slot, capacity, memory);
}

void EventBatch::resize(std::size_t rows) {
  LDH_EXPECTS(rows <= capacity_, "batch resized past its capacity");
  if (rows > size_) std::memset(selection() + size_, 1, rows - size_);
  size_ = rows;
}

std::size_t EventBatch::live_count() const {
  std::size_t live = 0;
  const std::uint8_t* keep = selection();
  for (std::size_t row = 0; row < size_; ++row) live += keep[row] == kLive;
  return live;
}

EventBatchView EventBatch::view() {
  EventBatchView view;
  view.columns.reserve(columns_.size());
  for (auto& column : columns_) view.columns.push_back(column.view());
  view.selection = selection();
  view.size = size_;
  return view;
}

}  // namespace ldh
