#!/usr/bin/env bash
# The application side of the preload, per call: instructions per 1448-byte send()
# and per recv() (callgrind, payload copies taken out, as segment_cost.sh does) and
# system calls per call (strace -c), both as (count(11000) - count(1000)) / 10000,
# so connecting and attaching fall out. The program (app/app_path_bench.c) runs under
# `joyride run` in netns jr-joyride against a Linux sink or source in jr-linux, on the
# testbed (scripts/testbed up first; root; release build of joyride, joyride_preload).
#
#   bash bench/app_path_cost.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
joyride="$PWD/$build/tools/joyride/joyride"
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
cc -O2 -g -Wall -o "$work/app_path_bench" bench/app/app_path_bench.c
ip netns list | grep -qw jr-joyride || { echo "no testbed: bash scripts/testbed up" >&2; exit 1; }

# Total Ir in the loop, less the memcpy/memmove implementations' own (the payload
# copies) and less the waits: a call that found its FIFO empty (recv) or full (send)
# spins and then sleeps in futex_sleep_once until the service moves bytes; that is
# time spent waiting for the network, not the cost of the call.
loop_ir() {
  local total copy wait
  read -r total copy < <(callgrind_annotate --inclusive=no --auto=no --threshold=100 "$1" 2>/dev/null | awk '
    /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
    /:__mem(cpy|move)/ && $1 ~ /^[0-9,]+$/ { v = $1; gsub(",", "", v); copy += v }
    END { printf "%d %d\n", total, copy }')
  wait=$(callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$1" 2>/dev/null | awk '
    /futex_sleep_once/ && $1 ~ /^[0-9,]+$/ { v = $1; gsub(",", "", v); if (v + 0 > max) max = v + 0 }
    END { printf "%d\n", max }')
  echo "$total $copy $wait"
}
syscalls() {  # system calls the process made (strace -c's total line)
  awk '/^100.00/ { print $4 } /total$/ { print $(NF-2) }' "$1" | tail -n 1
}

for mode in send recv; do
  [ "$mode" = send ] && port=7041 || port=7042
  [ "$mode" = send ] && peer=(socat -u TCP-LISTEN:$port,reuseaddr,fork OPEN:/dev/null) ||
    peer=(socat -u /dev/zero TCP-LISTEN:$port,reuseaddr,fork)
  ip netns exec jr-linux "${peer[@]}" &
  pids+=($!)
  for _ in $(seq 1 100); do ip netns exec jr-linux ss -Htln "sport = :$port" | grep -q . && break; sleep 0.1; done
  declare -A ir=() sc=()
  for n in 1000 11000; do
    ip netns exec jr-joyride "$joyride" run -- valgrind --tool=callgrind --toggle-collect=joyride_bench_loop \
      --callgrind-out-file="$work/cg.$mode.$n" "$work/app_path_bench" "$mode" 198.18.0.2 "$port" "$n" \
      >/dev/null 2>"$work/vg.log" || { cat "$work/vg.log" >&2; exit 1; }
    read -r total copy wait < <(loop_ir "$work/cg.$mode.$n")
    ir[$n]=$((total - copy - wait))
    ip netns exec jr-joyride "$joyride" run -- strace -f -c -o "$work/st.$mode.$n" \
      "$work/app_path_bench" "$mode" 198.18.0.2 "$port" "$n" >/dev/null
    sc[$n]=$(syscalls "$work/st.$mode.$n")
  done
  printf '%-5s %5d instructions per call (payload copy and waits excluded), %s system calls per 1,000 calls\n' "$mode" \
    $(((ir[11000] - ir[1000]) / 10000)) "$(awk -v a="${sc[11000]}" -v b="${sc[1000]}" 'BEGIN { printf "%.1f", (a - b) / 10 }')"
done
