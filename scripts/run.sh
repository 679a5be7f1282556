#!/usr/bin/env bash
# Sets up, builds, and runs the demo sensor pipeline (examples/sensors.yaml), then prints a
# sample of its results.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" >/dev/null
cd "$root/examples"
"$root/build/ldh" run sensors.yaml "$@"
echo
echo "first results (examples/out/sensors.jsonl):"
head -n 5 out/sensors.jsonl
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
