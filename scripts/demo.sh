#!/usr/bin/env bash
# The main job: joyrided on the local test network (scripts/testbed: a veth between
# two namespaces, joyrided on net_af_xdp), a Linux client exchanging data with it
# (ping with fragments, UDP and TCP echo, TCP discard), then joyrided's own stats.
# Then two Joyride stacks on a simulated link with delay and loss exchange ICMP echo,
# UDP and TCP traffic, and report what was verified; a capture of the UDP run goes to
# build/demo.pcap (open it with tshark or Wireshark). Needs root (namespaces, af_xdp).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target joyride-sim joyrided joyride
sim=build/release/tools/sim/joyride-sim

echo "== joyrided on the test network, a Linux client in netns jr-linux"
trap 'bash scripts/testbed down >/dev/null 2>&1 || true' EXIT
bash scripts/testbed up
(cd tests/interop && JOYRIDE_CLI="$PWD/../../build/release/tools/joyride/joyride" \
  ip netns exec jr-linux /usr/bin/python3 interop.py --quick)
echo
echo "== joyride stat (first lines and the TCP counters)"
build/release/tools/joyride/joyride stat | sed -n '1,12p'
build/release/tools/joyride/joyride stat | sed -n '/^  tcp$/,/^  [a-z]*$/p' | grep -v " 0$"
bash scripts/testbed down
echo

echo "== ping: 10 echo requests of 1000 bytes over a 5 ms link"
"$sim" ping --count 10 --size 1000 --delay 5ms --seed 1
echo
echo "== udp: 100 request/response exchanges through 5% loss, 5% reordering, 1% corruption"
"$sim" udp --count 100 --size 1200 --loss 0.05 --reorder 0.05 --corrupt 0.01 --delay 10ms --rate 100M \
  --seed 2 --pcap build/demo.pcap
echo
echo "== udp: 10 datagrams of 65507 bytes (45 IP fragments each), 0.5% loss"
"$sim" udp --count 10 --size 65507 --loss 0.005 --rate 1G --queue 4000000 --delay 2ms --seed 3
echo
echo "== tcp: 4 connections each moving 5 MB from A to B through 1% loss and 1% reordering, 20 ms delay"
"$sim" tcp --bytes 5000000 --connections 4 --loss 0.01 --reorder 0.01 --delay 20ms --rate 100M --seed 4
