// Tests the expression language: parsing, types, every function and error, null propagation,
// strings through the dictionary, the weather formulas against NWS values, and the column
// evaluator against the per-row interpreter that CUDA kernels run, bit for bit.

#include "pipeline/expression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "pipeline/memory.h"

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

/// The fields every test can use, in slot order.
struct FieldSpec {
  const char* name;
  ldh::DataType type;
  bool nullable;
};

const std::vector<FieldSpec> kFields{
    {"temperature", ldh::DataType::float64, false},
    {"humidity", ldh::DataType::float64, false},
    {"pressure", ldh::DataType::float32, false},
    {"sensor_id", ldh::DataType::int32, false},
    {"count", ldh::DataType::int64, false},
    {"active", ldh::DataType::boolean, false},
    {"location", ldh::DataType::string, false},
    {"type", ldh::DataType::string, false},
    {"timestamp", ldh::DataType::timestamp, false},
    {"optional_value", ldh::DataType::float64, true},
    {"optional_flag", ldh::DataType::boolean, true},
    {"sensor.zone", ldh::DataType::int32, false},
};

enum Slot : std::size_t {
  kTemperature,
  kHumidity,
  kPressure,
  kSensorId,
  kCount,
  kActive,
  kLocation,
  kType,
  kTimestamp,
  kOptionalValue,
  kOptionalFlag,
  kZone,
};

std::uint64_t bits(double value) {
  return ldh::math::to_bits(value);
}

class ExpressionTest : public ::testing::Test {
 protected:
  ExpressionTest() {
    resolver_ = [](std::string_view name) -> std::optional<ldh::ExpressionField> {
      for (std::size_t slot = 0; slot < kFields.size(); ++slot) {
        if (name == kFields[slot].name) {
          return ldh::ExpressionField{static_cast<int>(slot), kFields[slot].type,
                                      kFields[slot].nullable};
        }
      }
      return std::nullopt;
    };
    make_batch(1);
    set_row(0, 30.0, 60.0, 1013.25f, 7, 42, true, "north", "outdoor", 1'700'000'000'123'456'789,
            2.5, true);
  }

  void make_batch(std::size_t rows) {
    std::vector<ldh::SlotSpec> slots;
    for (const auto& field : kFields) slots.push_back({field.type, field.nullable});
    batch_ = std::make_unique<ldh::EventBatch>(slots, rows, ldh::page_aligned_memory());
    batch_->resize(rows);
    for (std::size_t slot = 0; slot < kFields.size(); ++slot) {
      auto& column = batch_->column(slot);
      std::memset(column.data<std::uint8_t>(), 0, rows * ldh::storage_width(column.type()));
      if (column.nullable()) std::memset(column.validity(), 1, rows);
    }
  }

  void set_row(std::size_t row, double temperature, double humidity, float pressure,
               std::int32_t sensor_id, std::int64_t count, bool active, std::string_view location,
               std::string_view type, std::int64_t timestamp_ns, double optional_value,
               bool optional_flag) {
    batch_->column(kTemperature).data<double>()[row] = temperature;
    batch_->column(kHumidity).data<double>()[row] = humidity;
    batch_->column(kPressure).data<float>()[row] = pressure;
    batch_->column(kSensorId).data<std::int32_t>()[row] = sensor_id;
    batch_->column(kCount).data<std::int64_t>()[row] = count;
    batch_->column(kActive).data<std::uint8_t>()[row] = active ? 1 : 0;
    batch_->column(kLocation).data<std::int32_t>()[row] = strings_.intern(location);
    batch_->column(kType).data<std::int32_t>()[row] = strings_.intern(type);
    batch_->column(kTimestamp).data<std::int64_t>()[row] = timestamp_ns;
    batch_->column(kOptionalValue).data<double>()[row] = optional_value;
    batch_->column(kOptionalFlag).data<std::uint8_t>()[row] = optional_flag ? 1 : 0;
    batch_->column(kZone).data<std::int32_t>()[row] = sensor_id / 10;
  }

  ldh::CompiledExpression compile(std::string_view text) {
    return ldh::compile_expression(text, resolver_, strings_);
  }

