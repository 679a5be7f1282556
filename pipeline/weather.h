#pragma once

// Weather formulas shared by the CPU evaluator and CUDA kernels (one source, identical bits).
// docs/expressions.md gives the formulas and their sources.

#include "pipeline/host_device.h"
#include "pipeline/math.h"

namespace ldh::weather {

LDH_HOST_DEVICE LDH_FORCE_INLINE double celsius_to_fahrenheit(double celsius) {
  return celsius * 1.8 + 32.0;
}

LDH_HOST_DEVICE LDH_FORCE_INLINE double fahrenheit_to_celsius(double fahrenheit) {
  return (fahrenheit - 32.0) * (5.0 / 9.0);
}

/// Computes the NWS heat index in Fahrenheit: Steadman's simple formula, replaced by the Rothfusz
/// regression with the NWS low- and high-humidity adjustments once the simple value reaches 80 F.
/// Written without branches (random data would mispredict them) and with multiplications by
/// constants where the NWS text divides (divisions are the slowest operation here); the rounding
/// differs from the literal text by a few ulps, far below the regression's own error of 1.3 F.
/// NaN in, NaN out.
LDH_HOST_DEVICE LDH_FORCE_INLINE double heat_index_fahrenheit(double t, double rh) {
  const double simple = 0.5 * (t + 61.0 + ((t - 68.0) * 1.2) + (rh * 0.094));
  const double t2 = t * t;
  const double rh2 = rh * rh;
  double regression = -42.379 + 2.04901523 * t + 10.14333127 * rh - 0.22475541 * t * rh -
                      0.00683783 * t2 - 0.05481717 * rh2 + 0.00122874 * t2 * rh +
                      0.00085282 * t * rh2 - 0.00000199 * t2 * rh2;
  // Below 13 % humidity: subtract [(13-RH)/4]*sqrt{[17-|T-95|]/17}. The root's argument is clamped
  // at 0 so that rows outside 80..112 F, whose adjustment is discarded, never take the slow path
  // of a negative square root.
  const double dry_base = (17.0 - math::abs(t - 95.0)) * (1.0 / 17.0);
  const double dry_root = math::sqrt(math::select(dry_base > 0.0, dry_base, 0.0));
  const double dry_adjustment = (13.0 - rh) * 0.25 * dry_root;
  // Above 85 % humidity: add [(RH-85)/10]*[(87-T)/5].
  const double humid_adjustment = (rh - 85.0) * (87.0 - t) * (1.0 / 50.0);
  const bool dry = (rh < 13.0) & (t >= 80.0) & (t <= 112.0);
  const bool humid = (rh > 85.0) & (t >= 80.0) & (t <= 87.0);
  regression = math::select(dry, regression - dry_adjustment, regression);
  regression = math::select(humid, regression + humid_adjustment, regression);
  return math::select(simple >= 80.0, regression, simple);
}

/// Computes the heat index ("feels like" temperature) in Celsius from the air temperature in
/// Celsius and the relative humidity in percent.
LDH_HOST_DEVICE LDH_FORCE_INLINE double heat_index(double temperature_celsius,
                                                   double humidity_percent) {
  return fahrenheit_to_celsius(
      heat_index_fahrenheit(celsius_to_fahrenheit(temperature_celsius), humidity_percent));
}

/// Computes the dew point in Celsius with the Magnus formula (b = 17.62, c = 243.12 C):
/// g = ln(RH/100) + b*T/(c+T), Td = c*g/(b-g). NaN when the humidity is 0 or below.
LDH_HOST_DEVICE inline double dew_point(double temperature_celsius, double humidity_percent) {
  constexpr double kB = 17.62;
  constexpr double kC = 243.12;
  const double gamma =
      math::log(humidity_percent / 100.0) + kB * temperature_celsius / (kC + temperature_celsius);
  return kC * gamma / (kB - gamma);
}

}  // namespace ldh::weather
