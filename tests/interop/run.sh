#!/usr/bin/env bash
# Interop tests: Linux in netns jr-linux against joyrided on net_af_xdp in jr-joyride
# (scripts/testbed). Needs root and a release build of joyrided. The testbed is always
# removed, whatever happens; on failure joyrided's log is printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
trap 'bash scripts/testbed down >/dev/null 2>&1 || true' EXIT
bash scripts/testbed up
if ! timeout 300 ip netns exec jr-linux python3 tests/interop/interop.py; then
  echo "== joyrided log"; cat /run/joyride-testbed/joyrided.log || true
  exit 1
fi
# The service reports what it counted, through the control socket.
stat="$(build/release/tools/joyride/joyride stat)"
grep -q "discard_tcp_bytes_in *100000000" <<<"$stat" || { echo "FAIL: joyride stat did not count the discarded bytes"; echo "$stat"; exit 1; }
echo "ok   joyride stat counted 100000000 discarded bytes"
