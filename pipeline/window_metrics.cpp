#include "pipeline/window_metrics.h"

#include <immintrin.h>

#include <algorithm>
#include <limits>

namespace ldh {

namespace {

constexpr std::size_t round_up(std::size_t bytes) {
  return (bytes + 7) / 8 * 8;
}

/// Values up to this many are sorted by counting where AVX-512 is missing (see sort_values);
/// more in blocks of kCountingSortBlock, merged.
constexpr std::size_t kCountingSortLimit = 96;
constexpr std::size_t kCountingSortBlock = 64;

/// Places each of `count` canonical values, none NaN, at its rank: the number of smaller values
/// plus the equal ones before it. Equal values are equal bits (canonical), so the result is the
/// sorted order whatever the ties. Compiled for AVX-512 and AVX2 too: the same comparisons, eight
/// or four at once.
__attribute__((target_clones("avx512f", "avx2", "default"))) void counting_sort(
    const double* values, std::size_t count, double* sorted) {
  for (std::size_t i = 0; i < count; ++i) {
    const double x = values[i];
    std::size_t rank = 0;
    for (std::size_t j = 0; j < i; ++j) rank += values[j] <= x;
    for (std::size_t j = i + 1; j < count; ++j) rank += values[j] < x;
    sorted[rank] = x;
  }
}

/// Values up to which a sorting network in AVX-512 registers sorts (16 registers of 8).
constexpr std::size_t kNetworkSortLimit = 128;

// The masked forms, all lanes on: the plain ones pass an undefined source that g++ 12 warns
// about (its bug 105593).
__attribute__((target("avx512f"))) inline __m512d lane_min(__m512d a, __m512d b) {
  return _mm512_mask_min_pd(a, 0xff, a, b);
}
__attribute__((target("avx512f"))) inline __m512d lane_max(__m512d a, __m512d b) {
  return _mm512_mask_max_pd(a, 0xff, a, b);
}

/// Takes 128-bit lanes of `a` and `b` as _mm512_shuffle_f64x2 does.
template <int Selection>
__attribute__((target("avx512f"))) inline __m512d lane_pairs(__m512d a, __m512d b) {
  return _mm512_mask_shuffle_f64x2(a, 0xff, a, b, Selection);
}

/// Sorts each lane of eight registers across them (an optimal network of 19 compare-exchanges
/// with no shuffles), then transposes them: each register then holds eight sorted values, as
/// the first three stages of a bitonic sort leave them, with far fewer shuffles (which run on
/// one port): window_metrics_bench, 60 values, 103-112 ns before, 98.4-100 after.
__attribute__((target("avx512f"))) inline void sort_eights(__m512d* r) {
  constexpr int kPairs[19][2] = {{0, 2}, {1, 3}, {4, 6}, {5, 7}, {0, 4}, {1, 5}, {2, 6},
                                 {3, 7}, {0, 1}, {2, 3}, {4, 5}, {6, 7}, {2, 4}, {3, 5},
                                 {1, 4}, {3, 6}, {1, 2}, {3, 4}, {5, 6}};
  _Pragma("GCC unroll 19") for (const auto& pair : kPairs) {
    const __m512d low = lane_min(r[pair[0]], r[pair[1]]);
    r[pair[1]] = lane_max(r[pair[0]], r[pair[1]]);
    r[pair[0]] = low;
  }
  // Rows to columns: pairs of rows interleaved, then 128-bit lanes gathered twice. Which column
  // lands in which register does not matter: each is sorted.
  __m512d t[8];
  _Pragma("GCC unroll 4") for (int q = 0; q < 8; q += 2) {
    t[q] = _mm512_mask_unpacklo_pd(r[q], 0xff, r[q], r[q + 1]);
    t[q + 1] = _mm512_mask_unpackhi_pd(r[q], 0xff, r[q], r[q + 1]);
  }
  __m512d u[8];
  _Pragma("GCC unroll 2") for (int half = 0; half < 8; half += 4) {
    _Pragma("GCC unroll 2") for (int odd = 0; odd < 2; ++odd) {
      u[half + 2 * odd] = lane_pairs<0x88>(t[half + odd], t[half + 2 + odd]);
      u[half + 2 * odd + 1] = lane_pairs<0xdd>(t[half + odd], t[half + 2 + odd]);
    }
  }
  _Pragma("GCC unroll 4") for (int q = 0; q < 4; ++q) {
    r[2 * q] = lane_pairs<0x88>(u[q], u[q + 4]);
    r[2 * q + 1] = lane_pairs<0xdd>(u[q], u[q + 4]);
  }
}

/// Sorts `count` <= 8 * Registers canonical values, none NaN, with a bitonic network held in
/// `Registers` AVX-512 registers (the rest padded with +inf): a fixed sequence of min/max with
/// no branch on the data, about three times faster than counting for sixty values. The sorted
/// order of canonical values is unique, so the bits equal any other sort's.
template <int Registers>
__attribute__((target("avx512f"))) void network_sort(const double* values, std::size_t count,
                                                     double* sorted) {
  __m512d r[Registers];
  const __m512d padding = _mm512_set1_pd(std::numeric_limits<double>::infinity());
  const auto lanes_of = [count](int q) {
    const std::size_t first = 8 * static_cast<std::size_t>(q);
    const std::size_t take = count > first ? std::min<std::size_t>(8, count - first) : 0;
    return static_cast<__mmask8>((1u << take) - 1);
  };
  _Pragma("GCC unroll 16") for (int q = 0; q < Registers; ++q) {
    r[q] = _mm512_mask_loadu_pd(padding, lanes_of(q), values + 8 * q);
  }
  const __m512i lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  // Whole groups of eight registers start from eight sorted values each, odd registers
  // reversed to descend as the bitonic stages below expect.
  constexpr int kFirstStage = Registers % 8 == 0 ? 16 : 2;
  if constexpr (Registers % 8 == 0) {
    _Pragma("GCC unroll 2") for (int q = 0; q < Registers; q += 8) sort_eights(r + q);
    const __m512i reversed = _mm512_set_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    _Pragma("GCC unroll 8") for (int q = 1; q < Registers; q += 2) {
      r[q] = _mm512_mask_permutexvar_pd(r[q], 0xff, reversed, r[q]);
    }
  }
  // Element i = 8 * register + lane; blocks of k are sorted ascending where i & k is 0, else
  // descending, by compare-exchanges at distances j = k / 2 down to 1.
  _Pragma("GCC unroll 8") for (int k = kFirstStage; k <= 8 * Registers; k *= 2) {
    _Pragma("GCC unroll 8") for (int j = k / 2; j > 0; j /= 2) {
      if (j >= 8) {
        // Partners in another register, lane for lane.
        _Pragma("GCC unroll 16") for (int q = 0; q < Registers; ++q) {
          const int p = q ^ (j / 8);
          if (p < q) continue;
          const __m512d low = lane_min(r[q], r[p]);
          const __m512d high = lane_max(r[q], r[p]);
          const bool ascending = ((8 * q) & k) == 0;
          r[q] = ascending ? low : high;
          r[p] = ascending ? high : low;
        }
        continue;
      }
      const __m512i partner = _mm512_xor_si512(lanes, _mm512_set1_epi64(j));
      _Pragma("GCC unroll 16") for (int q = 0; q < Registers; ++q) {
        // The lanes that keep the larger of their pair (unrolled, the mask is a constant).
        unsigned keep_high = 0;
        _Pragma("GCC unroll 8") for (int lane = 0; lane < 8; ++lane) {
          const bool upper = (lane & j) != 0;
          const bool ascending = ((8 * q + lane) & k) == 0;
          if (upper == ascending) keep_high |= 1u << lane;
        }
        const __m512d other = _mm512_mask_permutexvar_pd(r[q], 0xff, partner, r[q]);
        r[q] = _mm512_mask_blend_pd(static_cast<__mmask8>(keep_high), lane_min(r[q], other),
                                    lane_max(r[q], other));
      }
    }
  }
  _Pragma("GCC unroll 16") for (int q = 0; q < Registers; ++q) {
    _mm512_mask_storeu_pd(sorted + 8 * q, lanes_of(q), r[q]);
  }
}

/// Sorts up to kNetworkSortLimit canonical values, none NaN, with the smallest network that
/// holds them.
void network_sort(const double* values, std::size_t count, double* sorted) {
  if (count <= 8) {
    network_sort<1>(values, count, sorted);
  } else if (count <= 16) {
    network_sort<2>(values, count, sorted);
  } else if (count <= 32) {
    network_sort<4>(values, count, sorted);
  } else if (count <= 64) {
    network_sort<8>(values, count, sorted);
  } else {
    network_sort<16>(values, count, sorted);
  }
}

const bool kHaveAvx512 = __builtin_cpu_supports("avx512f");

/// Merges sorted `a` and `b` (canonical, no NaN) into `out` without a branch on the values
/// (which a comparison merge would mispredict half the time); equal values are equal bits, so
/// which side an equal one comes from does not matter.
void merge_sorted(const double* a, std::size_t a_count, const double* b, std::size_t b_count,
                  double* out) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a_count && j < b_count) {
    const bool from_b = b[j] < a[i];
    *out++ = from_b ? b[j] : a[i];
    j += from_b;
    i += !from_b;
  }
  out = std::copy(a + i, a + a_count, out);
  std::copy(b + j, b + b_count, out);
}

