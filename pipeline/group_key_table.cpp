#include "pipeline/group_key_table.h"

namespace ldh {

namespace {

constexpr std::size_t kInitialSlots = 64;

}  // namespace

GroupKeyTable::GroupKeyTable(std::size_t width)
    : width_(width), stride_(width + 1), slots_(kInitialSlots), mask_(kInitialSlots - 1) {
  LDH_EXPECTS(width <= kMaxGroupFields, "too many group-by fields");
}

std::uint32_t GroupKeyTable::find_or_add(const std::uint64_t* words, std::uint32_t nulls,
                                         std::uint64_t hash) {
  const std::uint32_t tag = static_cast<std::uint32_t>(hash >> 32);
  for (std::size_t slot = hash & mask_;; slot = (slot + 1) & mask_) {
    const Slot& entry = slots_[slot];
    if (entry.id_plus_one == 0) break;
    if (entry.tag == tag && matches(entry.id_plus_one - 1, words, nulls)) {
      return entry.id_plus_one - 1;
    }
  }
  if (2 * (size_ + 1) > slots_.size()) grow();
  std::uint32_t id = 0;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<std::uint32_t>(hashes_.size());
    entries_.resize(entries_.size() + stride_);
    hashes_.push_back(0);
  }
  std::uint64_t* entry = entries_.data() + id * stride_;
  entry[0] = static_cast<std::uint64_t>(nulls) << 32;
  std::copy(words, words + width_, entry + 1);
  hashes_[id] = hash;
  std::size_t slot = hash & mask_;
  while (slots_[slot].id_plus_one != 0) slot = (slot + 1) & mask_;
  slots_[slot] = {id + 1, tag};
  ++size_;
  return id;
}

void GroupKeyTable::erase(std::uint32_t id) {
  std::size_t hole = hashes_[id] & mask_;
  while (slots_[hole].id_plus_one != id + 1) hole = (hole + 1) & mask_;
  // Backward-shift deletion: move later entries of the probe run into the hole when their home
  // slot does not lie (cyclically) between the hole and where they sit.
  for (std::size_t next = (hole + 1) & mask_; slots_[next].id_plus_one != 0;
       next = (next + 1) & mask_) {
    const std::size_t home = hashes_[slots_[next].id_plus_one - 1] & mask_;
    if (((next - home) & mask_) >= ((next - hole) & mask_)) {
      slots_[hole] = slots_[next];
      hole = next;
    }
  }
  slots_[hole] = Slot{};
  free_ids_.push_back(id);
  --size_;
}

void GroupKeyTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  mask_ = slots_.size() - 1;
  for (const Slot& entry : old) {
    if (entry.id_plus_one == 0) continue;
    std::size_t slot = hashes_[entry.id_plus_one - 1] & mask_;
    while (slots_[slot].id_plus_one != 0) slot = (slot + 1) & mask_;
    slots_[slot] = entry;
  }
}

GroupKey GroupKeyTable::key(std::uint32_t id) const {
  const std::uint64_t* entry = entries_.data() + id * stride_;
  GroupKey key;
  std::copy(entry + 1, entry + 1 + width_, key.words.begin());
  key.nulls = static_cast<std::uint32_t>(entry[0] >> 32);
  return key;
}

std::size_t GroupKeyTable::memory_bytes() const {
  return slots_.capacity() * sizeof(Slot) + entries_.capacity() * sizeof(std::uint64_t) +
         hashes_.capacity() * sizeof(std::uint64_t) + free_ids_.capacity() * sizeof(std::uint32_t);
}

}  // namespace ldh
