#!/usr/bin/env bash
# Builds ldh for sm_90 here and gathers what scripts/gpu-check.sh runs on a GPU machine that
# has CUDA but none of ldh's other libraries: ldh, the GPU tests, the device benchmark, and the
# shared libraries they load that are not part of a base system, into gpu-bundle/ (git-ignored;
# carry it to the GPU machine with the working tree).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-gpu
bundle=$root/gpu-bundle
export PATH=/usr/local/cuda/bin:$PATH

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLDH_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DLDH_FUZZ=OFF >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
cmake --build "$build" --parallel "$(nproc)" >"$build.build.log" 2>&1 ||
  { tail -n 60 "$build.build.log"; exit 1; }

rm -rf "$bundle"
mkdir -p "$bundle/tests" "$bundle/bench" "$bundle/lib"
cp "$build/ldh" "$bundle/"
cp "$build"/tests/*_gpu_test "$bundle/tests/"
cp "$build/bench/device_pipeline_bench" "$build/bench/window_fold_bench" \
  "$build/bench/device_runtime_bench" "$bundle/bench/"
strip "$bundle/ldh" "$bundle"/tests/* "$bundle"/bench/*
# Libraries outside glibc and the CUDA driver travel along (libstdc++ too: the GPU image may
# carry an older one).
for binary in "$bundle/ldh" "$bundle"/tests/* "$bundle"/bench/*; do
  ldd "$binary" | awk '/=> \// {print $3}'
done | sort -u | grep -vE '/(libc|libm|libdl|librt|libpthread|libcuda)\.so' |
  while read -r library; do cp -L "$library" "$bundle/lib/"; done
du -sh "$bundle"