  /// Evaluates over the whole batch.
  std::vector<double> run(std::string_view text, std::vector<std::uint8_t>* valid = nullptr,
                          double now_ms = 0.0) {
    const ldh::CompiledExpression expression = compile(text);
    std::vector<double> out(batch_->size());
    if (valid != nullptr) valid->assign(batch_->size(), 7);
    ldh::evaluate(expression, batch_->view(), now_ms, out.data(),
                  valid != nullptr ? valid->data() : nullptr);
    return out;
  }

  /// Evaluates over row 0 only.
  double value(std::string_view text, double now_ms = 0.0) { return run(text, nullptr, now_ms)[0]; }

  void expect_error(std::string_view text, std::size_t offset, const std::string& message) {
    try {
      compile(text);
      ADD_FAILURE() << "no error for \"" << text << "\"";
    } catch (const ldh::ExpressionError& error) {
      EXPECT_EQ(error.offset(), offset) << "for \"" << text << "\": " << error.what();
      EXPECT_NE(std::string(error.what()).find(message), std::string::npos)
          << "for \"" << text << "\": got \"" << error.what() << "\", expected \"" << message
          << "\"";
    }
  }

  ldh::FieldResolver resolver_;
  ldh::StringDictionary strings_;
  std::unique_ptr<ldh::EventBatch> batch_;
};

TEST_F(ExpressionTest, Literals) {
  EXPECT_EQ(value("1.5"), 1.5);
  EXPECT_EQ(value("1e3"), 1000.0);
  EXPECT_EQ(value("2.5E-1"), 0.25);
  EXPECT_EQ(value(".5"), 0.5);
  EXPECT_EQ(value("7."), 7.0);
  EXPECT_EQ(bits(value("-0.0")), bits(-0.0));
  EXPECT_EQ(value("true"), 1.0);
  EXPECT_EQ(value("false"), 0.0);
  EXPECT_EQ(value("'abc' == \"abc\""), 1.0);
  EXPECT_EQ(value("'it\\'s' == \"it's\""), 1.0);
  EXPECT_EQ(value("1e-310"), 1e-310);
}

TEST_F(ExpressionTest, ResultKinds) {
  EXPECT_EQ(compile("temperature + 1").result, ldh::ValueKind::number);
  EXPECT_EQ(compile("temperature > 1").result, ldh::ValueKind::boolean);
  EXPECT_EQ(compile("active").result, ldh::ValueKind::boolean);
  EXPECT_EQ(compile("location").result, ldh::ValueKind::string);
  EXPECT_EQ(compile("if(active, location, 'south')").result, ldh::ValueKind::string);
  EXPECT_EQ(compile("timestamp").result, ldh::ValueKind::number);
}

TEST_F(ExpressionTest, Precedence) {
  EXPECT_EQ(value("1 + 2 * 3"), 7.0);
  EXPECT_EQ(value("(1 + 2) * 3"), 9.0);
  EXPECT_EQ(value("10 - 4 - 3"), 3.0);
  EXPECT_EQ(value("64 / 4 / 2"), 8.0);
  EXPECT_EQ(value("2 * 7 % 4"), 2.0);
  EXPECT_EQ(value("-2 * 3"), -6.0);
  EXPECT_EQ(value("- -2"), 2.0);
  EXPECT_EQ(value("1 < 2 == true"), 1.0);
  EXPECT_EQ(value("true || false && false"), 1.0);
  EXPECT_EQ(value("(true || false) && false"), 0.0);
  EXPECT_EQ(value("not true or true"), 1.0);
  EXPECT_EQ(value("!(1 > 2)"), 1.0);
  EXPECT_EQ(value("1 + 2 > 2 and 3 <= 4"), 1.0);
  EXPECT_EQ(value("temperature * 2 + humidity / 4"), 75.0);
}

TEST_F(ExpressionTest, FieldsAreReadAsDoubles) {
  EXPECT_EQ(value("temperature"), 30.0);
  EXPECT_EQ(value("pressure"), static_cast<double>(1013.25f));
  EXPECT_EQ(value("sensor_id"), 7.0);
  EXPECT_EQ(value("count"), 42.0);
  EXPECT_EQ(value("active"), 1.0);
  EXPECT_EQ(value("location"), static_cast<double>(strings_.find("north")));
  EXPECT_EQ(value("sensor.zone"), 0.0);
  // Timestamps are milliseconds since the epoch.
  EXPECT_DOUBLE_EQ(value("timestamp"), 1'700'000'000'123.456789);
  EXPECT_EQ(value("timestamp > now() - 1000", 1'700'000'000'500.0), 1.0);
  EXPECT_EQ(value("timestamp > now() - 1000", 1'700'000'002'000.0), 0.0);
}

