#include "pipeline/transform.h"

#include <gtest/gtest.h>

#include <cmath>

#include "operator_fixture.h"

namespace ldh {
namespace {

using testing::FixtureRow;
using testing::kNaN;
using testing::OperatorFixture;

std::string transform_stage(const std::string& operations) {
  return "    - name: enrich\n      type: transform\n      config:\n        operations:\n" +
         operations;
}

std::vector<std::string> output_names(const Plan& plan) {
  std::vector<std::string> names;
  for (const auto& field : plan.output_fields()) names.push_back(field.name);
  return names;
}

TEST(Transform, AddFieldConstantsAndNow) {
  OperatorFixture fixture(
      transform_stage("          - {type: add-field, field: site, value: plant-7}\n"
                      "          - {type: add-field, field: weight, value: 2.5}\n"
                      "          - {type: add-field, field: ok, value: true}\n"
                      "          - {type: add-field, field: seen, value: \"now()\"}\n"),
      {{.t = 1}, {.t = 2}});
  fixture.apply();
  EXPECT_EQ(output_names(fixture.plan()),
            (std::vector<std::string>{"t", "n", "s", "b", "when", "site", "weight", "ok", "seen"}));
  EventBatch& batch = fixture.batch();
  for (std::size_t row = 0; row < 2; ++row) {
    EXPECT_EQ(fixture.strings().lookup(
                  batch.column(fixture.field("site").slot).data<std::int32_t>()[row]),
              "plant-7");
    EXPECT_EQ(batch.column(fixture.field("weight").slot).data<double>()[row], 2.5);
    EXPECT_EQ(batch.column(fixture.field("ok").slot).data<std::uint8_t>()[row], 1);
    EXPECT_EQ(batch.column(fixture.field("seen").slot).data<std::int64_t>()[row],
              batch.processing_time_ns);
  }
  EXPECT_EQ(fixture.field("seen").type, DataType::timestamp);
}

TEST(Transform, AddFieldOnAnExistingFieldFillsOnlyNulls) {
  OperatorFixture fixture(transform_stage("          - {type: add-field, field: n, value: 7}\n"),
                          {{.n = 3}, {.n = std::nullopt}});
  fixture.apply();
  const Column& n = fixture.batch().column(fixture.field("n").slot);
  EXPECT_EQ(n.data<std::int32_t>()[0], 3);
  EXPECT_EQ(n.data<std::int32_t>()[1], 7);
  EXPECT_EQ(n.validity()[1], 1);
}

TEST(Transform, CalculateConvertsOrNullsWhatDoesNotFit) {
  OperatorFixture fixture(
      transform_stage(
          "          - {type: calculate, field: doubled, formula: \"t * 2\"}\n"
          "          - {type: calculate, field: whole, formula: \"t * 2\", as: int32}\n"),
      {{.t = 1.75}, {.t = kNaN}, {.t = 2e9}, {.t = -3.5}});
  fixture.apply();
  EventBatch& batch = fixture.batch();
  const Column& doubled = batch.column(fixture.field("doubled").slot);
  EXPECT_EQ(doubled.data<double>()[0], 3.5);
  EXPECT_TRUE(std::isnan(doubled.data<double>()[1]));
  EXPECT_FALSE(doubled.nullable());
  const Column& whole = batch.column(fixture.field("whole").slot);
  ASSERT_TRUE(whole.nullable());
  EXPECT_EQ(whole.data<std::int32_t>()[0], 3);
  EXPECT_EQ(whole.validity()[0], 1);
  EXPECT_EQ(whole.validity()[1], 0);  // NaN
  EXPECT_EQ(whole.validity()[2], 0);  // 4e9 does not fit int32
  EXPECT_EQ(whole.data<std::int32_t>()[3], -7);
}

TEST(Transform, CalculateOnAnExistingFieldKeepsItsPlace) {
  OperatorFixture fixture(
      transform_stage("          - {type: calculate, field: t, formula: \"t + 1\"}\n"), {{.t = 1}});
  fixture.apply();
  EXPECT_EQ(output_names(fixture.plan()), (std::vector<std::string>{"t", "n", "s", "b", "when"}));
  EXPECT_EQ(fixture.batch().column(fixture.field("t").slot).data<double>()[0], 2.0);
}

TEST(Transform, NullInputsGiveNullResults) {
  OperatorFixture fixture(
      transform_stage("          - {type: calculate, field: m, formula: \"n + t\"}\n"),
      {{.t = 1, .n = 2}, {.t = 1, .n = std::nullopt}});
  fixture.apply();
  const Column& m = fixture.batch().column(fixture.field("m").slot);
  ASSERT_TRUE(m.nullable());
  EXPECT_EQ(m.data<double>()[0], 3.0);
  EXPECT_EQ(m.validity()[0], 1);
  EXPECT_EQ(m.validity()[1], 0);
}

TEST(Transform, RenameAndDropOnlyChangeNames) {
  OperatorFixture fixture(transform_stage("          - {type: rename, field: t, to: temperature}\n"
                                          "          - {type: drop, field: b}\n"),
                          {{.t = 4}});
  fixture.apply();
  EXPECT_EQ(output_names(fixture.plan()),
            (std::vector<std::string>{"temperature", "n", "s", "when"}));
  EXPECT_EQ(fixture.batch().column(fixture.field("temperature").slot).data<double>()[0], 4.0);
}

TEST(Transform, CastsBetweenTypes) {
  OperatorFixture fixture(
      transform_stage("          - {type: cast, field: t, to: int64}\n"
                      "          - {type: cast, field: b, to: string}\n"
                      "          - {type: cast, field: s, to: float64}\n"),
      {{.t = -2.9, .s = "12.5", .b = true}, {.t = 1e300, .s = "x", .b = false}});
  fixture.apply();
  EventBatch& batch = fixture.batch();
  const Column& t = batch.column(fixture.field("t").slot);
  EXPECT_EQ(t.data<std::int64_t>()[0], -2);
  EXPECT_EQ(t.validity()[1], 0);
  const Column& b = batch.column(fixture.field("b").slot);
  EXPECT_EQ(fixture.strings().lookup(b.data<std::int32_t>()[0]), "true");
  EXPECT_EQ(fixture.strings().lookup(b.data<std::int32_t>()[1]), "false");
  const Column& s = batch.column(fixture.field("s").slot);
  EXPECT_EQ(s.data<double>()[0], 12.5);
  EXPECT_EQ(s.validity()[1], 0);
}

TEST(Transform, StoreNumberRejectsWhatDoesNotFit) {
  std::int64_t big = 0;
  EXPECT_FALSE(store_number(9.3e18, DataType::int64, &big, 0));
  EXPECT_TRUE(store_number(-9.2e18, DataType::int64, &big, 0));
  EXPECT_EQ(big, -9200000000000000000);
  float narrow = 0;
  EXPECT_TRUE(store_number(0.1, DataType::float32, &narrow, 0));
  EXPECT_EQ(narrow, 0.1f);
  std::int64_t nanoseconds = 0;
  EXPECT_TRUE(store_number(1.5, DataType::timestamp, &nanoseconds, 0));
  EXPECT_EQ(nanoseconds, 1'500'000);
}

}  // namespace
}  // namespace ldh
