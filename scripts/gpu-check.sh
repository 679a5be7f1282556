#!/usr/bin/env bash
# Checks ldh on a GPU machine: builds for sm_90, runs the GPU-labelled tests (CPU/GPU parity
# compares output bytes), then times the pipeline, and prints one short table. Meant to finish
# well within 8 minutes on an H200.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-gpu
export PATH=/usr/local/cuda/bin:$PATH
started=$(date +%s)

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLDH_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DLDH_FUZZ=OFF >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
cmake --build "$build" --parallel "$(nproc)" >"$build.build.log" 2>&1 ||
  { tail -n 60 "$build.build.log"; exit 1; }

"$build/ldh" info
set +e
(cd "$build" && ctest -L gpu --output-on-failure --timeout 300) >"$build.gpu-tests.log" 2>&1
gpu_status=$?
set -e
gpu_line=$(grep -E "tests passed|tests failed" "$build.gpu-tests.log" | tail -n 1)
skipped=$(grep -c "Skipped" "$build.gpu-tests.log" || true)

bench=$("$build/ldh" bench --format binary --events 8000000 --sensors 10000 --threads "$(nproc)" --repeat 3 | tail -n 1)
expression=$("$build/bench/expression_bench" --benchmark_min_time=0.2 --benchmark_format=csv 2>/dev/null |
  grep -i heat | head -n 1 | cut -d, -f1,6 || true)

echo
echo "| check | result |"
echo "|---|---|"
echo "| GPU tests | ${gpu_line:-none ran} (skipped: $skipped) |"
echo "| ldh bench (binary, all cores) | $bench |"
echo "| expression bench (name, items/s) | ${expression:-n/a} |"
echo "| wall time | $(( $(date +%s) - started )) s |"
exit $gpu_status
