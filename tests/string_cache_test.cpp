// The decoders' cache of recently seen strings: a hit is always the id last stored for exactly
// those bytes (never a neighbour's, whatever the length or zero bytes), and a string just stored
// is found.

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "ingest/string_cache.h"

namespace ldh {
namespace {

TEST(StringCache, HitsAreExactAndAFreshEntryIsFound) {
  StringCache cache;
  std::map<std::string, std::int32_t> stored;
  std::mt19937_64 random(17);
  // Few distinct bytes, so keys share prefixes and differ only in length, a zero byte or one
  // word; every other key has a fixed first word, so keys of one slot differ past it.
  const std::string alphabet("ab\0\xff", 4);
  std::int32_t next_id = 0;
  for (int round = 0; round < 400'000; ++round) {
    const bool shared_prefix = random() % 2 == 0;
    const std::size_t size =
        shared_prefix ? 9 + random() % 8 : random() % (StringCache::kMaxBytes + 6);
    std::string key;
    for (std::size_t i = 0; i < size; ++i) {
      key += shared_prefix && i < 8 ? 'p' : alphabet[random() % alphabet.size()];
    }
    const std::int32_t found = cache.find(key.data(), key.size());
    if (found >= 0) {
      ASSERT_TRUE(stored.count(key)) << "a hit for bytes never stored, size " << size;
      ASSERT_EQ(found, stored[key]) << "size " << size;
    }
    if (random() % 2 == 0) {
      const std::int32_t id = next_id++;
      cache.insert(key.data(), key.size(), id);
      stored[key] = id;
      const std::int32_t expected = size <= StringCache::kMaxBytes ? id : -1;
      ASSERT_EQ(cache.find(key.data(), key.size()), expected) << "size " << size;
    }
  }
}

TEST(StringCache, ALengthOrATrailingZeroMakesADifferentKey) {
  StringCache cache;
  cache.insert("a", 1, 1);
  EXPECT_EQ(cache.find("a", 1), 1);
  EXPECT_EQ(cache.find("a\0", 2), -1);
  EXPECT_EQ(cache.find("", 0), -1);
  cache.insert("", 0, 2);
  EXPECT_EQ(cache.find("", 0), 2);
  const std::string sixteen(16, 'x');
  const std::string seventeen(17, 'x');
  cache.insert(sixteen.data(), 16, 3);
  EXPECT_EQ(cache.find(seventeen.data(), 17), -1);
  EXPECT_EQ(cache.find(sixteen.data(), 16), 3);
}

}  // namespace
}  // namespace ldh
