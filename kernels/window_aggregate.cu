#include "kernels/window_aggregate.h"

#include <thrust/iterator/counting_iterator.h>

#include <algorithm>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>
#include <cub/device/device_select.cuh>
#include <string>

#include "kernels/cuda_check.cuh"
#include "kernels/device.h"
#include "kernels/launch.cuh"
#include "kernels/memory_pool.h"
#include "kernels/stream.cuh"

namespace ldh {
namespace {

__global__ void make_sort_keys(FoldColumns columns, FoldPlan plan, std::uint64_t* keys,
                               std::uint32_t* order) {
  for (std::size_t i = first_row(); i < columns.rows; i += row_stride()) {
    keys[i] = plan.gap > 0 ? time_sort_key(columns.times[i])
                           : fold_sort_key(columns.times[i], columns.hashes[i], plan);
    order[i] = static_cast<std::uint32_t>(i);
  }
}

/// Sessions' second sort: the hashes of the rows in time order, and that order.
__global__ void make_hash_keys(FoldColumns columns, const std::uint32_t* sorted_order,
                               std::uint64_t* keys, std::uint32_t* order) {
  for (std::size_t i = first_row(); i < columns.rows; i += row_stride()) {
    order[i] = sorted_order[i];
    keys[i] = columns.hashes[sorted_order[i]];
  }
}

/// Marks where groups start, as the position itself (0 elsewhere) for the max-scan.
__global__ void mark_groups(FoldColumns columns, FoldPlan plan, const std::uint64_t* keys,
                            const std::uint32_t* order, std::uint8_t* group_flags,
                            std::uint32_t* group_marks) {
  for (std::size_t i = first_row(); i < columns.rows; i += row_stride()) {
    const auto position = static_cast<std::uint32_t>(i);
    const bool group = starts_group(columns, keys, order, position, plan);
    group_flags[i] = group ? 1 : 0;
    group_marks[i] = group ? position : 0;
  }
}

__global__ void mark_partials(std::uint32_t rows, const std::uint8_t* group_flags,
                              const std::uint32_t* group_starts, std::uint8_t* partial_flags) {
  for (std::size_t i = first_row(); i < rows; i += row_stride()) {
    const auto position = static_cast<std::uint32_t>(i);
    partial_flags[i] = starts_partial(group_flags[i] != 0, position, group_starts[i]) ? 1 : 0;
  }
}

__global__ void gather_rows(FoldColumns columns, const std::uint32_t* order, std::int64_t* times,
                            double* values, std::uint8_t* valid) {
  for (std::size_t i = first_row(); i < columns.rows; i += row_stride()) {
    gather_sorted(columns, order, static_cast<std::uint32_t>(i), times, values, valid);
  }
}

__global__ void make_partials(std::uint32_t rows, const std::uint32_t* firsts,
                              const int* partial_count, const std::int64_t* sorted_times,
                              FoldPlan plan, PanePartial* partials) {
  const auto count = static_cast<std::size_t>(*partial_count);
  for (std::size_t i = first_row(); i < count; i += row_stride()) {
    PanePartial partial;
    partial.first = firsts[i];
    partial.count = (i + 1 < count ? firsts[i + 1] : rows) - partial.first;
    partial.pane_start = partial_base(sorted_times[partial.first], plan);
    partials[i] = partial;
  }
}

/// One thread per (partial, measure).
__global__ void fold_partials(FoldColumns sorted, const PanePartial* partials,
                              const int* partial_count, FoldNeeds needs, MeasurePartial* measures) {
  const std::size_t total = static_cast<std::size_t>(*partial_count) * sorted.measures;
  for (std::size_t i = first_row(); i < total; i += row_stride()) {
    const std::size_t partial = i / sorted.measures;
    const auto measure = static_cast<std::uint32_t>(i % sorted.measures);
    fold_measure(sorted, partials[partial], measure, needs, measures[i]);
  }
}

// Histograms: each (partial, measure) is one slot of partial.count codes (code_position), sorted
// per slot and cut into runs of equal codes.

__global__ void mark_partial_rows(const PanePartial* partials, const int* partial_count,
                                  std::uint32_t* partial_of) {
  const auto count = static_cast<std::size_t>(*partial_count);
  for (std::size_t i = first_row(); i < count; i += row_stride()) {
    const PanePartial partial = partials[i];
    for (std::uint32_t p = partial.first; p < partial.first + partial.count; ++p) {
      partial_of[p] = static_cast<std::uint32_t>(i);
    }
  }
}

__global__ void make_codes(FoldColumns sorted, const PanePartial* partials,
                           const std::uint32_t* partial_of, DDSketchMapping mapping,
                           std::uint64_t* codes, std::uint32_t* slots) {
  const std::size_t total = std::size_t{sorted.rows} * sorted.measures;
  for (std::size_t i = first_row(); i < total; i += row_stride()) {
    const auto measure = static_cast<std::uint32_t>(i / sorted.rows);
    const auto position = static_cast<std::uint32_t>(i % sorted.rows);
    const std::uint32_t partial = partial_of[position];
    const std::size_t at = code_position(partials[partial], sorted.measures, measure, position);
    codes[at] = value_code(sorted, measure, position, mapping);
    slots[at] = partial * sorted.measures + measure;
  }
}

__global__ void make_slots(const PanePartial* partials, std::size_t slot_count,
                           std::uint32_t measures, std::uint32_t* begins, std::uint32_t* ends,
                           std::uint8_t* slot_starts) {
  for (std::size_t s = first_row(); s < slot_count; s += row_stride()) {
    const PanePartial partial = partials[s / measures];
    const auto measure = static_cast<std::uint32_t>(s % measures);
    const auto begin =
        static_cast<std::uint32_t>(code_position(partial, measures, measure, partial.first));
    begins[s] = begin;
    ends[s] = begin + partial.count;
    slot_starts[begin] = 1;
  }
}

__global__ void mark_runs(const std::uint64_t* codes, const std::uint8_t* slot_starts,
                          std::size_t count, std::uint8_t* run_flags) {
  for (std::size_t i = first_row(); i < count; i += row_stride()) {
    run_flags[i] = (slot_starts[i] != 0 || codes[i] != codes[i - 1]) ? 1 : 0;
  }
}

__global__ void make_runs(const std::uint64_t* codes, const std::uint32_t* slots,
                          const std::uint32_t* run_starts, const int* run_count, std::size_t total,
                          SketchRun* runs) {
  const auto count = static_cast<std::size_t>(*run_count);
  for (std::size_t r = first_row(); r < count; r += row_stride()) {
    const std::uint32_t start = run_starts[r];
    const std::size_t end = r + 1 < count ? run_starts[r + 1] : total;
    runs[r] = SketchRun{codes[start], slots[start], static_cast<std::uint32_t>(end - start)};
  }
}

struct MaxOf {
  __device__ std::uint32_t operator()(std::uint32_t a, std::uint32_t b) const {
    return a > b ? a : b;
  }
};

/// Where each array of a fold of up to `capacity` rows lives in one device block.
struct FoldArena {
  std::size_t times, hashes, keys, key_valid, values, valid;
  std::size_t sorted_times, sorted_values, sorted_valid;
  std::size_t sort_keys[2], order[2];
  std::size_t group_flags, group_marks, group_starts, partial_flags, firsts, partial_count;
  std::size_t partials, measures, scratch;
  std::size_t scratch_bytes = 0;
};

class DevicePaneAggregator final : public PaneAggregator {
 public:
  explicit DevicePaneAggregator(int device) : device_(device) {
    name_ = device::select_device(device);
    stream_ = std::make_unique<Stream>();
  }