/// Values whose merge scratch block_merge_sort keeps for the next sort on its thread.
constexpr std::size_t kScratchKept = std::size_t{1} << 16;

/// Sorts canonical values, none NaN, in blocks of `block` by `sort_block`, then merges the
/// blocks pairwise.
void block_merge_sort(std::span<const double> canonical, std::vector<double>& sorted,
                      std::size_t block, void (*sort_block)(const double*, std::size_t, double*)) {
  const std::size_t count = canonical.size();
  sorted.resize(count);
  for (std::size_t first = 0; first < count; first += block) {
    sort_block(canonical.data() + first, std::min(block, count - first), sorted.data() + first);
  }
  thread_local std::vector<double> scratch;
  scratch.resize(count);
  double* from = sorted.data();
  double* to = scratch.data();
  for (std::size_t width = block; width < count; width *= 2) {
    for (std::size_t first = 0; first < count; first += 2 * width) {
      const std::size_t middle = std::min(first + width, count);
      const std::size_t last = std::min(first + 2 * width, count);
      merge_sorted(from + first, middle - first, from + middle, last - middle, to + first);
    }
    std::swap(from, to);
  }
  if (from != sorted.data()) std::copy(from, from + count, sorted.data());
  // A rare huge group (a long session of one key) does not keep its scratch for good.
  if (scratch.capacity() > kScratchKept) {
    scratch.clear();
    scratch.shrink_to_fit();
  }
}

}  // namespace

