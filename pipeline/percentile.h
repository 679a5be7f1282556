#pragma once

// Exact percentiles over the values of one window, with one pinned formula each so the CPU and
// CUDA paths give the same bits (docs/semantics.md):
//  - values are canonicalised first (-0.0 becomes +0.0, every NaN the canonical NaN) and ordered
//    by sort_key(): -inf < ... < 0 < ... < +inf < NaN. NaN takes part and sorts last, as in
//    DuckDB and PostgreSQL, so percentiles that land on a NaN are NaN;
//  - continuous_percentile (pN, median) is Hyndman-Fan type 7 (numpy's default, DuckDB's
//    quantile_cont): h = (n - 1) * p, i = floor(h), x[i] + (h - i) * (x[i+1] - x[i]) in
//    double, as written, without FMA;
//  - discrete_percentile (pN_disc) is DuckDB's quantile_disc: the element at index
//    max(1, n - floor(n - n * p)) - 1, i.e. the smallest value whose cumulative share is >= p.

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/error.h"
#include "pipeline/host_device.h"
#include "pipeline/math.h"

namespace ldh {

/// Returns `x` with -0.0 as +0.0 and any NaN as the canonical quiet NaN. Without branches
/// (every event's values pass here): x + 0.0 is x for every other value and +0.0 for -0.0.
LDH_HOST_DEVICE LDH_FORCE_INLINE double canonical_value(double x) {
  return math::select(math::is_nan(x), math::quiet_nan(), x + 0.0);
}

/// Returns the key whose unsigned order is the total order of canonical values, so a radix sort
/// on the CPU or the GPU orders them identically: -inf < ... < 0 < ... < +inf < NaN.
LDH_HOST_DEVICE LDH_FORCE_INLINE std::uint64_t sort_key(double x) {
  const std::uint64_t bits = math::to_bits(canonical_value(x));
  return (bits >> 63) != 0 ? ~bits : bits | 0x8000000000000000ULL;
}

/// Returns the canonical value whose sort_key is `key`.
LDH_HOST_DEVICE LDH_FORCE_INLINE double value_of_sort_key(std::uint64_t key) {
  return math::from_bits((key >> 63) != 0 ? key & 0x7fffffffffffffffULL : ~key);
}

/// Returns the type-7 percentile at `fraction` (0 to 1) of `count` >= 1 canonical values
/// sorted by sort_key. Equal neighbours (also two equal infinities) give that value; a
/// difference that overflows (-1e308 to 1e308) gives an infinity, as the formula does.
LDH_HOST_DEVICE inline double continuous_percentile(const double* sorted, std::size_t count,
                                                    double fraction) {
  const double position = static_cast<double>(count - 1) * fraction;
  const double floor_position = math::floor(position);
  const std::size_t index = static_cast<std::size_t>(floor_position);
  const double lower = sorted[index];
  if (position == floor_position || index + 1 >= count) return canonical_value(lower);
  const double upper = sorted[index + 1];
  if (lower == upper) return lower;
  return canonical_value(lower + (position - floor_position) * (upper - lower));
}

/// Returns DuckDB's quantile_disc at `fraction` of `count` >= 1 sorted canonical values.
LDH_HOST_DEVICE inline double discrete_percentile(const double* sorted, std::size_t count,
                                                  double fraction) {
  const double size = static_cast<double>(count);
  const std::size_t below = static_cast<std::size_t>(math::floor(size - size * fraction));
  const std::size_t index = (count - below > 1 ? count - below : 1) - 1;
  return sorted[index];
}

enum class PercentileKind : std::uint8_t {
  continuous,   // pN, median
  discrete,     // pN_disc
  approximate,  // approx_pN: DDSketch
};

/// One percentile metric as configured: p95 is {0.95, continuous, "p95"}.
struct PercentileMetric {
  double fraction = 0.5;
  PercentileKind kind = PercentileKind::continuous;
  std::string name;  // the column suffix: <measure>_<name>, the dot as '_' (p99_9)
};

/// Parses `median`, `pN` and `pN.M` (continuous), `pN_disc` and `pN.M_disc` (discrete) and
/// `approx_pN`, `approx_pN.M` (DDSketch), with 0 <= N.M <= 100 written without leading zeros or
/// trailing fraction zeros, so each percentile has one spelling and one column name. Returns
/// nullopt for anything else.
inline std::optional<PercentileMetric> parse_percentile_metric(std::string_view text) {
  PercentileMetric metric;
  if (text == "median") {
    metric.name = "median";
    return metric;
  }
  std::string_view body = text;
  if (body.starts_with("approx_")) {
    metric.kind = PercentileKind::approximate;
    body.remove_prefix(7);
  } else if (body.ends_with("_disc")) {
    metric.kind = PercentileKind::discrete;
    body.remove_suffix(5);
  }
  if (!body.starts_with("p")) return std::nullopt;
  body.remove_prefix(1);
  const std::size_t dot = body.find('.');
  const std::string_view whole = body.substr(0, dot);
  const std::string_view part =
      dot == std::string_view::npos ? std::string_view() : body.substr(dot + 1);
  const auto all_digits = [](std::string_view digits) {
    return !digits.empty() &&
           std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!all_digits(whole) || (whole.size() > 1 && whole[0] == '0')) return std::nullopt;
  if (dot != std::string_view::npos && (!all_digits(part) || part.back() == '0')) {
    return std::nullopt;
  }
  if (whole.size() > 3 || (whole.size() == 3 && (whole != "100" || !part.empty()))) {
    return std::nullopt;
  }
  // N.M percent is 0.0NM: move the decimal point two places and let from_chars round once.
  std::string decimal = whole.size() == 3 ? "1" : "0.";
  if (whole.size() < 3) {
    decimal.append(2 - whole.size(), '0');
    decimal += whole;
    decimal += part;
  }
  const auto [end, error] =
      std::from_chars(decimal.data(), decimal.data() + decimal.size(), metric.fraction);
  if (error != std::errc() || end != decimal.data() + decimal.size()) return std::nullopt;
  metric.name = text;
  std::replace(metric.name.begin(), metric.name.end(), '.', '_');
  return metric;
}

/// Canonicalises `values` and sorts them by sort_key, as the percentile functions expect.
inline void sort_for_percentiles(std::span<double> values) {
  for (double& x : values) x = canonical_value(x);
  std::sort(values.begin(), values.end(),
            [](double a, double b) { return sort_key(a) < sort_key(b); });
}

/// Sorts `values` (see sort_for_percentiles) and returns each exact metric's value, in order;
/// nullopt for no values. Approximate metrics belong to DDSketch.
inline std::vector<std::optional<double>> exact_percentiles(
    std::span<double> values, std::span<const PercentileMetric> metrics) {
  std::vector<std::optional<double>> results;
  results.reserve(metrics.size());
  if (values.empty()) {
    results.resize(metrics.size());
    return results;
  }
  sort_for_percentiles(values);
  for (const PercentileMetric& metric : metrics) {
    LDH_EXPECTS(metric.kind != PercentileKind::approximate,
                "approximate percentiles come from a DDSketch");
    results.push_back(metric.kind == PercentileKind::continuous
                          ? continuous_percentile(values.data(), values.size(), metric.fraction)
                          : discrete_percentile(values.data(), values.size(), metric.fraction));
  }
  return results;
}

}  // namespace ldh
