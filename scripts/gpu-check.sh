#!/usr/bin/env bash
# Checks ldh on a GPU machine, then prints one short table:
#  1. correctness, in parallel: every GPU test case in its own process (the CPU/GPU parity suite
#     compares output bytes) and compute-sanitizer (memcheck, racecheck) on the short cases;
#  2. timing, one run at a time: `ldh bench` on both backends (stateless pipeline, windows demo,
#     a thread sweep of the stateless one) and the device benchmarks.
# Every step has its own time limit, so a hang costs one step, not the lease, and the run ends
# within LDH_GPU_CHECK_SECONDS (default 470; about 4 minutes on an H200).
#
# The GPU machine has CUDA but not ldh's libraries (yaml-cpp, simdjson, protobuf, librdkafka,
# ...) and no package registry, so by default this runs a bundle built beforehand on a
# development machine by scripts/gpu-bundle.sh (binaries for sm_90 plus the shared libraries
# they need), carried to the GPU machine as gpu-bundle/. With LDH_GPU_BUILD=1 it builds here
# instead (a machine that has the libraries). Logs go to gpu-check-logs/ and, where $OUT is set
# (the device tool returns few files), into one tarball there.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH=/usr/local/cuda/bin:$PATH
started=$(date +%s)
deadline=$((started + ${LDH_GPU_CHECK_SECONDS:-470}))

if [ "${LDH_GPU_BUILD:-0}" = 1 ]; then
  "$root/scripts/gpu-bundle.sh" || exit 1
fi
bin=$root/gpu-bundle
[ -x "$bin/ldh" ] || { echo "gpu-check: no gpu-bundle/ (run scripts/gpu-bundle.sh first)"; exit 1; }
export LD_LIBRARY_PATH=$bin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
logs=$root/gpu-check-logs
rm -rf "$logs"
mkdir -p "$logs"
pack_logs() {
  [ -n "${OUT:-}" ] && tar -czf "$OUT/gpu-check-logs.tar.gz" -C "$root" gpu-check-logs
}
trap pack_logs EXIT