MeasureNeeds needs_for(const std::vector<MetricConfig>& metrics, bool alert_min_max,
                       double relative_accuracy) {
  MeasureNeeds needs;
  needs.relative_accuracy = relative_accuracy;
  needs.min_max = alert_min_max;
  using Kind = MetricConfig::Kind;
  for (const auto& metric : metrics) {
    switch (metric.kind) {
      case Kind::count:
        break;
      case Kind::sum:
      case Kind::avg:
        needs.sum = true;
        break;
      case Kind::variance:
      case Kind::variance_pop:
      case Kind::stddev:
      case Kind::stddev_pop:
        needs.sum = true;
        needs.squares = true;
        break;
      case Kind::min:
      case Kind::max:
        needs.min_max = true;
        break;
      case Kind::percentile:
      case Kind::percentile_disc:
        needs.values = true;
        break;
      case Kind::approx_percentile:
        needs.sketch = true;
        break;
      case Kind::trend:
        needs.sum = true;
        needs.trend = true;
        break;
      case Kind::first:
      case Kind::last:
        needs.first_last = true;
        break;
    }
  }
  return needs;
}

namespace {

/// Binades between the runs' exponents up to which sum_runs() sums at one scale: a run's
/// mantissa sum (below 2^63) shifted stays below 2^94, its squares (below 2^116) below 2^178.
constexpr std::uint32_t kNarrowSpread = 31;
/// Values up to which the sums of all runs stay below 2^127 and 2^192 at that scale.
constexpr std::size_t kNarrowCount = std::size_t{1} << 20;
/// Values one run takes at most: 1024 mantissas (below 2^53) sum below 2^63.
constexpr std::uint32_t kRunValues = 1024;

/// Runs shorter than this are summed in place, one 128-bit square per value: a call of
/// sum_run() costs more than it saves, and its halves cost more than that square one value at a
/// time.
constexpr std::uint32_t kShortRun = 16;

/// Returns the mantissa sum (signed) and, with `squares`, the sum of squared mantissas of
/// `count` (<= kRunValues) normal values of one binade. Squares are summed in 32-bit halves
/// (high^2, high*low, low^2's two halves: each sum below 2^63 for 1024 values) so the loop has
/// no 128-bit arithmetic and vectorises; compiled for AVX-512 and AVX2 too, the same integer
/// sums either way.
__attribute__((target_clones("avx512f", "avx2", "default"))) void sum_run(
    const double* values, std::uint32_t count, bool squares, std::int64_t* mantissa_sum,
    unsigned __int128* square_sum) {
  std::uint64_t mantissas = 0;  // two's complement
  std::uint64_t high_squares = 0;
  std::uint64_t cross = 0;
  std::uint64_t low_high = 0;
  std::uint64_t low_low = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint64_t bits = math::to_bits(values[i]);
    const std::uint64_t mantissa = (bits & exact::kFractionMask) | exact::kImplicitBit;
    const std::uint64_t sign = 0 - (bits >> 63);
    mantissas += (mantissa ^ sign) - sign;
    const auto high = static_cast<std::uint32_t>(mantissa >> 32);
    const auto low = static_cast<std::uint32_t>(mantissa);
    const std::uint64_t low_square = static_cast<std::uint64_t>(low) * low;
    high_squares += static_cast<std::uint64_t>(high) * high;
    cross += static_cast<std::uint64_t>(high) * low;
    low_high += low_square >> 32;
    low_low += low_square & 0xffffffff;
  }
  *mantissa_sum = static_cast<std::int64_t>(mantissas);
  // m^2 = high^2 * 2^64 + 2 * high * low * 2^32 + low^2.
  *square_sum = squares ? (static_cast<unsigned __int128>(high_squares) << 64) +
                              (static_cast<unsigned __int128>(cross) << 33) +
                              (static_cast<unsigned __int128>(low_high) << 32) + low_low
                        : 0;
}

}  // namespace

