#include "pipeline/group_key_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/operator.h"
#include "pipeline/string_dictionary.h"

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

// Where the prefixes of two keys differ, they order the keys as compare_keys does: integers
// (negative, near the ends of the range), strings (sharing prefixes, shorter than 7 bytes,
// bytes above 0x7f), booleans, doubles, and nulls, as the first of two fields.
TEST(KeyOrderPrefix, AgreesWithCompareKeysWhereverItDiffers) {
  StringDictionary strings;
  const char* texts[] = {"",           "a",       "ab",
                         "abc",        "abcdefg", "abcdefgh",
                         "abcdefgz",   "b",       "\xc3\xa9t\xc3\xa9",
                         "zzzzzzzzzz", "A",       "ab\x7f",
                         "ab\x80"};
  std::vector<std::uint64_t> string_words;
  for (const char* text : texts) {
    string_words.push_back(static_cast<std::uint64_t>(strings.intern(text)));
  }
  std::mt19937_64 random(3);
  for (const DataType type : {DataType::int64, DataType::int32, DataType::timestamp,
                              DataType::boolean, DataType::string, DataType::float64}) {
    std::vector<PlanField> fields(2);
    fields[0].type = type;
    fields[1].type = DataType::int64;
    const auto word = [&]() -> std::uint64_t {
      switch (type) {
        case DataType::string:
          return string_words[random() % string_words.size()];
        case DataType::boolean:
          return random() % 2;
        case DataType::float64: {
          const double x = static_cast<double>(static_cast<int>(random() % 9) - 4) / 3;
          std::uint64_t bits;
          std::memcpy(&bits, &x, sizeof bits);
          return bits;
        }
        default: {
          const std::uint64_t picks[] = {0,
                                         1,
                                         ~std::uint64_t{0},
                                         0x8000000000000000ULL,
                                         0x7fffffffffffffffULL,
                                         2,
                                         ~std::uint64_t{1}};
          return random() % 2 == 0 ? picks[random() % std::size(picks)] : random() % 7 - 3;
        }
      }
    };
    for (int trial = 0; trial < 20'000; ++trial) {
      GroupKey a;
      GroupKey b;
      a.words[0] = word();
      b.words[0] = word();
      a.words[1] = random() % 3;
      b.words[1] = random() % 3;
      a.nulls = random() % 5 == 0 ? 1 : 0;
      b.nulls = random() % 5 == 0 ? 1 : 0;
      const std::uint64_t pa = key_order_prefix(a, fields, strings);
      const std::uint64_t pb = key_order_prefix(b, fields, strings);
      if (pa == pb) continue;
      ASSERT_EQ(pa < pb, compare_keys(a, b, fields, strings) < 0)
          << "type " << static_cast<int>(type) << " trial " << trial;
    }
  }
}

}  // namespace
}  // namespace ldh