TEST_F(ExpressionTest, Functions) {
  // Through fields, so the column evaluator runs them, and as constants, which fold.
  EXPECT_EQ(value("if(active, temperature, humidity)"), 30.0);
  EXPECT_EQ(value("if(!active, temperature, humidity)"), 60.0);
  EXPECT_EQ(value("if(temperature - 30, 1, 2)"), 2.0);  // 0 is false
  EXPECT_EQ(value("if(temperature, 1, 2)"), 1.0);       // non-zero is true
  EXPECT_EQ(value("abs(-temperature)"), 30.0);
  EXPECT_EQ(value("min(temperature, humidity)"), 30.0);
  EXPECT_EQ(value("max(temperature, humidity)"), 60.0);
  EXPECT_EQ(value("clamp(humidity, 0, 50)"), 50.0);
  EXPECT_EQ(value("clamp(temperature, humidity, 100)"), 60.0);
  EXPECT_EQ(value("sqrt(temperature + 6)"), 6.0);
  EXPECT_EQ(value("exp(temperature - 30)"), 1.0);
  EXPECT_EQ(value("log(temperature - 29)"), 0.0);
  EXPECT_EQ(value("pow(temperature - 28, 10)"), 1024.0);
  EXPECT_EQ(value("round(temperature / 12)"), 3.0);
  EXPECT_EQ(value("round(-temperature / 12)"), -3.0);
  EXPECT_EQ(value("floor(-temperature / 20)"), -2.0);
  EXPECT_EQ(value("ceil(-temperature / 20)"), -1.0);
  EXPECT_EQ(bits(value("ceil(-temperature / 60)")), bits(-0.0));
  EXPECT_EQ(value("temperature % 7"), 2.0);
  EXPECT_EQ(value("-temperature % 7"), -2.0);
  EXPECT_EQ(value("now()", 12345.0), 12345.0);
  EXPECT_EQ(value("heat_index(temperature, humidity)"), ldh::weather::heat_index(30.0, 60.0));
  EXPECT_EQ(value("dew_point(temperature, humidity)"), ldh::weather::dew_point(30.0, 60.0));
  EXPECT_EQ(value("exp(log(temperature))"), ldh::math::exp(ldh::math::log(30.0)));
  EXPECT_EQ(value("pow(2, 0.5)"), ldh::math::pow(2.0, 0.5));
  EXPECT_EQ(value("heat_index(30, 60)"), ldh::weather::heat_index(30.0, 60.0));
  EXPECT_TRUE(std::isnan(value("sqrt(-temperature)")));
  EXPECT_TRUE(std::isnan(value("min(sqrt(-1), temperature)")));
  EXPECT_TRUE(std::isnan(value("max(temperature, log(-1))")));
}

TEST_F(ExpressionTest, NanRules) {
  // Every comparison with NaN is false, != included; if() takes the else branch.
  for (const char* text : {"sqrt(-1) == 1", "sqrt(-1) != 1", "sqrt(-1) < 1", "sqrt(-1) <= 1",
                           "sqrt(-1) > 1", "sqrt(-1) >= 1", "temperature == sqrt(-temperature)",
                           "temperature != sqrt(-temperature)"}) {
    EXPECT_EQ(value(text), 0.0) << text;
  }
  EXPECT_EQ(value("if(sqrt(-temperature), 1, 2)"), 2.0);
  EXPECT_EQ(value("if(sqrt(-1), 1, 2)"), 2.0);
  // NaN results are the canonical quiet NaN.
  EXPECT_EQ(bits(value("0 / 0")), ldh::math::kCanonicalNanBits);
  EXPECT_EQ(bits(value("temperature * 0 / 0")), ldh::math::kCanonicalNanBits);
  EXPECT_EQ(value("1 / 0"), kInfinity);
}

