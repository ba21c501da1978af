#!/usr/bin/env bash
# Interop tests: Linux in netns jr-linux against joyrided on net_af_xdp in jr-joyride
# (scripts/testbed), then two joyrided instances against each other over net_memif. Needs root, python3-scapy and a release build of joyrided and
# joyride. The testbed is always removed, whatever happens; on failure joyrided's log
# is printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
trap 'bash scripts/testbed down >/dev/null 2>&1 || true' EXIT
bash scripts/testbed up
export JOYRIDE_CLI="$PWD/build/release/tools/joyride/joyride"
# The distribution's python3: python3-scapy is installed for it.
if ! (cd tests/interop && timeout 600 ip netns exec jr-linux /usr/bin/python3 interop.py); then
  echo "== joyrided log"; cat /run/joyride-testbed/joyrided.log || true
  exit 1
fi
bash scripts/testbed down >/dev/null
# Two joyrided instances over net_memif (no namespaces: memif is a unix socket).
timeout 600 /usr/bin/python3 tests/interop/memif_pair.py