bool DerivedMeasure::sum_runs(std::span<const double> values, bool sorted, bool squares) {
  runs_.clear();
  const std::size_t size = values.size();
  // Runs of one exponent (sorted values come in few); a zero, a change of sign or a run's
  // limit ends one too, which changes no sum: runs are added exactly.
  const auto sign_and_exponent = [&](std::size_t i) {
    return static_cast<std::uint32_t>(math::to_bits(values[i]) >> 52);
  };
  for (std::size_t i = 0; i < size;) {
    const std::uint64_t bits = math::to_bits(values[i]);
    const std::uint32_t biased = static_cast<std::uint32_t>(bits >> 52) & 0x7ff;
    if (biased == 0x7ff || (biased == 0 && (bits << 1) != 0)) return false;  // special, subnormal
    if (biased == 0) {                                                       // zero
      ++i;
      continue;
    }
    const std::uint32_t field = sign_and_exponent(i);
    const std::size_t limit = std::min<std::size_t>(size, i + kRunValues);
    std::size_t end = i + 1;
    if (sorted) {
      // In sort_key order each sign and exponent is one block of values: find its end by
      // halving, in one step when the block reaches the limit.
      std::size_t after = limit;
      if (sign_and_exponent(limit - 1) != field) {
        while (after - end > 0) {
          const std::size_t middle = end + (after - end) / 2;
          if (sign_and_exponent(middle) == field) {
            end = middle + 1;
          } else {
            after = middle;
          }
        }
      }
      end = after;
    } else {
      while (end < limit && sign_and_exponent(end) == field) ++end;
    }
    ExponentRun run{biased, static_cast<std::uint32_t>(end - i), 0, 0};
    if (run.values >= kShortRun) {
      sum_run(values.data() + i, run.values, squares, &run.mantissas, &run.squares);
    } else {
      for (std::size_t k = i; k < end; ++k) {
        const std::uint64_t mantissa =
            (math::to_bits(values[k]) & exact::kFractionMask) | exact::kImplicitBit;
        const std::uint64_t sign = 0 - (math::to_bits(values[k]) >> 63);
        run.mantissas += static_cast<std::int64_t>((mantissa ^ sign) - sign);
        if (squares) run.squares += static_cast<exact::UInt128>(mantissa) * mantissa;
      }
    }
    runs_.push_back(run);
    i = end;
  }
  if (runs_.empty()) return true;  // only zeros
  std::uint32_t low = 0x7ff;
  std::uint32_t high = 0;
  for (const ExponentRun& r : runs_) {
    low = r.biased < low ? r.biased : low;
    high = r.biased > high ? r.biased : high;
  }
  if (high - low > kNarrowSpread || values.size() > kNarrowCount) {
    // Wide: each run's sums, exactly, one by one (still far fewer than the values).
    for (const ExponentRun& r : runs_) {
      std::uint32_t digits[8];
      const std::int64_t m = r.mantissas;
      const std::uint64_t magnitude = m < 0 ? 0 - static_cast<std::uint64_t>(m) : m;
      const int lowest = static_cast<int>(r.biased) - 1075 + exact::kBiasBits;
      moments.sum.add_partial(exact::words_number(&magnitude, 1, lowest, m < 0, digits), 0);
      if (squares) {
        const std::uint64_t words[2] = {static_cast<std::uint64_t>(r.squares),
                                        static_cast<std::uint64_t>(r.squares >> 64)};
        moments.sum_of_squares.add_partial(
            exact::words_number(words, 2,
                                2 * (static_cast<int>(r.biased) - 1075) + exact::kBiasBits, false,
                                digits),
            0);
      }
    }
    return true;
  }
  // Narrow (sensor readings): one integer at the scale of the lowest exponent per sum.
  exact::UInt128 sum = 0;  // two's complement
  std::uint64_t square[3] = {0, 0, 0};
  for (const ExponentRun& r : runs_) {
    const unsigned shift = r.biased - low;
    sum += static_cast<exact::UInt128>(static_cast<__int128>(r.mantissas)) << shift;
    if (squares) {
      const unsigned twice = 2 * shift;  // < 64
      const std::uint64_t low_word = static_cast<std::uint64_t>(r.squares);
      const std::uint64_t high_word = static_cast<std::uint64_t>(r.squares >> 64);
      const std::uint64_t a0 = low_word << twice;
      const std::uint64_t a1 = (high_word << twice) | ((low_word >> 1) >> (63 - twice));
      const std::uint64_t a2 = (high_word >> 1) >> (63 - twice);
      exact::UInt128 carry = static_cast<exact::UInt128>(square[0]) + a0;
      square[0] = static_cast<std::uint64_t>(carry);
      carry = static_cast<exact::UInt128>(square[1]) + a1 + static_cast<std::uint64_t>(carry >> 64);
      square[1] = static_cast<std::uint64_t>(carry);
      square[2] += a2 + static_cast<std::uint64_t>(carry >> 64);
    }
  }
  const bool negative = static_cast<__int128>(sum) < 0;
  const exact::UInt128 magnitude = negative ? 0 - sum : sum;
  const std::uint64_t words[2] = {static_cast<std::uint64_t>(magnitude),
                                  static_cast<std::uint64_t>(magnitude >> 64)};
  moments.sum.add_words(words, 2, static_cast<int>(low) - 1075 + exact::kBiasBits, negative);
  if (squares) {
    moments.sum_of_squares.add_words(square, 3,
                                     2 * (static_cast<int>(low) - 1075) + exact::kBiasBits, false);
  }
  return true;
}