TEST_F(ExpressionTest, StringsCompareThroughTheDictionary) {
  make_batch(4);
  set_row(0, 1, 1, 1, 1, 1, true, "north", "north", 0, 0, true);
  set_row(1, 1, 1, 1, 1, 1, true, "south", "indoor", 0, 0, true);
  set_row(2, 1, 1, 1, 1, 1, true, "north", "indoor", 0, 0, true);
  set_row(3, 1, 1, 1, 1, 1, true, "east", "east", 0, 0, true);
  EXPECT_EQ(run("location == 'north'"), (std::vector<double>{1, 0, 1, 0}));
  EXPECT_EQ(run("location != \"north\""), (std::vector<double>{0, 1, 0, 1}));
  EXPECT_EQ(run("'north' == location"), (std::vector<double>{1, 0, 1, 0}));
  EXPECT_EQ(run("location == type"), (std::vector<double>{1, 0, 0, 1}));
  EXPECT_EQ(run("location != type"), (std::vector<double>{0, 1, 1, 0}));
  // A literal that no record carried is interned, so it simply never matches.
  const std::size_t before = strings_.size();
  EXPECT_EQ(run("location == 'nowhere'"), (std::vector<double>{0, 0, 0, 0}));
  EXPECT_EQ(strings_.size(), before + 1);
  EXPECT_GE(strings_.find("nowhere"), 0);
  // A string-valued if() yields ids.
  const std::vector<double> ids = run("if(location == 'north', type, 'other')");
  EXPECT_EQ(strings_.lookup(static_cast<std::int32_t>(ids[0])), "north");
  EXPECT_EQ(strings_.lookup(static_cast<std::int32_t>(ids[1])), "other");
  EXPECT_EQ(strings_.lookup(static_cast<std::int32_t>(ids[2])), "indoor");
}

TEST_F(ExpressionTest, NullPropagation) {
  make_batch(3);
  for (std::size_t row = 0; row < 3; ++row) {
    set_row(row, 20.0 + row, 50, 1000, 1, 1, row != 1, "a", "b", 0, 1.5, true);
  }
  batch_->column(kOptionalValue).validity()[1] = 0;
  batch_->column(kOptionalFlag).validity()[2] = 0;
  std::vector<std::uint8_t> valid;
  run("temperature + 1", &valid);
  EXPECT_EQ(valid, (std::vector<std::uint8_t>{1, 1, 1}));
  run("optional_value + temperature", &valid);
  EXPECT_EQ(valid, (std::vector<std::uint8_t>{1, 0, 1}));
  run("optional_flag && optional_value > 0", &valid);
  EXPECT_EQ(valid, (std::vector<std::uint8_t>{1, 0, 0}));
  // Null wherever an input is null, even when if() would not use it.
  run("if(active, temperature, optional_value)", &valid);
  EXPECT_EQ(valid, (std::vector<std::uint8_t>{1, 0, 1}));
  // Constants and now() never make a row null.
  run("now() + 1", &valid);
  EXPECT_EQ(valid, (std::vector<std::uint8_t>{1, 1, 1}));
  // `valid` may be omitted.
  EXPECT_EQ(run("optional_value * 2")[0], 3.0);
}

TEST_F(ExpressionTest, CompiledForm) {
  const ldh::CompiledExpression expression =
      compile("heat_index(temperature, humidity) > 30 && location == 'north'");
  EXPECT_EQ(expression.input_slots, (std::vector<int>{kTemperature, kHumidity, kLocation}));
  EXPECT_EQ(expression.result, ldh::ValueKind::boolean);
  EXPECT_EQ(expression.stack_depth, 3);
  EXPECT_EQ(expression.text, "heat_index(temperature, humidity) > 30 && location == 'north'");
  // Constant sub-expressions fold into one constant.
  const ldh::CompiledExpression folded = compile("temperature * (9 / 5) + 32");
  EXPECT_EQ(folded.code.size(), 5U);
  EXPECT_EQ(folded.constants.size(), 2U);
  // Left-nested chains stay shallow; right-nested ones need a deeper stack.
  EXPECT_EQ(compile("1 + temperature + humidity + pressure + count").stack_depth, 2);
  EXPECT_EQ(compile("temperature + (humidity + (pressure + count))").stack_depth, 4);
}