  std::string describe() const override { return name_; }

 protected:
  void fold_rows(const FoldColumns& columns, const FoldPlan& plan, FoldNeeds needs,
                 PanePartials& out) override {
    const std::uint32_t n = columns.rows;
    LDH_CUDA_TRY(cudaSetDevice(device_));
    reserve(n, columns.key_fields, columns.measures);
    cudaStream_t stream = stream_->get();
    FoldColumns on_device = columns;
    on_device.times = copy_in(arena_.times, columns.times, n, stream);
    on_device.hashes = copy_in(arena_.hashes, columns.hashes, n, stream);
    on_device.keys =
        copy_in(arena_.keys, columns.keys, std::size_t{n} * columns.key_fields, stream);
    on_device.key_valid =
        copy_in(arena_.key_valid, columns.key_valid, std::size_t{n} * columns.key_fields, stream);
    on_device.values =
        copy_in(arena_.values, columns.values, std::size_t{n} * columns.measures, stream);
    on_device.valid =
        copy_in(arena_.valid, columns.valid, std::size_t{n} * columns.measures, stream);

    auto* keys_in = block_.at<std::uint64_t>(arena_.sort_keys[0]);
    auto* keys_out = block_.at<std::uint64_t>(arena_.sort_keys[1]);
    auto* order_in = block_.at<std::uint32_t>(arena_.order[0]);
    auto* order_out = block_.at<std::uint32_t>(arena_.order[1]);
    auto* group_flags = block_.at<std::uint8_t>(arena_.group_flags);
    auto* group_marks = block_.at<std::uint32_t>(arena_.group_marks);
    auto* group_starts = block_.at<std::uint32_t>(arena_.group_starts);
    auto* partial_flags = block_.at<std::uint8_t>(arena_.partial_flags);
    auto* firsts = block_.at<std::uint32_t>(arena_.firsts);
    auto* partial_count = block_.at<int>(arena_.partial_count);
    auto* partials = block_.at<PanePartial>(arena_.partials);
    auto* measures = block_.at<MeasurePartial>(arena_.measures);
    void* scratch = block_.at<void>(arena_.scratch);

    make_sort_keys<<<row_blocks(n), kRowThreads, 0, stream>>>(on_device, plan, keys_in, order_in);
    LDH_CUDA_CHECK_LAUNCH();
    std::size_t bytes = arena_.scratch_bytes;
    LDH_CUDA_TRY(cub::DeviceRadixSort::SortPairs(scratch, bytes, keys_in, keys_out, order_in,
                                                 order_out, n, 0, 64, stream));
    if (plan.gap > 0) {
      make_hash_keys<<<row_blocks(n), kRowThreads, 0, stream>>>(on_device, order_out, keys_in,
                                                                order_in);
      LDH_CUDA_CHECK_LAUNCH();
      bytes = arena_.scratch_bytes;
      LDH_CUDA_TRY(cub::DeviceRadixSort::SortPairs(scratch, bytes, keys_in, keys_out, order_in,
                                                   order_out, n, 0, 64, stream));
    }
    mark_groups<<<row_blocks(n), kRowThreads, 0, stream>>>(on_device, plan, keys_out, order_out,
                                                           group_flags, group_marks);
    LDH_CUDA_CHECK_LAUNCH();
    bytes = arena_.scratch_bytes;
    LDH_CUDA_TRY(cub::DeviceScan::InclusiveScan(scratch, bytes, group_marks, group_starts, MaxOf{},
                                                n, stream));
    mark_partials<<<row_blocks(n), kRowThreads, 0, stream>>>(n, group_flags, group_starts,
                                                             partial_flags);
    LDH_CUDA_CHECK_LAUNCH();
    bytes = arena_.scratch_bytes;
    LDH_CUDA_TRY(cub::DeviceSelect::Flagged(scratch, bytes,
                                            thrust::counting_iterator<std::uint32_t>(0),
                                            partial_flags, firsts, partial_count, n, stream));
    FoldColumns sorted = on_device;
    sorted.times = block_.at<std::int64_t>(arena_.sorted_times);
    sorted.values = block_.at<double>(arena_.sorted_values);
    sorted.valid = block_.at<std::uint8_t>(arena_.sorted_valid);
    gather_rows<<<row_blocks(n), kRowThreads, 0, stream>>>(
        on_device, order_out, block_.at<std::int64_t>(arena_.sorted_times),
        block_.at<double>(arena_.sorted_values), block_.at<std::uint8_t>(arena_.sorted_valid));
    LDH_CUDA_CHECK_LAUNCH();
    make_partials<<<row_blocks(n), kRowThreads, 0, stream>>>(n, firsts, partial_count, sorted.times,
                                                             plan, partials);
    LDH_CUDA_CHECK_LAUNCH();
    const std::size_t most_folds = std::size_t{n} * columns.measures;
    fold_partials<<<row_blocks(most_folds), kRowThreads, 0, stream>>>(
        sorted, partials, partial_count, needs, measures);
    LDH_CUDA_CHECK_LAUNCH();
    int count = 0;
    LDH_CUDA_TRY(
        cudaMemcpyAsync(&count, partial_count, sizeof count, cudaMemcpyDeviceToHost, stream));
    LDH_CUDA_TRY(cudaMemcpyAsync(out.order.data(), order_out,
                                 std::size_t{n} * sizeof(std::uint32_t), cudaMemcpyDeviceToHost,
                                 stream));
    LDH_CUDA_TRY(cudaStreamSynchronize(stream));
    if (needs.sketch) histograms(sorted, partials, partial_count, count, needs.mapping, out);
    if (needs.values) {
      const std::size_t cells = std::size_t{n} * columns.measures;
      out.sorted_values.resize(cells);
      out.sorted_valid.resize(cells);
      LDH_CUDA_TRY(cudaMemcpyAsync(out.sorted_values.data(), sorted.values, cells * sizeof(double),
                                   cudaMemcpyDeviceToHost, stream));
      LDH_CUDA_TRY(cudaMemcpyAsync(out.sorted_valid.data(), sorted.valid, cells,
                                   cudaMemcpyDeviceToHost, stream));
    }
    out.partials.resize(static_cast<std::size_t>(count));
    out.measures.resize(static_cast<std::size_t>(count) * columns.measures);
    LDH_CUDA_TRY(cudaMemcpyAsync(out.partials.data(), partials,
                                 out.partials.size() * sizeof(PanePartial), cudaMemcpyDeviceToHost,
                                 stream));
    LDH_CUDA_TRY(cudaMemcpyAsync(out.measures.data(), measures,
                                 out.measures.size() * sizeof(MeasurePartial),
                                 cudaMemcpyDeviceToHost, stream));
    LDH_CUDA_TRY(cudaStreamSynchronize(stream));
  }