# Runs one step under a time limit (cut to end by the deadline), its output in $logs/NAME.log,
# and appends "NAME EXIT SECONDS" to steps.txt; prints the log's tail when it fails.
step() {
  local name=$1 seconds=$2
  shift 2
  local begin=$(date +%s) status=0
  local left=$((deadline - begin - 10))
  [ "$left" -lt "$seconds" ] && seconds=$left
  if [ "$seconds" -lt 5 ]; then
    echo "$name skipped" >>"$logs/steps.txt"
    return 125
  fi
  timeout --kill-after=5 "$seconds" "$@" >"$logs/$name.log" 2>&1 || status=$?
  echo "$name $status $(($(date +%s) - begin))" >>"$logs/steps.txt"
  if [ "$status" != 0 ]; then
    echo "== $name: exit $status$([ "$status" = 124 ] && echo " (over ${seconds} s)")"
    tail -n 25 "$logs/$name.log"
  fi
  return "$status"
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm \
  --format=csv,noheader >"$logs/card.txt" 2>&1 || true
"$bin/ldh" info >"$logs/info.txt" 2>&1 || true
cat "$logs/card.txt" "$logs/info.txt"

# 1. Correctness, in parallel.
for test in "$bin"/tests/*_gpu_test; do
  program=$(basename "$test")
  # A program that cannot even list its cases (a library missing from the bundle) fails.
  if ! cases=$("$test" --gtest_list_tests 2>"$logs/list.$program.log") || [ -z "$cases" ]; then
    echo "test.$program.list 1 0" >>"$logs/steps.txt"
    echo "== $program: cannot list its tests"
    tail -n 5 "$logs/list.$program.log"
    continue
  fi
  for case in $(awk '/^[^ ]/ {suite = $1} /^  / {print suite $1}' <<<"$cases"); do
    step "test.$program.${case//\//_}" 240 "$test" --gtest_filter="$case" &
  done
done
sanitize() {
  local name=$1 tool=$2 program=$3 filter=$4
  step "sanitizer.$name.$tool" 150 compute-sanitizer --tool "$tool" --error-exitcode 1 \
    "$bin/tests/$program" --gtest_filter="$filter"
}
if command -v compute-sanitizer >/dev/null; then
  sanitize pipeline memcheck device_pipeline_gpu_test \
    '*ShortRunForSanitizers:*PoolsReuse*:*ABatchTooLarge*' &
  sanitize pipeline racecheck device_pipeline_gpu_test '*ShortRunForSanitizers' &
  for tool in memcheck racecheck; do
    sanitize fold "$tool" window_partial_gpu_test '*ShortFoldForSanitizers' &
    sanitize sort "$tool" value_sort_gpu_test '*ShortSortForSanitizers' &
  done
fi
wait

# 2. Timing, one at a time: the stateless pipeline on each backend (the GPU run also prints the
# pinned host-to-device bandwidth and its share), the windows demo, a thread sweep, the kernels.
config=$root/examples/filter-enrich.yaml
threads=$(nproc)
stateless() {
  local name=$1 backend=$2 count=$3
  step "bench.$name" 60 "$bin/ldh" bench --config "$config" --format binary --backend "$backend" \
    --threads "$count" --events 64000000 --repeat 3
}
stateless stateless-gpu gpu "$threads"
stateless stateless-cpu cpu "$threads"
step bench.windows-cpu 60 "$bin/ldh" bench --format binary --events 32000000 --sensors 10000 \
  --threads "$threads" --backend cpu --repeat 3
step bench.windows-gpu 90 "$bin/ldh" bench --format binary --events 32000000 --sensors 10000 \
  --threads "$threads" --backend gpu --repeat 3
step bench.windows-auto 60 "$bin/ldh" bench --format binary --events 32000000 --sensors 10000 \
  --threads "$threads" --backend auto --repeat 3
for count in 1 4; do
  stateless "stateless-gpu-$count" gpu "$count"
  stateless "stateless-cpu-$count" cpu "$count"
done
step bench.fold 60 "$bin/bench/window_fold_bench" --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true
step bench.device 60 "$bin/bench/device_pipeline_bench" --benchmark_min_time=0.2
step bench.host-share 60 "$bin/bench/device_runtime_bench" --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true

count_steps() { grep -E "^$1" "$logs/steps.txt" | awk -v want="$2" '($2 == 0) == want' | wc -l; }
median() { grep -h "^median" "$logs/bench.$1.log" 2>/dev/null | sed 's/^median: //'; }
passed=$(count_steps test. 1)
failed=$(count_steps test. 0)
cases_ok=$(cat "$logs"/test.*.log | grep -c "^\[       OK \]" || true)
cases_skipped=$(cat "$logs"/test.*.log | grep -cE "^\[  SKIPPED \] .* \([0-9]+ ms\)$" || true)
sanitizer_ok=$(count_steps sanitizer. 1)
sanitizer_failed=$(grep -E "^sanitizer\." "$logs/steps.txt" | awk '$2 != 0 {print $1}' | tr '\n' ' ')
echo
echo "| check | result |"
echo "|---|---|"
echo "| card | $(head -n 1 "$logs/card.txt") |"
echo "| GPU test cases (one process each) | $passed passed, $failed failed ($cases_ok OK, $cases_skipped skipped) |"
echo "| compute-sanitizer runs | $sanitizer_ok clean${sanitizer_failed:+; failed: $sanitizer_failed} |"
echo "| stateless, GPU, $threads threads | $(median stateless-gpu) |"
echo "| H2D bandwidth (pinned) | $(grep -h "host-to-device" "$logs/bench.stateless-gpu.log" | tail -n 1) |"
echo "| stateless, CPU, $threads threads | $(median stateless-cpu) |"
for count in 1 4; do
  echo "| stateless, GPU / CPU, $count threads | $(median "stateless-gpu-$count") / $(median "stateless-cpu-$count") |"
done
echo "| windows demo, CPU, $threads threads | $(median windows-cpu) |"
echo "| windows demo, GPU (folded there) | $(median windows-gpu) |"
echo "| windows demo, auto (stateless stages on the GPU, rows added on the CPU) | $(median windows-auto) |"
echo "| folds in that run | $(grep -h -m 1 "window rows folded" "$logs/bench.windows-gpu.log") |"
echo "| fold, sort: host / device (median) | $(grep -hE "_median" "$logs/bench.fold.log" | awk '{print $1": "$2" "$3}' | tr '\n' ' ') |"
echo "| device kernels (median) | $(grep -hE "_median" "$logs/bench.device.log" | awk '{print $1": "$2" "$3" "$NF}' | tr '\n' ' ') |"
echo "| device path's host share, with / without string fields (median) | $(grep -hE "_median" "$logs/bench.host-share.log" | awk '{print $2" "$3}' | tr '\n' ' ') |"
echo "| wall time | $(($(date +%s) - started)) s |"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ] && [ -z "$sanitizer_failed" ] && [ "$sanitizer_ok" -gt 0 ]