void DerivedMeasure::compute(std::span<const double> values, bool sorted, bool squares) {
  moments.count = values.size();
  moments.sum.clear();
  moments.sum_of_squares.clear();
  min_key = ~std::uint64_t{0};
  max_key = 0;
  if (values.empty()) return;
  if (sorted) {
    min_key = sort_key(values.front());
    max_key = sort_key(values.back());
  } else {
    for (double x : values) {
      const std::uint64_t key = sort_key(x);
      min_key = key < min_key ? key : min_key;
      max_key = key > max_key ? key : max_key;
    }
  }
  if (sum_runs(values, sorted, squares)) return;
  moments.sum.clear();
  moments.sum_of_squares.clear();
  for (double x : values) {
    moments.sum.add(x);
    if (squares) moments.sum_of_squares.add_product(x, x);
  }
}

namespace {

/// Returns what records keep for `needs`: derived parts left out.
MeasureNeeds stored_needs(MeasureNeeds needs) {
  if (needs.derive_from_values && needs.values && !needs.trend && (needs.sum || needs.min_max)) {
    needs.sum = false;
    needs.squares = false;
    needs.min_max = false;
  } else {
    needs.derive_from_values = false;
  }
  return needs;
}

}  // namespace

StateLayout::StateLayout(const MeasureNeeds& wanted, std::size_t measures)
    : needs_(stored_needs(wanted)),
      derives_(needs_.derive_from_values),
      measures_(measures),
      mapping_(wanted.sketch ? DDSketchMapping(wanted.relative_accuracy) : DDSketchMapping()) {
  const MeasureNeeds& needs = needs_;
  counts_only_ = needs.values && !needs.sum && !needs.trend && !needs.min_max &&
                 !needs.first_last && !needs.sketch;
  header_bytes_ = counts_only_ ? kCountsOffset : kRowsOffset;
  // A measure's block starts with its count, then its exact sum and sum of squares when kept:
  // a window without variance has no room for squares (the demo's sliding trend record is 120
  // bytes rather than 152).
  std::size_t bytes = sizeof(std::uint64_t);
  // Returns where a part goes, and takes room for it when the needs keep it.
  const auto place = [&](bool kept, std::size_t size) {
    const std::size_t offset = bytes;
    if (kept) bytes += round_up(size);
    return offset;
  };
  sum_offset_ = place(needs.sum, sizeof(ExactSum));
  squares_offset_ = place(needs.squares, sizeof(ExactSum));
  trend_offset_ = place(needs.trend, sizeof(TrendSums));
  min_max_offset_ = place(needs.min_max, sizeof(MinMax));
  first_last_offset_ = place(needs.first_last, sizeof(FirstLast));
  values_offset_ = place(needs.values && !counts_only_, sizeof(ValueChain));
  sketch_offset_ = place(needs.sketch, sizeof(DDSketch*));
  measure_bytes_ = bytes;
  record_bytes_ = header_bytes_ + measures * measure_bytes_;
}