 private:
  /// Where the histogram arrays of up to `capacity` (row, measure) codes live.
  struct HistogramArena {
    std::size_t capacity = 0;
    std::size_t codes[2], slots, partial_of, begins, ends, slot_starts, run_flags, run_starts,
        run_count, runs, scratch;
    std::size_t scratch_bytes = 0;
  };

  /// Sorts the codes of each (partial, measure) and copies their runs to out.sketch_runs.
  void histograms(const FoldColumns& sorted, const PanePartial* partials, const int* partial_count,
                  int count, const DDSketchMapping& mapping, PanePartials& out) {
    const std::size_t total = std::size_t{sorted.rows} * sorted.measures;
    const std::size_t slot_count = static_cast<std::size_t>(count) * sorted.measures;
    if (total == 0) return;
    reserve_histograms(total);
    const HistogramArena& arena = histogram_arena_;
    cudaStream_t stream = stream_->get();
    auto* codes_in = histogram_block_.at<std::uint64_t>(arena.codes[0]);
    auto* codes_out = histogram_block_.at<std::uint64_t>(arena.codes[1]);
    auto* slots = histogram_block_.at<std::uint32_t>(arena.slots);
    auto* partial_of = histogram_block_.at<std::uint32_t>(arena.partial_of);
    auto* begins = histogram_block_.at<std::uint32_t>(arena.begins);
    auto* ends = histogram_block_.at<std::uint32_t>(arena.ends);
    auto* slot_starts = histogram_block_.at<std::uint8_t>(arena.slot_starts);
    auto* run_flags = histogram_block_.at<std::uint8_t>(arena.run_flags);
    auto* run_starts = histogram_block_.at<std::uint32_t>(arena.run_starts);
    auto* run_count = histogram_block_.at<int>(arena.run_count);
    auto* runs = histogram_block_.at<SketchRun>(arena.runs);
    void* scratch = histogram_block_.at<void>(arena.scratch);
    mark_partial_rows<<<row_blocks(static_cast<std::size_t>(count)), kRowThreads, 0, stream>>>(
        partials, partial_count, partial_of);
    LDH_CUDA_CHECK_LAUNCH();
    make_codes<<<row_blocks(total), kRowThreads, 0, stream>>>(sorted, partials, partial_of, mapping,
                                                              codes_in, slots);
    LDH_CUDA_CHECK_LAUNCH();
    LDH_CUDA_TRY(cudaMemsetAsync(slot_starts, 0, total, stream));
    make_slots<<<row_blocks(slot_count), kRowThreads, 0, stream>>>(
        partials, slot_count, sorted.measures, begins, ends, slot_starts);
    LDH_CUDA_CHECK_LAUNCH();
    std::size_t bytes = arena.scratch_bytes;
    LDH_CUDA_TRY(cub::DeviceSegmentedRadixSort::SortKeys(
        scratch, bytes, codes_in, codes_out, static_cast<int>(total), static_cast<int>(slot_count),
        begins, ends, 0, 64, stream));
    mark_runs<<<row_blocks(total), kRowThreads, 0, stream>>>(codes_out, slot_starts, total,
                                                             run_flags);
    LDH_CUDA_CHECK_LAUNCH();
    bytes = arena.scratch_bytes;
    LDH_CUDA_TRY(cub::DeviceSelect::Flagged(
        scratch, bytes, thrust::counting_iterator<std::uint32_t>(0), run_flags, run_starts,
        run_count, static_cast<int>(total), stream));
    make_runs<<<row_blocks(total), kRowThreads, 0, stream>>>(codes_out, slots, run_starts,
                                                             run_count, total, runs);
    LDH_CUDA_CHECK_LAUNCH();
    int runs_made = 0;
    LDH_CUDA_TRY(
        cudaMemcpyAsync(&runs_made, run_count, sizeof runs_made, cudaMemcpyDeviceToHost, stream));
    LDH_CUDA_TRY(cudaStreamSynchronize(stream));
    out.sketch_runs.resize(static_cast<std::size_t>(runs_made));
    LDH_CUDA_TRY(cudaMemcpyAsync(out.sketch_runs.data(), runs,
                                 out.sketch_runs.size() * sizeof(SketchRun), cudaMemcpyDeviceToHost,
                                 stream));
  }