TEST_F(ExpressionTest, Errors) {
  expect_error("temprature > 1", 0, "unknown field 'temprature' (did you mean 'temperature'?)");
  expect_error("humidity + Temperature", 11,
               "unknown field 'Temperature' (did you mean 'temperature'?)");
  expect_error("1 + wind", 4, "unknown field 'wind'");
  expect_error("heat_index > 1", 0, "heat_index is a function");
  expect_error("heat_indx(temperature, humidity)", 0,
               "unknown function 'heat_indx' (did you mean 'heat_index'?)");
  expect_error("sine(temperature)", 0, "unknown function 'sine'");
  expect_error("heat_index(temperature)", 0, "heat_index() takes 2 arguments, got 1");
  expect_error("1 + sqrt(1, 2)", 4, "sqrt() takes 1 argument, got 2");
  expect_error("now(1)", 0, "now() takes 0 arguments, got 1");
  expect_error("clamp(temperature, 1)", 0, "clamp() takes 3 arguments, got 2");
  expect_error("location + 1", 9, "cannot add a string");
  expect_error("1 - active", 2, "cannot subtract a boolean");
  expect_error("temperature * location", 12, "cannot multiply a string");
  expect_error("temperature / true", 12, "cannot divide a boolean");
  expect_error("location % 2", 9, "cannot take the remainder of a string");
  expect_error("-location", 0, "cannot negate a string");
  expect_error("location < 'a'", 9, "strings only compare with == and !=");
  expect_error("active >= false", 7, "cannot order booleans");
  expect_error("temperature == location", 12, "cannot compare a number with a string");
  expect_error("active != 1", 7, "cannot compare a boolean with a number");
  expect_error("!temperature", 0, "'!' needs a boolean, got a number");
  expect_error("not location", 0, "'not' needs a boolean, got a string");
  expect_error("active && 1", 7, "'&&' needs booleans, got a number");
  expect_error("temperature or active", 12, "'or' needs booleans, got a number");
  expect_error("if(location, 1, 2)", 3, "the condition of if() must be a boolean or a number");
  expect_error("if(active, 1, 'a')", 14, "the branches of if() differ: a number and a string");
  expect_error("sqrt(active)", 5, "argument 1 of sqrt() must be a number, got a boolean");
  expect_error("pow(2, location)", 7, "argument 2 of pow() must be a number, got a string");
  expect_error("", 0, "unexpected end of expression");
  expect_error("temperature > ", 14, "unexpected end of expression");
  expect_error("(temperature", 12, "unexpected end of expression: expected ')'");
  expect_error("min(temperature humidity)", 16, "unexpected 'humidity': expected ',' or ')'");
  expect_error("temperature 5", 12, "unexpected '5' after a complete expression");
  expect_error("temperature)", 11, "unexpected ')' after a complete expression");
  expect_error("1 + * 2", 4, "unexpected '*'");
  expect_error("1 + and", 4, "unexpected 'and'");
  expect_error("temperature = 5", 12, "unexpected '='; compare with '=='");
  expect_error("active & active", 7, "use '&&'");
  expect_error("active | active", 7, "use '||'");
  expect_error("temperature # 1", 12, "unexpected character '#'");
  expect_error("'abc", 0, "unterminated string literal");
  expect_error("1 + \"abc", 4, "unterminated string literal");
  expect_error("1e", 0, "malformed number '1e'");
  expect_error("2 * 3abc", 4, "malformed number '3abc'");
  expect_error("1e400", 0, "outside the range of a double");
}

TEST_F(ExpressionTest, DepthLimits) {
  // Right-nested sums need one stack value per level.
  std::string deep = "temperature";
  for (int i = 0; i < 40; ++i) deep = "temperature + (" + deep + ")";
  try {
    compile(deep);
    ADD_FAILURE() << "no error for a 41-deep expression";
  } catch (const ldh::ExpressionError& error) {
    EXPECT_NE(std::string(error.what()).find("more than 32 stack values"), std::string::npos)
        << error.what();
  }
  std::string fits = "temperature";
  for (int i = 0; i < 30; ++i) fits = "temperature + (" + fits + ")";
  EXPECT_EQ(compile(fits).stack_depth, 31);
  // Absurd nesting is an error, not a stack overflow.
  const std::string parentheses = std::string(5000, '(') + "1" + std::string(5000, ')');
  try {
    compile(parentheses);
    ADD_FAILURE() << "no error for 5000 parentheses";
  } catch (const ldh::ExpressionError& error) {
    EXPECT_NE(std::string(error.what()).find("nests too deeply"), std::string::npos)
        << error.what();
  }
  std::string negations(5000, '-');
  EXPECT_THROW(compile(negations + "1"), ldh::ExpressionError);
}

