#include "pipeline/filter.h"

#include <gtest/gtest.h>

#include "operator_fixture.h"

namespace ldh {
namespace {

using testing::FixtureRow;
using testing::kNaN;
using testing::OperatorFixture;

constexpr int L = kLive;
constexpr int R = kRejectedBase;  // rejected by the first filter stage

std::string filter_stage(const std::string& rules, const std::string& extra = "") {
  return "    - name: check\n      type: filter\n      config:\n" + extra + "        rules:\n" +
         rules;
}

TEST(Filter, RangeIsInclusiveAndRejectsNaNAndMarksTheStage) {
  OperatorFixture fixture(
      filter_stage("          - {field: t, operator: range, value: [-50, 150]}\n"),
      {{.t = -50}, {.t = 150}, {.t = 150.0000001}, {.t = kNaN}, {.t = 20}, {.t = -1e300}});
  fixture.apply();
  EXPECT_EQ(fixture.selection(), (std::vector<int>{L, L, R, R, L, R}));
  const Operator& filter = *fixture.plan().operators()[0];
  EXPECT_EQ(filter.counters().rows_in.load(), 6u);
  EXPECT_EQ(filter.counters().rows_rejected.load(), 3u);
}

TEST(Filter, NaNFailsEveryComparison) {
  std::vector<FixtureRow> rows = {{.t = 1}, {.t = 2}, {.t = 3}, {.t = kNaN}};
  auto codes = [&](const std::string& op) {
    OperatorFixture fixture(
        filter_stage("          - {field: t, operator: " + op + ", value: 2}\n"), rows);
    fixture.apply();
    return fixture.selection();
  };
  EXPECT_EQ(codes("eq"), (std::vector<int>{R, L, R, R}));
  EXPECT_EQ(codes("ne"), (std::vector<int>{L, R, L, R}));
  EXPECT_EQ(codes("gt"), (std::vector<int>{R, R, L, R}));
  EXPECT_EQ(codes("ge"), (std::vector<int>{R, L, L, R}));
  EXPECT_EQ(codes("lt"), (std::vector<int>{L, R, R, R}));
  EXPECT_EQ(codes("le"), (std::vector<int>{L, L, R, R}));
}

TEST(Filter, NaNIsInNoSetShortOrLong) {
  std::vector<FixtureRow> rows = {{.t = 2}, {.t = kNaN}, {.t = 11}};
  auto codes = [&](const std::string& op, const std::string& set) {
    OperatorFixture fixture(
        filter_stage("          - {field: t, operator: " + op + ", value: " + set + "}\n"), rows);
    fixture.apply();
    return fixture.selection();
  };
  // A short set is scanned and a long one searched: NaN is in neither, nor passes not_in.
  EXPECT_EQ(codes("in", "[1, 2, 3]"), (std::vector<int>{L, R, R}));
  EXPECT_EQ(codes("in", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"), (std::vector<int>{L, R, R}));
  EXPECT_EQ(codes("not_in", "[1, 2, 3]"), (std::vector<int>{R, R, L}));
  EXPECT_EQ(codes("not_in", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"), (std::vector<int>{R, R, L}));
}

TEST(Filter, NullFailsEveryRuleButExistsTestsPresence) {
  std::vector<FixtureRow> rows = {{.n = 5}, {.n = std::nullopt}, {.n = -3}};
  OperatorFixture greater(filter_stage("          - {field: n, operator: gt, value: 0}\n"), rows);
  greater.apply();
  EXPECT_EQ(greater.selection(), (std::vector<int>{L, R, R}));
  OperatorFixture different(filter_stage("          - {field: n, operator: ne, value: 0}\n"), rows);
  different.apply();
  EXPECT_EQ(different.selection(), (std::vector<int>{L, R, L}));
  OperatorFixture exists(filter_stage("          - {field: n, operator: exists}\n"), rows);
  exists.apply();
  EXPECT_EQ(exists.selection(), (std::vector<int>{L, R, L}));
}

TEST(Filter, StringSetsCompareText) {
  std::vector<FixtureRow> rows = {{.s = "roof"}, {.s = "lab-1"}, {.s = "yard"}, {.s = ""}};
  OperatorFixture in(
      filter_stage("          - {field: s, operator: in, value: [yard, roof, never-seen]}\n"),
      rows);
  in.apply();
  EXPECT_EQ(in.selection(), (std::vector<int>{L, R, L, R}));
  OperatorFixture not_in(filter_stage("          - {field: s, operator: not_in, value: [yard]}\n"),
                         rows);
  not_in.apply();
  EXPECT_EQ(not_in.selection(), (std::vector<int>{L, L, R, L}));
  OperatorFixture eq(filter_stage("          - {field: s, operator: eq, value: \"\"}\n"), rows);
  eq.apply();
  EXPECT_EQ(eq.selection(), (std::vector<int>{R, R, R, L}));
}

TEST(Filter, LargeNumberSetsUseTheSortedPath) {
  std::vector<FixtureRow> rows;
  for (int i = 0; i < 40; ++i) rows.push_back({.t = static_cast<double>(i)});
  OperatorFixture fixture(
      filter_stage(
          "          - {field: t, operator: in, value: [39, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]}\n"),
      rows);
  fixture.apply();
  auto codes = fixture.selection();
  for (int i = 0; i < 40; ++i) {
    bool expected = (i % 2 == 1 && i <= 19) || i == 39;
    EXPECT_EQ(codes[i], expected ? L : R) << i;
  }
}

TEST(Filter, AnyKeepsRowsPassingOneRule) {
  std::vector<FixtureRow> rows = {
      {.t = 1, .b = false}, {.t = 100, .b = false}, {.t = 1, .b = true}};
  OperatorFixture fixture(filter_stage("          - {field: t, operator: gt, value: 50}\n"
                                       "          - {field: b, operator: eq, value: true}\n",
                                       "        combine: any\n"),
                          rows);
  fixture.apply();
  EXPECT_EQ(fixture.selection(), (std::vector<int>{R, L, L}));
}

TEST(Filter, ConditionRulesUseExpressions) {
  std::vector<FixtureRow> rows = {
      {.t = 101, .s = "roof"}, {.t = 99, .s = "roof"}, {.t = 120, .s = "yard"}};
  OperatorFixture fixture(filter_stage("          - {condition: \"t > 100 && s == 'roof'\"}\n"),
                          rows);
  fixture.apply();
  EXPECT_EQ(fixture.selection(), (std::vector<int>{L, R, R}));
}

TEST(Filter, TimestampRulesAndConditionsAgreeToTheNanosecond) {
  // 1795000835351.532923 ms reads as the double nearest it, as the literal does; the rule used
  // to read ns / 1e6, which rounds differently and rejected the event.
  const char* schema_rule = "          - {field: when, operator: ge, value: 1795000835351.533}\n";
  const char* condition = "          - {condition: \"when >= 1795000835351.533\"}\n";
  for (const char* rule : {schema_rule, condition}) {
    OperatorFixture fixture(filter_stage(rule), {{.when_ms = 0}});
    fixture.batch().column(fixture.plan().input_slots()[4]).data<std::int64_t>()[0] =
        1'795'000'835'351'532'923;
    fixture.apply();
    EXPECT_EQ(fixture.selection(), (std::vector<int>{L})) << rule;
  }
}

TEST(Filter, TimestampsCompareWithIsoText) {
  std::vector<FixtureRow> rows = {{.when_ms = 1'795'000'000'000}, {.when_ms = 1'795'000'000'001}};
  OperatorFixture fixture(
      filter_stage("          - {field: when, operator: le, value: \"2026-11-18T11:06:40Z\"}\n"),
      rows);
  fixture.apply();
  EXPECT_EQ(fixture.selection(), (std::vector<int>{L, R}));
}

TEST(Filter, RowsRejectedEarlierKeepTheirStage) {
  std::vector<FixtureRow> rows = {{.t = 1}, {.t = 200}, {.t = 50}};
  OperatorFixture fixture(
      filter_stage("          - {field: t, operator: lt, value: 100}\n") +
          "    - name: second\n      type: filter\n      config:\n        rules:\n"
          "          - {field: t, operator: gt, value: 10}\n",
      rows);
  fixture.apply();
  EXPECT_EQ(fixture.selection(), (std::vector<int>{R + 1, R, L}));
  EXPECT_EQ(fixture.plan().operators()[1]->counters().rows_in.load(), 2u);
}

TEST(Filter, ConfigErrorsNameTheRule) {
  auto error_of = [](const std::string& rules) {
    try {
      OperatorFixture fixture(filter_stage(rules), {});
    } catch (const ConfigError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      error_of("          - {field: s, operator: range, value: [1, 2]}\n").find("fixture.yaml:"),
      std::string::npos);
  EXPECT_NE(error_of("          - {condition: \"t + 1\"}\n").find("must be true or false"),
            std::string::npos);
  std::string unknown = error_of("          - {condition: \"tt > 1\"}\n");
  EXPECT_NE(unknown.find("fixture.yaml:"), std::string::npos) << unknown;
}

}  // namespace
}  // namespace ldh
