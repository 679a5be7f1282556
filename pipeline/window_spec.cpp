#include "pipeline/window_spec.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "pipeline/json_writer.h"
#include "pipeline/time.h"

namespace ldh {

namespace {

/// Tells whether a metric of a float32 measure is one of its own values, so it prints as float.
bool is_sample_value(MetricConfig::Kind kind) {
  return kind == MetricConfig::Kind::min || kind == MetricConfig::Kind::max ||
         kind == MetricConfig::Kind::first || kind == MetricConfig::Kind::last ||
         kind == MetricConfig::Kind::percentile_disc;
}

bool compare(double value, FilterOperator op, double threshold) {
  switch (op) {
    case FilterOperator::gt:
      return value > threshold;
    case FilterOperator::ge:
      return value >= threshold;
    case FilterOperator::lt:
      return value < threshold;
    case FilterOperator::le:
      return value <= threshold;
    case FilterOperator::eq:
      return value == threshold;
    case FilterOperator::ne:
      return value != threshold;
    default:
      return false;
  }
}

/// Digits of the largest std::uint64_t.
constexpr std::size_t kUnsignedBytes = 20;

char* put(char* out, std::string_view text) {
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

char* put_unsigned(char* out, std::uint64_t value) {
  return std::to_chars(out, out + kUnsignedBytes, value).ptr;
}

void append_unsigned(std::string& out, std::uint64_t value) {
  char digits[kUnsignedBytes];
  out.append(digits, put_unsigned(digits, value));
}

}  // namespace

bool result_before(const WindowResult& a, const WindowResult& b, const WindowSpecs& specs,
                   const StringDictionary& strings) {
  if (a.end != b.end) return a.end < b.end;
  if (a.spec != b.spec) return a.spec < b.spec;
  if (a.start != b.start) return a.start < b.start;
  const int order = compare_keys(a.key, b.key, specs[a.spec]->group_fields, strings);
  if (order != 0) return order < 0;
  return a.revision < b.revision;
}

std::size_t result_row_room(const WindowSpec& spec) {
  // `","end":"`, `"`, `,"count":`, `,"revision":` and `}\n` take 33 bytes, within the 64; the
  // count and the revision a number each.
  std::size_t room = spec.row_prefix.size() + 64 + 2 * kUnsignedBytes;
  for (const std::string& column : spec.columns) {
    room += column.size() + std::max(kJsonNumberBytes, kUnsignedBytes);
  }
  return room;
}

const std::string& ResultWriter::TimeText::of(std::int64_t t) {
  if (!valid || t != time) {
    text.clear();
    append_iso8601(text, t, 3);
    time = t;
    valid = true;
  }
  return text;
}

void ResultWriter::write(const WindowSpec& spec, const WindowResult& result,
                         const std::optional<double>* values, std::string& results,
                         std::string& alerts, WindowCounters& counters) {
  ++counters.results;
  key_text_.clear();
  for (std::size_t i = 0; i < spec.group_fields.size(); ++i) {
    key_text_ += spec.key_prefixes[i];
    append_key_value(key_text_, result.key, i, spec.group_fields[i], strings_);
  }
  const std::string& start = start_.of(result.start);
  const std::string& end = end_.of(result.end);
  // The row is written into room made once, enough for its fixed text, key and times and for
  // each value at its longest, then cut to what it took: appending piece by piece resized the
  // text a few times per value.
  const std::size_t row_begin = results.size();
  results.resize(row_begin + spec.row_room + start.size() + end.size() + key_text_.size());
  char* out = results.data() + row_begin;
  out = put(out, spec.row_prefix);
  out = put(out, start);
  out = put(out, "\",\"end\":\"");
  out = put(out, end);
  *out++ = '"';
  out = put(out, key_text_);
  out = put(out, ",\"count\":");
  out = put_unsigned(out, result.events);
  std::size_t index = 0;
  for (const auto& measure : spec.measures) {
    for (const auto& metric : spec.config.metrics) {
      const std::optional<double>& value = values[index];
      out = put(out, spec.columns[index++]);
      if (!value) {
        out = put(out, "null");
      } else if (metric.kind == MetricConfig::Kind::count) {
        out = put_unsigned(out, static_cast<std::uint64_t>(*value));
      } else if (measure.type == DataType::float32 && is_sample_value(metric.kind)) {
        out = write_json_number(out, static_cast<float>(*value));
      } else {
        out = write_json_number(out, *value);
      }
    }
  }
  if (result.revision > 0) {
    out = put(out, ",\"revision\":");
    out = put_unsigned(out, result.revision);
  }
  out = put(out, "}\n");
  results.resize(static_cast<std::size_t>(out - results.data()));

  for (const BoundAlert& alert : spec.alerts) {
    const std::optional<double>& value = values[index++];
    if (!value || !compare(*value, alert.condition->op, alert.condition->value)) continue;
    ++counters.alerts;
    const std::size_t alert_begin = alerts.size();
    alerts += alert.prefix;
    alerts += start;
    alerts += "\",\"end\":\"";
    alerts += end;
    alerts += '"';
    alerts += key_text_;
    alerts += alert.metric_text;
    append_json_number(alerts, *value);
    alerts += alert.threshold_text;
    if (result.revision > 0) {
      alerts += ",\"revision\":";
      append_unsigned(alerts, result.revision);
    }
    alerts += "}\n";
    if (alerts_follow_results_) results.append(alerts, alert_begin, alerts.size() - alert_begin);
  }
}

}  // namespace ldh
