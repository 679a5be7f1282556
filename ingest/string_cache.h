#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "pipeline/string_dictionary.h"

namespace ldh {

/// Remembers the dictionary ids of recently seen byte strings, so a decoder resolves the few
/// distinct values of a feed (sensor locations, kinds) without locking the shared dictionary or
/// re-validating UTF-8. Direct-mapped; only strings of up to kMaxBytes bytes are kept. Keys are
/// the raw input bytes (for binary records the whole zero-padded slot), so a hit also proves the
/// bytes were validated when they were first seen.
class StringCache {
 public:
  static constexpr std::size_t kMaxBytes = 32;

  StringCache() { clear(); }

  /// Forgets every entry when `dictionary` is not the one the cached ids came from.
  void use(StringDictionary* dictionary) {
    if (dictionary != dictionary_) {
      clear();
      dictionary_ = dictionary;
    }
  }

  /// Returns the cached id of the `size` bytes at `bytes`, or -1.
  std::int32_t find(const char* bytes, std::size_t size) const {
    if (size <= 16) {
      // Most keys (sensor names, kinds, short slots) fit two words: the same key and slot as
      // make_key and slot_of give, without the four-word key.
      const std::uint64_t low = load_partial(bytes, std::min<std::size_t>(size, 8));
      const std::uint64_t high = size > 8 ? load_partial(bytes + 8, size - 8) : 0;
      const Entry& entry = entries_[slot_of_words(low, high, 0, 0, size)];
      // An entry of the same size has zero words past the second.
      if (entry.size == size && entry.words[0] == low && entry.words[1] == high) return entry.id;
      return -1;
    }
    if (size > kMaxBytes) return -1;
    Key key = make_key(bytes, size);
    const Entry& entry = entries_[slot_of(key)];
    if (entry.size == size && entry.words == key.words) return entry.id;
    return -1;
  }

  /// Remembers that the `size` bytes at `bytes` map to `id` (ignored for long strings).
  void insert(const char* bytes, std::size_t size, std::int32_t id) {
    if (size > kMaxBytes) return;
    Key key = make_key(bytes, size);
    Entry& entry = entries_[slot_of(key)];
    entry.words = key.words;
    entry.size = static_cast<std::uint32_t>(size);
    entry.id = id;
  }

 private:
  static constexpr std::size_t kEntryBits = 10;
  static constexpr std::uint32_t kEmpty = 0xffffffffu;

  struct Key {
    std::array<std::uint64_t, 4> words;
    std::size_t size;
  };
  struct Entry {
    std::array<std::uint64_t, 4> words;
    std::uint32_t size;
    std::int32_t id;
  };

  /// Loads 0 to 8 bytes little-endian into a word, zero-filled, without reading past the end.
  static std::uint64_t load_partial(const char* bytes, std::size_t size) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes);
    if (size >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      return word;
    }
    if (size >= 4) {
      std::uint32_t low;
      std::uint32_t high;
      std::memcpy(&low, p, 4);
      std::memcpy(&high, p + size - 4, 4);
      return static_cast<std::uint64_t>(low) |
             (static_cast<std::uint64_t>(high) << (8 * (size - 4)));
    }
    if (size == 0) return 0;
    return static_cast<std::uint64_t>(p[0]) |
           (static_cast<std::uint64_t>(p[size / 2]) << (8 * (size / 2))) |
           (static_cast<std::uint64_t>(p[size - 1]) << (8 * (size - 1)));
  }

  static Key make_key(const char* bytes, std::size_t size) {
    Key key{{0, 0, 0, 0}, size};
    for (std::size_t word = 0; word * 8 < size; ++word) {
      key.words[word] = load_partial(bytes + word * 8, size - word * 8);
    }
    return key;
  }

  static std::size_t slot_of_words(std::uint64_t word0, std::uint64_t word1, std::uint64_t word2,
                                   std::uint64_t word3, std::size_t size) {
    std::uint64_t hash = word0 * 0x9e3779b97f4a7c15ull;
    hash ^= word1 * 0xc2b2ae3d27d4eb4full;
    hash ^= (word2 + word3 * 0x165667b19e3779f9ull) * 0x27d4eb2f165667c5ull;
    hash ^= size * 0xff51afd7ed558ccdull;
    return static_cast<std::size_t>(hash >> (64 - kEntryBits));
  }

  static std::size_t slot_of(const Key& key) {
    return slot_of_words(key.words[0], key.words[1], key.words[2], key.words[3], key.size);
  }

  void clear() {
    for (auto& entry : entries_) entry = Entry{{0, 0, 0, 0}, kEmpty, -1};
  }

  StringDictionary* dictionary_ = nullptr;
  std::array<Entry, std::size_t{1} << kEntryBits> entries_;
};

}  // namespace ldh