// ---------------------------------------------------------------------------------------------
// Weather formulas

TEST_F(ExpressionTest, HeatIndexMatchesTheNwsChart) {
  // Published NWS heat index chart values (whole degrees F).
  struct ChartValue {
    double temperature_f;
    double humidity;
    double heat_index_f;
  };
  const std::vector<ChartValue> chart{
      {80, 40, 80},   {80, 70, 83},   {84, 70, 90},   {86, 40, 85},   {86, 90, 105},
      {88, 60, 95},   {90, 40, 91},   {90, 50, 95},   {90, 70, 106},  {90, 100, 132},
      {94, 55, 106},  {96, 65, 121},  {100, 40, 109}, {100, 65, 136}, {104, 40, 119},
      {106, 45, 130}, {108, 40, 130}, {110, 40, 136},
  };
  make_batch(chart.size());
  for (std::size_t row = 0; row < chart.size(); ++row) {
    set_row(row, (chart[row].temperature_f - 32.0) / 1.8, chart[row].humidity, 0, 0, 0, true, "",
            "", 0, 0, true);
  }
  const std::vector<double> celsius = run("heat_index(temperature, humidity)");
  for (std::size_t row = 0; row < chart.size(); ++row) {
    const double fahrenheit = celsius[row] * 1.8 + 32.0;
    EXPECT_NEAR(fahrenheit, chart[row].heat_index_f, 1.0)
        << chart[row].temperature_f << " F, " << chart[row].humidity << " %";
  }
}

/// Computes the NWS algorithm literally, in long double, as a reference.
long double nws_heat_index_fahrenheit(long double t, long double rh) {
  const long double simple = 0.5L * (t + 61.0L + ((t - 68.0L) * 1.2L) + (rh * 0.094L));
  if (simple < 80.0L) return simple;
  long double hi = -42.379L + 2.04901523L * t + 10.14333127L * rh - .22475541L * t * rh -
                   .00683783L * t * t - .05481717L * rh * rh + .00122874L * t * t * rh +
                   .00085282L * t * rh * rh - .00000199L * t * t * rh * rh;
  if (rh < 13.0L && t >= 80.0L && t <= 112.0L) {
    hi -= ((13.0L - rh) / 4.0L) * std::sqrt((17.0L - std::fabs(t - 95.0L)) / 17.0L);
  }
  if (rh > 85.0L && t >= 80.0L && t <= 87.0L) hi += ((rh - 85.0L) / 10.0L) * ((87.0L - t) / 5.0L);
  return hi;
}

TEST_F(ExpressionTest, HeatIndexFollowsTheNwsAlgorithm) {
  // A grid over the simple formula, the regression and both adjustments.
  std::vector<std::pair<double, double>> inputs;
  for (double f = 50.0; f <= 120.0; f += 0.5) {
    for (double rh = 0.0; rh <= 100.0; rh += 2.5) inputs.emplace_back(f, rh);
  }
  make_batch(inputs.size());
  for (std::size_t row = 0; row < inputs.size(); ++row) {
    set_row(row, (inputs[row].first - 32.0) / 1.8, inputs[row].second, 0, 0, 0, true, "", "", 0, 0,
            true);
  }
  const std::vector<double> celsius = run("heat_index(temperature, humidity)");
  int adjusted_dry = 0;
  int adjusted_humid = 0;
  for (std::size_t row = 0; row < inputs.size(); ++row) {
    const long double t = inputs[row].first;
    const long double rh = inputs[row].second;
    const long double expected = (nws_heat_index_fahrenheit(t, rh) - 32.0L) / 1.8L;
    EXPECT_NEAR(celsius[row], static_cast<double>(expected), 1e-9) << t << " F, " << rh << " %";
    const bool regression = 0.5L * (t + 61.0L + ((t - 68.0L) * 1.2L) + (rh * 0.094L)) >= 80.0L;
    if (regression && rh < 13 && t >= 80 && t <= 112) ++adjusted_dry;
    if (regression && rh > 85 && t >= 80 && t <= 87) ++adjusted_humid;
  }
  EXPECT_GT(adjusted_dry, 50);
  EXPECT_GT(adjusted_humid, 50);
  // Example adjustments: 100 F at 10 % loses [(13-10)/4]*sqrt((17-5)/17) F.
  EXPECT_NEAR(ldh::weather::heat_index_fahrenheit(100.0, 10.0),
              static_cast<double>(nws_heat_index_fahrenheit(100.0L, 10.0L)), 1e-9);
  EXPECT_TRUE(std::isnan(ldh::weather::heat_index(kNan, 50.0)));
  EXPECT_TRUE(std::isnan(ldh::weather::heat_index(30.0, kNan)));
}

