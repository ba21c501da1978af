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
  # Unmodified programs run over Joyride in the application tests (tests/app) and the
  # main job: a web server, a database, clients and benchmarks.
  nginx-light redis-server redis-tools curl socat sockperf strace
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
# Installing nginx or redis must not start them on this machine (their tests start
# them inside the test namespaces): a policy-rc.d that refuses, only for this install.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod +x "$policy"
  made_policy=1
fi
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$made_policy" = 1 ] && "${sudo_cmd[@]}" rm -f "$policy"
true