void StateLayout::construct(std::byte* record) const {
  events(record) = 0;
  if (counts_only_) {
    new (record + kRowsOffset) ValueChain();
    // A measure's block is its count alone: the counts as one array, which counts() indexes.
    new (record + kCountsOffset) std::uint64_t[measures_]();
    return;
  }
  for (std::size_t m = 0; m < measures_; ++m) {
    std::byte* block = record + measure_offset(m);
    new (block) std::uint64_t(0);
    if (needs_.sum) new (block + sum_offset_) ExactSum();
    if (needs_.squares) new (block + squares_offset_) ExactSum();
    if (needs_.trend) new (block + trend_offset_) TrendSums();
    if (needs_.min_max) new (block + min_max_offset_) MinMax();
    if (needs_.first_last) new (block + first_last_offset_) FirstLast();
    if (needs_.values && !counts_only_) new (block + values_offset_) ValueChain();
    if (needs_.sketch) new (block + sketch_offset_) DDSketch*(nullptr);
  }
}

void StateLayout::destroy(std::byte* record) const {
  for (std::size_t m = 0; m < measures_; ++m) {
    std::byte* block = record + measure_offset(m);
    if (needs_.sum) part<ExactSum>(block, sum_offset_).~ExactSum();
    if (needs_.squares) part<ExactSum>(block, squares_offset_).~ExactSum();
    if (needs_.trend) part<TrendSums>(block, trend_offset_).~TrendSums();
    if (needs_.sketch) delete part<DDSketch*>(block, sketch_offset_);
  }
}

DDSketch& StateLayout::sketch_of(std::byte* block) const {
  DDSketch*& sketch = part<DDSketch*>(block, sketch_offset_);
  if (sketch == nullptr) sketch = new DDSketch(mapping_);
  return *sketch;
}

void StateLayout::add_to_sketch(std::byte* block, double value) const {
  sketch_of(block).add(value);
}

