#!/usr/bin/env bash
# Installs the Debian packages Joyride builds and tests with. Idempotent: does
# nothing when they are all present. Needs root (or sudo) when something is missing.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  clang libclang-rt-14-dev          # libFuzzer targets
  libgtest-dev libgmock-dev libbenchmark-dev
  libfmt-dev libtomlplusplus-dev
  valgrind                          # callgrind instruction counts (bench/)
  tshark                            # reads the simulator's pcap captures in tests
  dpdk dpdk-dev libdpdk-dev         # dev/dpdk (JOYRIDE_DPDK): EAL, ethdev, the PMDs, dpdk-testpmd
  libxdp-dev libbpf-dev             # what libdpdk's pkg-config file (af_xdp PMD) asks for
  iproute2 iputils-ping ethtool python3   # scripts/testbed and the interop tests
  python3-scapy                     # the interop tests' malformed-frame burst
  iperf3                            # bench/net: the Linux-to-Linux baseline
  zlib1g-dev                        # crc32 of the discard service's stream
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