TEST_F(ExpressionTest, DewPoint) {
  // Magnus formula with b = 17.62, c = 243.12 C; values as tabulated for it.
  EXPECT_NEAR(value("dew_point(20, 50)"), 9.26, 0.01);
  EXPECT_NEAR(value("dew_point(25, 60)"), 16.69, 0.01);
  EXPECT_NEAR(value("dew_point(30, 80)"), 26.17, 0.01);
  EXPECT_NEAR(value("dew_point(-10, 50)"), -18.47, 0.01);
  EXPECT_EQ(value("dew_point(0, 100)"), 0.0);
  // At saturation the dew point is the temperature.
  for (double t : {-20.0, 0.5, 15.0, 35.0}) {
    EXPECT_NEAR(ldh::weather::dew_point(t, 100.0), t, 1e-12) << t;
  }
  EXPECT_TRUE(std::isnan(value("dew_point(20, 0)")));
  EXPECT_TRUE(std::isnan(value("dew_point(20, -5)")));
}

// ---------------------------------------------------------------------------------------------
// The column evaluator against the per-row interpreter

/// Writes random well-typed expressions over the test fields.
class ExpressionGenerator {
 public:
  explicit ExpressionGenerator(std::uint64_t seed) : random_(seed) {}

  std::string number(int depth) {
    if (depth <= 0 || pick(4) == 0) return number_leaf();
    switch (pick(8)) {
      case 0: {
        static const char* const kOperators[] = {" + ", " - ", " * ", " / ", " % "};
        return "(" + number(depth - 1) + kOperators[pick(5)] + number(depth - 1) + ")";
      }
      case 1:
        return "-" + number(depth - 1);
      case 2: {
        static const char* const kUnary[] = {"abs", "sqrt", "exp", "log", "round", "floor", "ceil"};
        return std::string(kUnary[pick(7)]) + "(" + number(depth - 1) + ")";
      }
      case 3: {
        static const char* const kBinary[] = {"min", "max", "pow", "heat_index", "dew_point"};
        return std::string(kBinary[pick(5)]) + "(" + number(depth - 1) + ", " + number(depth - 1) +
               ")";
      }
      case 4:
        return "clamp(" + number(depth - 1) + ", " + number(depth - 1) + ", " + number(depth - 1) +
               ")";
      case 5:
        return "if(" + boolean(depth - 1) + ", " + number(depth - 1) + ", " + number(depth - 1) +
               ")";
      case 6:
        return "if(" + number(depth - 1) + ", " + number(depth - 1) + ", " + number(depth - 1) +
               ")";
      default:
        return "heat_index(" + number_leaf() + ", " + number_leaf() + ")";
    }
  }

  std::string boolean(int depth) {
    if (depth <= 0 || pick(5) == 0) return boolean_leaf();
    switch (pick(6)) {
      case 0: {
        static const char* const kComparisons[] = {" == ", " != ", " < ", " <= ", " > ", " >= "};
        return "(" + number(depth - 1) + kComparisons[pick(6)] + number(depth - 1) + ")";
      }
      case 1:
        return "!" + boolean(depth - 1);
      case 2:
        return "(" + boolean(depth - 1) + " && " + boolean(depth - 1) + ")";
      case 3:
        return "(" + boolean(depth - 1) + " || " + boolean(depth - 1) + ")";
      case 4:
        return "(" + boolean(depth - 1) + " == " + boolean(depth - 1) + ")";
      default:
        return "if(" + boolean(depth - 1) + ", " + boolean(depth - 1) + ", " + boolean(depth - 1) +
               ")";
    }
  }

