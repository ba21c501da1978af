#!/usr/bin/env bash
# The application side of the preload, per call: instructions per 1448-byte send()
# and per recv() (callgrind, payload copies taken out, as segment_cost.sh does) and
# system calls (strace -c). The program (app/app_path_bench.c) runs under
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
# copies) and less the general path: a call that finds its FIFO full (send) or empty
# (recv) leaves the one-buffer fast path for joyride_send/joyride_recv, which waits
# (spins, then sleeps) until joyrided moves bytes. How often that happens depends on
# whether joyrided was napping, not on the call, so it is taken out; what remains is
# the cost of a call that finds room or data, which is the steady state of a
# transfer that keeps up.
loop_ir() {
  local total copy wait
  read -r total copy < <(callgrind_annotate --inclusive=no --auto=no --threshold=100 "$1" 2>/dev/null | awk '
    /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
    /:__mem(cpy|move)/ && $1 ~ /^[0-9,]+$/ { v = $1; gsub(",", "", v); copy += v }
    END { printf "%d %d\n", total, copy }')
  wait=$(callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$1" 2>/dev/null | awk '
    /joyride::preload::joyride_(send|recv)\(/ && $1 ~ /^[0-9,]+$/ { v = $1; gsub(",", "", v); if (v + 0 > max) max = v + 0 }
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
  done
  # System calls of a long transfer at full speed (no valgrind): 100,000 calls less
  # 1,000, so attaching and connecting fall out. What remains are the sleeps (a
  # futex wait when the FIFO was full or empty) and doorbells (joyrided had napped).
  for n in 1000 100000; do
    ip netns exec jr-joyride "$joyride" run -- strace -f -c -o "$work/st.$mode.$n" \
      "$work/app_path_bench" "$mode" 198.18.0.2 "$port" "$n" >/dev/null
    sc[$n]=$(syscalls "$work/st.$mode.$n")
  done
  printf '%-5s %5d instructions per call that finds room/data (payload copy excluded); %s system calls per 1,000 calls over 100,000 (all of that run: %s)\n' \
    "$mode" $(((ir[11000] - ir[1000]) / 10000)) \
    "$(awk -v a="${sc[100000]}" -v b="${sc[1000]}" 'BEGIN { printf "%.1f", (a - b) / 99 }')" \
    "$(awk '$NF ~ /^(futex|write|read|poll|ppoll|epoll_wait|sendto|recvfrom)$/ && $4 ~ /^[0-9]+$/ { printf "%s%s %s", sep, $NF, $4; sep = ", " }' "$work/st.$mode.100000")"
done

# An event loop (epoll_wait, then one recv) on a socket receiving at full speed:
# system calls per 1,000 rounds. A set of Joyride sockets alone asks the kernel
# only when it sleeps (nothing ready) and on every 64th busy wait.
port=7043
ip netns exec jr-linux socat -u /dev/zero TCP-LISTEN:$port,reuseaddr,fork &
pids+=($!)
for _ in $(seq 1 100); do ip netns exec jr-linux ss -Htln "sport = :$port" | grep -q . && break; sleep 0.1; done
declare -A sc=()
for n in 1000 100000; do
  ip netns exec jr-joyride "$joyride" run -- strace -f -c -o "$work/st.epoll.$n" \
    "$work/app_path_bench" epoll 198.18.0.2 "$port" "$n" >/dev/null
  sc[$n]=$(syscalls "$work/st.epoll.$n")
done
printf 'epoll %s system calls per 1,000 rounds of epoll_wait + recv over 100,000 (all of that run: %s)\n' \
  "$(awk -v a="${sc[100000]}" -v b="${sc[1000]}" 'BEGIN { printf "%.1f", (a - b) / 99 }')" \
  "$(awk '$NF ~ /^(futex|write|read|poll|ppoll|epoll_wait|epoll_pwait|sendto|recvfrom)$/ && $4 ~ /^[0-9]+$/ { printf "%s%s %s", sep, $NF, $4; sep = ", " }' "$work/st.epoll.100000")"
