#!/usr/bin/env bash
# Installs everything ldh needs to build and test, from Debian's packages. Idempotent and quiet
# when all is there already.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libyaml-cpp-dev libsimdjson-dev libfmt-dev
  libprotobuf-dev libprotoc-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev libgmp-dev
  clang libclang-rt-14-dev
  python3
  # Network sources and sinks (issues 5 and 6), and the real peers their tests run against.
  libdpdk-dev libpcap-dev librdkafka-dev libboost-dev libssl-dev
  libcurl4-openssl-dev libzstd-dev zlib1g-dev
  kcat iproute2 python3-websockets python3-scapy python3-aiosmtpd
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
