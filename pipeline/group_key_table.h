#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pipeline/error.h"
#include "pipeline/group_key.h"

namespace ldh {

/// Interns the group keys of one group-by field list as small dense ids, so window state can be
/// found by indexing arrays with the id instead of hashing a 72-byte key per pane. Keys are
/// reference-counted by the states that use them and leave with their last reference, so the
/// table holds only live keys and their ids are reused. Open addressing with linear probing on a
/// power-of-two slot array at most half full; a slot keeps 32 bits of the hash next to the id,
/// so a probe rarely reads a stored key. Only the fields in use are stored and hashed.
class GroupKeyTable {
 public:
  /// Makes a table for keys of `width` (<= kMaxGroupFields) fields.
  explicit GroupKeyTable(std::size_t width);

  std::size_t width() const { return width_; }

  /// Returns the hash of a key of `width` fields: its words (0 for a null field) and null mask.
  /// Depends on nothing else, so workers can hash rows before the table sees them.
  static std::uint64_t hash(const std::uint64_t* words, std::size_t width, std::uint32_t nulls) {
    std::uint64_t hash = 0x9E3779B97F4A7C15ULL ^ nulls;
    for (std::size_t i = 0; i < width; ++i) hash = mix(hash ^ words[i]) + i;
    return mix(hash);
  }

  /// Returns the id of the key with that hash, adding it (unreferenced) when new. Inline for a
  /// key found in its home slot, as most are in a table at most half full.
  std::uint32_t intern(const std::uint64_t* words, std::uint32_t nulls, std::uint64_t hash) {
    const Slot& home = slots_[hash & mask_];
    if (home.id_plus_one != 0 && home.tag == static_cast<std::uint32_t>(hash >> 32) &&
        matches(home.id_plus_one - 1, words, nulls)) {
      return home.id_plus_one - 1;
    }
    return find_or_add(words, nulls, hash);
  }

  /// Asks the cache for the slot where a lookup of `hash` starts (a lookup soon after is faster).
  void fetch(std::uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }

  /// Counts one more state that uses the key.
  void retain(std::uint32_t id) { ++entries_[id * stride_]; }
  /// Counts one state fewer; the key leaves the table with its last reference.
  void release(std::uint32_t id) {
    std::uint64_t& header = entries_[id * stride_];
    LDH_EXPECTS((header & kReferenceMask) != 0, "a group key released more often than retained");
    if ((--header & kReferenceMask) == 0) erase(id);
  }

  /// Returns the key of a live id.
  GroupKey key(std::uint32_t id) const;

  /// Returns a bound on ids: every live id is below it.
  std::size_t id_limit() const { return hashes_.size(); }
  /// Counts live keys.
  std::size_t size() const { return size_; }
  /// Returns the bytes the table holds.
  std::size_t memory_bytes() const;

 private:
  /// Mixes all bits of `x` into all bits of the result (MurmurHash3's finaliser).
  static std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
  }

  struct Slot {
    std::uint32_t id_plus_one = 0;  // 0: empty
    std::uint32_t tag = 0;          // the hash's high half
  };

  bool matches(std::uint32_t id, const std::uint64_t* words, std::uint32_t nulls) const {
    const std::uint64_t* entry = entries_.data() + id * stride_;
    if ((entry[0] >> 32) != nulls) return false;
    for (std::size_t i = 0; i < width_; ++i) {
      if (entry[1 + i] != words[i]) return false;
    }
    return true;
  }
  /// intern() past the home slot.
  std::uint32_t find_or_add(const std::uint64_t* words, std::uint32_t nulls, std::uint64_t hash);
  void erase(std::uint32_t id);
  void grow();

  static constexpr std::uint64_t kReferenceMask = 0xffffffffULL;

  std::size_t width_;
  std::size_t stride_;  // words per entry: the header, then the key's words
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  // Per id, together so a lookup reads one place: a header (the null mask in the high half,
  // the references in the low) and the key's words. The hashes are only read to move keys.
  std::vector<std::uint64_t> entries_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::uint32_t> free_ids_;
};

}  // namespace ldh
