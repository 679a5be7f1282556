#!/usr/bin/env bash
# Sets up, builds and runs every test: the unit and CLI tests (GPU tests skip themselves without
# a device), then each decoder's libFuzzer target for a bounded time on its corpus.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"

cd "$root/build"
ctest --output-on-failure --parallel "$(nproc)" --timeout 600
# Again with 3-event batches wherever a test leaves the batch size to the default.
LDH_TEST_BATCH_SIZE=3 ctest --output-on-failure --parallel "$(nproc)" --timeout 600 -LE gpu \
  -R "Executor|Window|FormatParity"
# Again with window rows folded into partials on the host (the GPU backend's path).
LDH_TEST_FOLD_WINDOWS=1 ctest --output-on-failure --parallel "$(nproc)" --timeout 600 -LE gpu \
  -R "Executor|Window|FormatParity"

# Fuzzing: a clang build with libFuzzer, ASan and UBSan, each target for LDH_FUZZ_SECONDS.
fuzz_seconds=${LDH_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" -gt 0 ]; then
  fuzz_build=$root/build-fuzz
  if [ ! -f "$fuzz_build/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S "$root" -B "$fuzz_build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DLDH_CUDA=OFF -DLDH_FUZZ=ON -DLDH_BENCH=OFF -DLDH_TESTS=ON \
      -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" >"$fuzz_build.configure.log" 2>&1 ||
      { cat "$fuzz_build.configure.log"; exit 1; }
  fi
  targets=$(cd "$root/tests/fuzz" && ls *_fuzz.cpp | sed 's/\.cpp$//')
  # shellcheck disable=SC2086
  cmake --build "$fuzz_build" --parallel "$(nproc)" --target $targets
  for target in $targets; do
    corpus=$root/tests/fuzz/corpus/$target
    work=$(mktemp -d)
    cp -r "$corpus"/. "$work"/ 2>/dev/null || true
    echo "fuzz: $target for ${fuzz_seconds}s"
    if ! "$fuzz_build/tests/$target" -max_total_time="$fuzz_seconds" -max_len=65536 \
        -artifact_prefix="$work/" -print_final_stats=1 "$work" >"$work.log" 2>&1; then
      tail -n 40 "$work.log"
      echo "fuzz: $target found a failing input (kept in $work)"
      exit 1
    fi
    grep -E "stat::number_of_executed_units" "$work.log" || true
    rm -rf "$work" "$work.log"
  done
fi
echo "all tests passed"
