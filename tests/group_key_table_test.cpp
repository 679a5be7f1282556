#include "pipeline/group_key_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <utility>
#include <vector>

namespace ldh {
namespace {

std::uint32_t intern(GroupKeyTable& table, std::uint64_t a, std::uint64_t b, std::uint32_t nulls) {
  const std::uint64_t words[2] = {a, b};
  return table.intern(words, nulls, GroupKeyTable::hash(words, 2, nulls));
}

TEST(GroupKeyTable, EqualKeysShareAnIdAndNullsDistinguishKeys) {
  GroupKeyTable table(2);
  const std::uint32_t first = intern(table, 1, 2, 0);
  EXPECT_EQ(intern(table, 1, 2, 0), first);
  EXPECT_NE(intern(table, 1, 0, 2), first);
  EXPECT_NE(intern(table, 1, 0, 0), intern(table, 1, 0, 2));
  const GroupKey key = table.key(first);
  EXPECT_EQ(key.words[0], 1u);
  EXPECT_EQ(key.words[1], 2u);
  EXPECT_EQ(key.nulls, 0u);
}

TEST(GroupKeyTable, KeysLeaveWithTheirLastReferenceAndIdsAreReused) {
  GroupKeyTable table(2);
  const std::uint32_t id = intern(table, 7, 7, 0);
  table.retain(id);
  table.retain(id);
  table.release(id);
  EXPECT_EQ(table.size(), 1u);
  table.release(id);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(intern(table, 8, 8, 0), id);
  EXPECT_THROW(
      {
        table.retain(id);
        table.release(id);
        table.release(id);
      },
      LogicError);
}

TEST(GroupKeyTable, MatchesAMapUnderRandomInsertsAndReleases) {
  // Few distinct keys and many releases: long probe runs that erasing must keep intact.
  GroupKeyTable table(2);
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::pair<std::uint32_t, int>> expected;
  std::mt19937_64 random(5);
  for (int step = 0; step < 200'000; ++step) {
    const std::pair<std::uint64_t, std::uint64_t> words{random() % 3000, random() % 2};
    auto found = expected.find(words);
    if (found == expected.end() || random() % 2 == 0) {
      const std::uint32_t id = intern(table, words.first, words.second, 0);
      if (found != expected.end()) {
        ASSERT_EQ(id, found->second.first);
      } else {
        found = expected.emplace(words, std::pair{id, 0}).first;
      }
      table.retain(id);
      ++found->second.second;
    } else {
      table.release(found->second.first);
      if (--found->second.second == 0) expected.erase(found);
    }
    ASSERT_EQ(table.size(), expected.size());
  }
  for (const auto& [words, entry] : expected) {
    EXPECT_EQ(intern(table, words.first, words.second, 0), entry.first);
    const GroupKey key = table.key(entry.first);
    EXPECT_EQ(key.words[0], words.first);
    EXPECT_EQ(key.words[1], words.second);
  }
}

TEST(GroupKeyTable, KeysOfNoFieldsAreOneKey) {
  GroupKeyTable table(0);
  const std::uint32_t id = table.intern(nullptr, 0, GroupKeyTable::hash(nullptr, 0, 0));
  EXPECT_EQ(table.intern(nullptr, 0, GroupKeyTable::hash(nullptr, 0, 0)), id);
  EXPECT_EQ(table.size(), 1u);
}

}  // namespace
}  // namespace ldh