void StateLayout::add_partial(std::byte* record, std::size_t measure, const MeasurePartial& partial,
                              std::span<const SketchRun> sketch, const FoldColumns& columns,
                              const std::uint32_t* order, const PanePartial& chunk) const {
  if (partial.count == 0) return;
  std::byte* block = record + measure_offset(measure);
  const std::size_t base = measure * columns.rows;
  // Calls take(value, offset) for each non-null value of the chunk.
  auto each_value = [&](auto take) {
    for (std::uint32_t p = chunk.first; p < chunk.first + chunk.count; ++p) {
      const std::uint32_t row = order[p];
      if (columns.valid[base + row] != 0) {
        take(columns.values[base + row], columns.times[row] - chunk.pane_start);
      }
    }
  };
  std::uint32_t digits[exact::PartialSum::kLimbs + 1];
  part<std::uint64_t>(block, 0) += partial.count;
  if (needs_.sum) {
    ExactSum& sum = part<ExactSum>(block, sum_offset_);
    if (partial.sum.wide != 0) {
      each_value([&](double x, std::int64_t) { sum.add(x); });
    } else {
      sum.add_partial(partial.sum.to_number(digits), partial.sum.flags);
    }
  }
  if (needs_.squares) {
    ExactSum& squares = part<ExactSum>(block, squares_offset_);
    if (partial.squares.wide != 0) {
      each_value([&](double x, std::int64_t) { squares.add_product(x, x); });
    } else {
      squares.add_partial(partial.squares.to_number(digits), partial.squares.flags);
    }
  }
  if (needs_.trend) {
    TrendSums& trend = part<TrendSums>(block, trend_offset_);
    if (partial.time_products.wide != 0) {
      each_value([&](double x, std::int64_t offset) { trend.add(offset, x); });
    } else {
      trend.add_partial(partial.times, partial.time_squares,
                        partial.time_products.to_number(digits), partial.time_products.flags);
    }
  }
  if (needs_.min_max) {
    MinMax& extremes = part<MinMax>(block, min_max_offset_);
    extremes.min_key = std::min(extremes.min_key, partial.min_key);
    extremes.max_key = std::max(extremes.max_key, partial.max_key);
  }
  if (needs_.first_last) {
    part<FirstLast>(block, first_last_offset_)
        .take(partial.first_time, partial.first_key, partial.last_time, partial.last_key);
  }
  if (needs_.sketch) {
    DDSketch& target = sketch_of(block);
    for (const SketchRun& run : sketch) {
      if (run.code != kNoSketchCode) target.add_code(run.code, run.count);
    }
  }
}

void StateLayout::merge(std::byte* into, const std::byte* from, std::int64_t shift_ns) const {
  events(into) += events(from);
  for (std::size_t m = 0; m < measures_; ++m) {
    const std::uint64_t other_count = count(from, m);
    if (other_count == 0) continue;
    std::byte* to = into + measure_offset(m);
    const std::byte* source = from + measure_offset(m);
    if (needs_.trend) {
      part<TrendSums>(to, trend_offset_)
          .merge_shifted(part<TrendSums>(source, trend_offset_), other_count,
                         part<ExactSum>(source, sum_offset_), shift_ns);
    }
    part<std::uint64_t>(to, 0) += other_count;
    if (needs_.sum) part<ExactSum>(to, sum_offset_).merge(part<ExactSum>(source, sum_offset_));
    if (needs_.squares) {
      part<ExactSum>(to, squares_offset_).merge(part<ExactSum>(source, squares_offset_));
    }
    if (needs_.min_max) {
      MinMax& extremes = part<MinMax>(to, min_max_offset_);
      const MinMax& other = part<MinMax>(source, min_max_offset_);
      extremes.min_key = std::min(extremes.min_key, other.min_key);
      extremes.max_key = std::max(extremes.max_key, other.max_key);
    }
    if (needs_.first_last) {
      const FirstLast& other = part<FirstLast>(source, first_last_offset_);
      part<FirstLast>(to, first_last_offset_)
          .take(other.first_time + shift_ns, other.first_key, other.last_time + shift_ns,
                other.last_key);
    }
    if (needs_.sketch) {
      DDSketch*& sketch = part<DDSketch*>(to, sketch_offset_);
      const DDSketch* other = part<DDSketch*>(source, sketch_offset_);
      if (other != nullptr) {
        if (sketch == nullptr) {
          sketch = new DDSketch(*other);
        } else {
          sketch->merge(*other);
        }
      }
    }
  }
}

std::optional<double> StateLayout::percentile_value(const MetricConfig& metric,
                                                    std::span<const double> sorted) {
  if (sorted.empty()) return std::nullopt;
  if (metric.kind == MetricConfig::Kind::percentile_disc) {
    return discrete_percentile(sorted.data(), sorted.size(), metric.quantile);
  }
  return continuous_percentile(sorted.data(), sorted.size(), metric.quantile);
}