  /// Lays the histogram arrays out again, in a larger block, for more codes than before.
  void reserve_histograms(std::size_t total) {
    if (total <= histogram_arena_.capacity) return;
    std::size_t capacity = std::max<std::size_t>(histogram_arena_.capacity, 1 << 14);
    while (capacity < total) capacity *= 2;
    ArenaLayout layout;
    HistogramArena arena;
    arena.capacity = capacity;
    for (auto& codes : arena.codes) codes = layout.reserve(capacity * sizeof(std::uint64_t));
    arena.slots = layout.reserve(capacity * sizeof(std::uint32_t));
    arena.partial_of = layout.reserve(capacity * sizeof(std::uint32_t));
    arena.begins = layout.reserve(capacity * sizeof(std::uint32_t));
    arena.ends = layout.reserve(capacity * sizeof(std::uint32_t));
    arena.slot_starts = layout.reserve(capacity);
    arena.run_flags = layout.reserve(capacity);
    arena.run_starts = layout.reserve(capacity * sizeof(std::uint32_t));
    arena.run_count = layout.reserve(sizeof(int));
    arena.runs = layout.reserve(capacity * sizeof(SketchRun));
    const auto items = static_cast<int>(capacity);
    std::size_t sort_bytes = 0;
    std::size_t select_bytes = 0;
    LDH_CUDA_TRY(cub::DeviceSegmentedRadixSort::SortKeys(
        nullptr, sort_bytes, static_cast<const std::uint64_t*>(nullptr),
        static_cast<std::uint64_t*>(nullptr), items, items,
        static_cast<const std::uint32_t*>(nullptr), static_cast<const std::uint32_t*>(nullptr)));
    LDH_CUDA_TRY(cub::DeviceSelect::Flagged(
        nullptr, select_bytes, thrust::counting_iterator<std::uint32_t>(0),
        static_cast<const std::uint8_t*>(nullptr), static_cast<std::uint32_t*>(nullptr),
        static_cast<int*>(nullptr), items));
    arena.scratch_bytes = std::max(sort_bytes, select_bytes);
    arena.scratch = layout.reserve(arena.scratch_bytes);
    histogram_block_ = PooledBlock(device_memory_pool(device_), layout.size());
    histogram_arena_ = arena;
  }

