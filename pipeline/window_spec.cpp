#include "pipeline/window_spec.h"

#include <charconv>

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

void append_unsigned(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
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

void ResultWriter::TimeText::append(std::string& out, std::int64_t t) {
  if (!valid || t != time) {
    text.clear();
    append_iso8601(text, t, 3);
    time = t;
    valid = true;
  }
  out += text;
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
  results += spec.row_prefix;
  start_.append(results, result.start);
  results += "\",\"end\":\"";
  end_.append(results, result.end);
  results += '"';
  results += key_text_;
  results += ",\"count\":";
  append_unsigned(results, result.events);
  std::size_t index = 0;
  for (const auto& measure : spec.measures) {
    for (const auto& metric : spec.config.metrics) {
      const std::optional<double>& value = values[index];
      results += spec.columns[index++];
      if (!value) {
        results += "null";
      } else if (metric.kind == MetricConfig::Kind::count) {
        append_unsigned(results, static_cast<std::uint64_t>(*value));
      } else if (measure.type == DataType::float32 && is_sample_value(metric.kind)) {
        append_json_number(results, static_cast<float>(*value));
      } else {
        append_json_number(results, *value);
      }
    }
  }
  if (result.revision > 0) {
    results += ",\"revision\":";
    append_unsigned(results, result.revision);
  }
  results += "}\n";

  for (const BoundAlert& alert : spec.alerts) {
    const std::optional<double>& value = values[index++];
    if (!value || !compare(*value, alert.condition->op, alert.condition->value)) continue;
    ++counters.alerts;
    const std::size_t alert_begin = alerts.size();
    alerts += alert.prefix;
    start_.append(alerts, result.start);
    alerts += "\",\"end\":\"";
    end_.append(alerts, result.end);
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