std::optional<double> StateLayout::value(const std::byte* record, std::size_t measure,
                                         const MetricConfig& metric, std::span<const double> sorted,
                                         const DerivedMeasure* derived) const {
  using Kind = MetricConfig::Kind;
  const std::uint64_t values = count(record, measure);
  if (metric.kind == Kind::count) return static_cast<double>(values);
  if (values == 0) return std::nullopt;
  const std::byte* block = record + measure_offset(measure);
  // Sums and extremes come from the record, or from the kept values for a derived layout.
  LDH_EXPECTS(!derives_ || derived != nullptr,
              "a result of a derived layout came without its values");
  const auto sum = [&]() -> const ExactSum& {
    return derives_ ? derived->moments.sum : part<ExactSum>(block, sum_offset_);
  };
  const auto variance = [&](bool sample, bool root) {
    return deviation(
        values, sum(),
        derives_ ? derived->moments.sum_of_squares : part<ExactSum>(block, squares_offset_), sample,
        root);
  };
  const auto extreme = [&](bool low) {
    if (derives_) return low ? derived->min_key : derived->max_key;
    const MinMax& extremes = part<MinMax>(block, min_max_offset_);
    return low ? extremes.min_key : extremes.max_key;
  };
  switch (metric.kind) {
    case Kind::count:
      break;
    case Kind::sum:
      return sum().to_double();
    case Kind::avg:
      return average(values, sum());
    case Kind::variance:
      return variance(true, false);
    case Kind::variance_pop:
      return variance(false, false);
    case Kind::stddev:
      return variance(true, true);
    case Kind::stddev_pop:
      return variance(false, true);
    case Kind::min:
      return value_of_sort_key(extreme(true));
    case Kind::max:
      return value_of_sort_key(extreme(false));
    case Kind::first:
      return value_of_sort_key(part<FirstLast>(block, first_last_offset_).first_key);
    case Kind::last:
      return value_of_sort_key(part<FirstLast>(block, first_last_offset_).last_key);
    case Kind::trend:  // never derived: a layout with trend keeps its sums
      return trend(values, part<ExactSum>(block, sum_offset_),
                   part<TrendSums>(block, trend_offset_));
    case Kind::percentile:
    case Kind::percentile_disc:
      return percentile_value(metric, sorted);
    case Kind::approx_percentile: {
      const DDSketch* sketch = part<DDSketch*>(block, sketch_offset_);
      return sketch != nullptr ? std::optional<double>(sketch->quantile(metric.quantile))
                               : std::nullopt;
    }
  }
  return std::nullopt;
}

std::size_t StateLayout::heap_bytes(const std::byte* record) const {
  std::size_t bytes = 0;
  for (std::size_t m = 0; m < measures_; ++m) {
    const std::byte* block = record + measure_offset(m);
    if (needs_.sum) bytes += part<ExactSum>(block, sum_offset_).heap_bytes();
    if (needs_.squares) bytes += part<ExactSum>(block, squares_offset_).heap_bytes();
    if (needs_.trend) bytes += part<TrendSums>(block, trend_offset_).heap_bytes();
    if (needs_.sketch) {
      const DDSketch* sketch = part<DDSketch*>(block, sketch_offset_);
      if (sketch != nullptr) bytes += sketch->memory_bytes();
    }
  }
  return bytes;
}

void sort_values(std::span<const double> canonical, std::vector<double>& sorted) {
  if (kHaveAvx512 &&
      std::none_of(canonical.begin(), canonical.end(), [](double x) { return math::is_nan(x); })) {
    if (canonical.size() <= kNetworkSortLimit) {
      sorted.resize(canonical.size());
      network_sort(canonical.data(), canonical.size(), sorted.data());
    } else {
      block_merge_sort(canonical, sorted, kNetworkSortLimit, network_sort<16>);
    }
    return;
  }
  sort_values_portable(canonical, sorted);
}

void sort_values_portable(std::span<const double> canonical, std::vector<double>& sorted) {
  sorted.resize(canonical.size());
  const bool any_nan =
      std::any_of(canonical.begin(), canonical.end(), [](double x) { return math::is_nan(x); });
  if (!any_nan && canonical.size() <= kCountingSortLimit) {
    counting_sort(canonical.data(), canonical.size(), sorted.data());
    return;
  }
  if (!any_nan) {
    block_merge_sort(canonical, sorted, kCountingSortBlock, counting_sort);
    return;
  }
  std::copy(canonical.begin(), canonical.end(), sorted.begin());
  std::sort(sorted.begin(), sorted.end(),
            [](double a, double b) { return sort_key(a) < sort_key(b); });
}

}  // namespace ldh