  /// Copies `count` host values to the arena's array at `offset` and returns its address.
  template <typename T>
  const T* copy_in(std::size_t offset, const T* host, std::size_t count, cudaStream_t stream) {
    T* device = block_.at<T>(offset);
    if (count > 0) {
      LDH_CUDA_TRY(
          cudaMemcpyAsync(device, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
    }
    return device;
  }

  /// Lays the arena out again, in a larger block, when a fold has more rows or columns than any
  /// before (rows grow by doubling).
  void reserve(std::uint32_t rows, std::uint32_t key_fields, std::uint32_t measures) {
    if (rows <= capacity_ && key_fields <= key_fields_ && measures <= measures_) return;
    std::size_t capacity = capacity_ == 0 ? 4096 : capacity_;
    while (capacity < rows) capacity *= 2;
    key_fields_ = std::max(key_fields_, key_fields);
    measures_ = std::max(measures_, measures);
    ArenaLayout layout;
    FoldArena arena;
    arena.times = layout.reserve(capacity * sizeof(std::int64_t));
    arena.hashes = layout.reserve(capacity * sizeof(std::uint64_t));
    arena.keys = layout.reserve(capacity * key_fields_ * sizeof(std::uint64_t));
    arena.key_valid = layout.reserve(capacity * key_fields_);
    arena.values = layout.reserve(capacity * measures_ * sizeof(double));
    arena.valid = layout.reserve(capacity * measures_);
    arena.sorted_times = layout.reserve(capacity * sizeof(std::int64_t));
    arena.sorted_values = layout.reserve(capacity * measures_ * sizeof(double));
    arena.sorted_valid = layout.reserve(capacity * measures_);
    for (int i = 0; i < 2; ++i) {
      arena.sort_keys[i] = layout.reserve(capacity * sizeof(std::uint64_t));
      arena.order[i] = layout.reserve(capacity * sizeof(std::uint32_t));
    }
    arena.group_flags = layout.reserve(capacity);
    arena.group_marks = layout.reserve(capacity * sizeof(std::uint32_t));
    arena.group_starts = layout.reserve(capacity * sizeof(std::uint32_t));
    arena.partial_flags = layout.reserve(capacity);
    arena.firsts = layout.reserve(capacity * sizeof(std::uint32_t));
    arena.partial_count = layout.reserve(sizeof(int));
    arena.partials = layout.reserve(capacity * sizeof(PanePartial));
    arena.measures =
        layout.reserve(capacity * std::max<std::uint32_t>(measures_, 1) * sizeof(MeasurePartial));
    // CUB's scratch: the most any of the three calls asks for at this capacity.
    const auto items = static_cast<int>(capacity);
    std::size_t sort_bytes = 0;
    std::size_t scan_bytes = 0;
    std::size_t select_bytes = 0;
    LDH_CUDA_TRY(cub::DeviceRadixSort::SortPairs(
        nullptr, sort_bytes, static_cast<const std::uint64_t*>(nullptr),
        static_cast<std::uint64_t*>(nullptr), static_cast<const std::uint32_t*>(nullptr),
        static_cast<std::uint32_t*>(nullptr), items));
    LDH_CUDA_TRY(cub::DeviceScan::InclusiveScan(
        nullptr, scan_bytes, static_cast<const std::uint32_t*>(nullptr),
        static_cast<std::uint32_t*>(nullptr), MaxOf{}, items));
    LDH_CUDA_TRY(cub::DeviceSelect::Flagged(
        nullptr, select_bytes, thrust::counting_iterator<std::uint32_t>(0),
        static_cast<const std::uint8_t*>(nullptr), static_cast<std::uint32_t*>(nullptr),
        static_cast<int*>(nullptr), items));
    arena.scratch_bytes = std::max({sort_bytes, scan_bytes, select_bytes});
    arena.scratch = layout.reserve(arena.scratch_bytes);
    block_ = PooledBlock(device_memory_pool(device_), layout.size());
    arena_ = arena;
    capacity_ = capacity;
  }

  int device_;
  std::string name_;
  std::unique_ptr<Stream> stream_;
  PooledBlock block_;
  FoldArena arena_{};
  PooledBlock histogram_block_;
  HistogramArena histogram_arena_;
  std::size_t capacity_ = 0;
  std::uint32_t key_fields_ = 0;
  std::uint32_t measures_ = 0;
};

}  // namespace

std::unique_ptr<PaneAggregator> make_device_pane_aggregator(int device) {
  return std::make_unique<DevicePaneAggregator>(device);
}

}  // namespace ldh
