#!/usr/bin/env bash
# Interop tests: Linux in netns jr-linux against joyrided in jr-joyride (scripts/testbed),
# once per DPDK device that reaches the kernel here (net_af_xdp, net_af_packet, net_tap
# bridged to the veth), then two joyrided instances against each other over net_memif.
# Needs root, python3-scapy and a release build of joyrided and joyride. The testbed is
# always removed, whatever happens; on failure joyrided's log is printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
trap 'bash scripts/testbed down >/dev/null 2>&1 || true' EXIT
export JOYRIDE_CLI="$PWD/build/release/tools/joyride/joyride"

# config  interop.py arguments
devices=(
  "config/testbed.toml"
  # af_packet: the whole list on one queue pair; on two, the short tour plus the
  # check that flows arrived over both rx queues.
  "config/testbed-af_packet.toml --max-datagram=3504"
  "config/testbed-af_packet-2q.toml --max-datagram=3504 --rx-queues=2 --quick"
  "config/testbed-tap.toml --idle-cpu-max=0.5"
)
for entry in "${devices[@]}"; do
  read -r config args <<<"$entry"
  echo "== interop over $(sed -n 's/^device *= *"\([^,"]*\).*/\1/p' "$config" | head -1) ($config)"
  bash scripts/testbed up "$config"
  # The distribution's python3: python3-scapy is installed for it.
  # shellcheck disable=SC2086  # args is a word list
  if ! (cd tests/interop && timeout 600 ip netns exec jr-linux /usr/bin/python3 interop.py $args); then
    echo "== joyrided log"; cat /run/joyride-testbed/joyrided.log || true
    exit 1
  fi
  bash scripts/testbed down >/dev/null
done
# Two joyrided instances over net_memif (no namespaces: memif is a unix socket).
echo "== interop over net_memif (two joyrided)"
timeout 600 /usr/bin/python3 tests/interop/memif_pair.py
