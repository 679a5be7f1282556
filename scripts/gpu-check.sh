#!/usr/bin/env bash
# Checks ldh on a GPU machine: the GPU-labelled tests (the CPU/GPU parity suite compares output
# bytes), compute-sanitizer (memcheck, racecheck) on a short subset, the device benchmarks and
# `ldh bench` on both backends, then one short table. Meant to finish within 8 minutes on an H200.
#
# The GPU machine has CUDA but not ldh's libraries (yaml-cpp, simdjson, protobuf, librdkafka,
# ...) and no package registry, so by default this runs a bundle built beforehand on a
# development machine by scripts/gpu-bundle.sh (binaries for sm_90 plus the shared libraries
# they need), carried to the GPU machine as gpu-bundle/. With LDH_GPU_BUILD=1 it builds here
# instead (a machine that has the libraries).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH=/usr/local/cuda/bin:$PATH
started=$(date +%s)

# With LDH_GPU_BUILD=1, build the bundle here first (a machine that has the libraries).
if [ "${LDH_GPU_BUILD:-0}" = 1 ]; then
  "$root/scripts/gpu-bundle.sh"
fi
bin=$root/gpu-bundle
[ -x "$bin/ldh" ] || { echo "gpu-check: no gpu-bundle/ (run scripts/gpu-bundle.sh first)"; exit 1; }
export LD_LIBRARY_PATH=$bin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
logs=${OUT:-$root}/gpu-check-logs
mkdir -p "$logs"

"$bin/ldh" info | tee "$logs/info.txt"

# GPU tests: every *_gpu_test binary, whole.
passed=0
failed=0
for test in "$bin"/tests/*_gpu_test; do
  name=$(basename "$test")
  if "$test" >"$logs/$name.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    tail -n 30 "$logs/$name.log"
  fi
done
parity=$(cat "$logs"/*_gpu_test.log | grep -c "^\[       OK \]" || true)

# Sanitizers on the short cases.
sanitizer=ok
short='*ShortRunForSanitizers:*PoolsReuse*:*ABatchTooLarge*'
if command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 1 "$bin/tests/device_pipeline_gpu_test" \
    --gtest_filter="$short" >"$logs/memcheck.log" 2>&1 || sanitizer="memcheck failed"
  compute-sanitizer --tool racecheck --error-exitcode 1 "$bin/tests/device_pipeline_gpu_test" \
    --gtest_filter='*ShortRunForSanitizers' >"$logs/racecheck.log" 2>&1 ||
    sanitizer="$sanitizer; racecheck failed"
  for tool in memcheck racecheck; do
    compute-sanitizer --tool $tool --error-exitcode 1 "$bin/tests/window_partial_gpu_test" \
      --gtest_filter='*ShortFoldForSanitizers' >"$logs/fold-$tool.log" 2>&1 ||
      sanitizer="$sanitizer; fold $tool failed"
    compute-sanitizer --tool $tool --error-exitcode 1 "$bin/tests/value_sort_gpu_test" \
      --gtest_filter='*ShortSortForSanitizers' >"$logs/sort-$tool.log" 2>&1 ||
      sanitizer="$sanitizer; value sort $tool failed"
  done
else
  sanitizer="no compute-sanitizer"
fi

# Benchmarks: the stateless pipeline on each backend (the GPU run also prints the pinned
# host-to-device bandwidth and its share), the windowed demo, and the device kernels.
config=$root/examples/filter-enrich.yaml
"$bin/ldh" bench --config "$config" --format binary --backend gpu --threads "$(nproc)" \
  --events 16000000 --repeat 3 >"$logs/bench-gpu.txt" 2>&1 || true
"$bin/ldh" bench --config "$config" --format binary --backend cpu --threads "$(nproc)" \
  --events 16000000 --repeat 3 >"$logs/bench-cpu.txt" 2>&1 || true
"$bin/ldh" bench --format binary --events 8000000 --sensors 10000 --threads "$(nproc)" \
  --backend cpu --repeat 3 >"$logs/bench-windows.txt" 2>&1 || true
"$bin/ldh" bench --format binary --events 8000000 --sensors 10000 --threads "$(nproc)" \
  --backend gpu --repeat 3 >"$logs/bench-windows-gpu.txt" 2>&1 || true
"$bin/bench/window_fold_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  >"$logs/fold-bench.txt" 2>&1 || true
"$bin/bench/device_pipeline_bench" --benchmark_min_time=0.2 >"$logs/device-bench.txt" 2>&1 || true

echo
echo "| check | result |"
echo "|---|---|"
echo "| GPU test programs | $passed passed, $failed failed |"
echo "| GPU test cases passed (parity included) | $parity |"
echo "| compute-sanitizer | $sanitizer |"
echo "| ldh bench stateless, GPU | $(tail -n 1 "$logs/bench-gpu.txt") |"
echo "| H2D bandwidth (pinned) | $(grep -i "bandwidth" "$logs/bench-gpu.txt" | tail -n 1) |"
echo "| ldh bench stateless, CPU | $(tail -n 1 "$logs/bench-cpu.txt") |"
echo "| ldh bench windows demo, CPU | $(tail -n 1 "$logs/bench-windows.txt") |"
echo "| ldh bench windows demo, GPU (stateless stages and window folds) | $(tail -n 1 "$logs/bench-windows-gpu.txt") |"
echo "| window folds in that run | $(grep -m 1 "window rows folded" "$logs/bench-windows-gpu.txt") |"
echo "| window fold and percentile sort, host / device (median) | $(grep -E "_median" "$logs/fold-bench.txt" | awk '{print $1": "$2" "$3}' | tr '\n' ' ') |"
echo "| device kernels | see $logs/device-bench.txt |"
echo "| wall time | $(($(date +%s) - started)) s |"
[ "$failed" = 0 ] && [ "$sanitizer" = ok ]
