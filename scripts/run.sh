#!/usr/bin/env bash
# Sets up, builds, and runs the demo sensor pipeline (examples/sensors.yaml), then prints a
# sample of its results.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
build_log=$(mktemp)
if ! "$root/scripts/build.sh" >"$build_log" 2>&1; then
  cat "$build_log"
  exit 1
fi
rm -f "$build_log"
cd "$root/examples"
rm -rf out
"$root/build/ldh" run sensors.yaml "$@"
echo
echo "first window results (examples/out/sensors.jsonl):"
head -n 3 out/sensors.jsonl
echo "..."
grep -m 2 '"window":"five-minutes"' out/sensors.jsonl || true
if [ -s out/alerts.jsonl ]; then
  echo
  echo "alerts (examples/out/alerts.jsonl):"
  head -n 2 out/alerts.jsonl
fi
if [ -s out/rejected.jsonl ]; then
  echo
  echo "rejected by validation (examples/out/rejected.jsonl):"
  head -n 2 out/rejected.jsonl
fi
if [ -s out/dead-letter.jsonl ]; then
  echo
  echo "dead-lettered (examples/out/dead-letter.jsonl):"
  head -n 2 out/dead-letter.jsonl
fi