 private:
  std::size_t pick(std::size_t count) { return random_() % count; }

  std::string number_leaf() {
    static const char* const kLeaves[] = {
        "temperature", "humidity",   "pressure",       "sensor_id",
        "count",       "timestamp",  "optional_value", "sensor.zone",
        "now()",       "0",          "-0.0",           "1",
        "2.5",         "100",        "1e308",          "1e-310",
        "0.1",         "-7",         "temperature",    "humidity",
        "humidity",    "temperature"};
    return kLeaves[pick(sizeof(kLeaves) / sizeof(kLeaves[0]))];
  }

  std::string boolean_leaf() {
    static const char* const kLeaves[] = {"active",
                                          "optional_flag",
                                          "true",
                                          "false",
                                          "(location == 'north')",
                                          "(location != type)",
                                          "(type == 'indoor')",
                                          "(temperature > humidity)"};
    return kLeaves[pick(sizeof(kLeaves) / sizeof(kLeaves[0]))];
  }

  std::mt19937_64 random_;
};

/// Draws doubles that exercise every corner: NaN, infinities, signed zeros, huge, tiny and
/// subnormal values, and ordinary readings.
double random_double(std::mt19937_64& random) {
  static const double kSpecial[] = {kNan,  -kNan,  kInfinity, -kInfinity, 0.0,    -0.0,
                                    1e300, -1e300, 1e-300,    -1e-310,    5e-324, 1.0,
                                    -1.0,  80.0,   95.0,      13.0,       85.0,   100.0};
  switch (random() % 4) {
    case 0:
      return kSpecial[random() % (sizeof(kSpecial) / sizeof(kSpecial[0]))];
    case 1:
      return std::uniform_real_distribution<double>(-1e6, 1e6)(random);
    default:
      return std::uniform_real_distribution<double>(-20.0, 110.0)(random);
  }
}

TEST_F(ExpressionTest, ColumnEvaluatorMatchesTheRowInterpreterBitForBit) {
  std::mt19937_64 random(20261129);
  ExpressionGenerator generator(7);
  const char* const kLocations[] = {"north", "south", "indoor", "east"};
  int expressions = 0;
  for (int round = 0; round < 12; ++round) {
    const std::size_t rows = 1 + random() % 3000;
    make_batch(rows);
    for (std::size_t row = 0; row < rows; ++row) {
      set_row(row, random_double(random), random_double(random),
              static_cast<float>(random_double(random)),
              static_cast<std::int32_t>(random() % 2001) - 1000,
              static_cast<std::int64_t>(random()) >> (random() % 64), random() % 2 == 0,
              kLocations[random() % 4], kLocations[random() % 4],
              static_cast<std::int64_t>(random()), random_double(random), random() % 3 == 0);
      batch_->column(kOptionalValue).validity()[row] = random() % 5 != 0;
      batch_->column(kOptionalFlag).validity()[row] = random() % 7 != 0;
    }
    const ldh::EventBatchView view = batch_->view();
    for (int i = 0; i < 40; ++i) {
      const std::string text = i % 4 == 0 ? generator.boolean(5) : generator.number(5);
      const ldh::CompiledExpression expression = compile(text);
      const double now_ms = static_cast<double>(random() % 2'000'000'000'000ULL);
      std::vector<double> out(rows);
      std::vector<std::uint8_t> valid(rows);
      ldh::evaluate(expression, view, now_ms, out.data(), valid.data());
      for (std::size_t row = 0; row < rows; ++row) {
        const double expected =
            ldh::run_program(expression.code.data(), static_cast<int>(expression.code.size()),
                             expression.constants.data(), view.columns.data(), row, now_ms);
        ASSERT_EQ(bits(out[row]), bits(expected))
            << text << " at row " << row << ": " << out[row] << " vs " << expected;
        ASSERT_EQ(valid[row], ldh::row_is_valid(expression.code.data(),
                                                static_cast<int>(expression.code.size()),
                                                view.columns.data(), row)
                                  ? 1
                                  : 0)
            << text << " at row " << row;
      }
      ++expressions;
    }
  }
  EXPECT_EQ(expressions, 480);
}

}  // namespace
