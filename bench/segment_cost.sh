#!/usr/bin/env bash
# Instructions per TCP segment on the core path, payload copies excluded: the figure
# bench/README.md reports. Runs joyride_bench_tcp_path under callgrind for 1,000 and
# 11,000 segments and prints (Ir(11000) - Ir(1000)) / 10000 with the memcpy/memmove
# lines (the payload copies) taken out, for rx and tx, with and without checksum
# offload; then the same through an application's shared-memory FIFOs
# (joyride_bench_app_ring: the core path plus the service's ring work, "app rx" and
# "app tx", with the service's share printed beside them). Instruction counts are
# repeatable, so one run of each is enough.
#
#   bash bench/segment_cost.sh [BUILD_DIR]      (default build/release; RelWithDebInfo)
set -euo pipefail
build=${1:-build/release}
bin=$build/bench/joyride_bench_tcp_path
app_bin=$build/bench/joyride_bench_app_ring
for b in "$bin" "$app_bin"; do
  [ -x "$b" ] || { echo "no $b: cmake --build $build --target $(basename "$b")" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Total Ir inside the loop, less what the memcpy/memmove implementations executed.
loop_ir() {
  local out=$1
  callgrind_annotate --inclusive=no --auto=no --threshold=100 "$out" 2>/dev/null | awk '
    /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
    /:__mem(cpy|move)/ && $1 ~ /^[0-9,]+$/ { v = $1; gsub(",", "", v); copy += v }
    END { printf "%d %d\n", total, copy }'
}

declare -A per=()
for mode in "rx" "tx" "rx offload" "tx offload" "app rx" "app tx"; do
  read -r -a args <<<"$mode"
  prog=$bin
  if [ "${args[0]}" = app ]; then
    prog=$app_bin
    args=("${args[@]:1}")
  fi
  declare -A ir=()
  for n in 1000 11000; do
    out=$work/cg.$n.out
    valgrind --tool=callgrind --toggle-collect=joyride_bench_loop --callgrind-out-file="$out" \
      "$prog" "${args[0]}" "$n" "${args[@]:1}" >/dev/null 2>&1 || { echo "bench failed: $mode $n" >&2; exit 1; }
    read -r total copy < <(loop_ir "$out")
    ir[$n]=$((total - copy))
  done
  per[$mode]=$(((ir[11000] - ir[1000]) / 10000))
  if [ "$prog" = "$app_bin" ]; then
    printf '%-11s %6d instructions per segment (service ring path %d over the core)\n' "$mode" "${per[$mode]}" \
      $((per[$mode] - per[${args[0]}]))
  else
    printf '%-11s %6d instructions per segment\n' "$mode" "${per[$mode]}"
  fi
done
