#!/usr/bin/env bash
# Instructions per TCP segment on the core path, payload copies excluded: the figure
# bench/README.md reports. Runs joyride_bench_tcp_path under callgrind for 1,000 and
# 11,000 segments and prints (Ir(11000) - Ir(1000)) / 10000 with the memcpy/memmove
# lines (the payload copies) taken out, for rx and tx, with and without checksum
# offload. Instruction counts are repeatable, so one run of each is enough.
#
#   bash bench/segment_cost.sh [BUILD_DIR]      (default build/release; RelWithDebInfo)
set -euo pipefail
build=${1:-build/release}
bin=$build/bench/joyride_bench_tcp_path
[ -x "$bin" ] || { echo "no $bin: cmake --build $build --target joyride_bench_tcp_path" >&2; exit 1; }
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

for mode in "rx" "tx" "rx offload" "tx offload"; do
  read -r -a args <<<"$mode"
  declare -A ir=()
  for n in 1000 11000; do
    out=$work/cg.$n.out
    valgrind --tool=callgrind --toggle-collect=joyride_bench_loop --callgrind-out-file="$out" \
      "$bin" "${args[0]}" "$n" "${args[@]:1}" >/dev/null 2>&1 || { echo "bench failed: $mode $n" >&2; exit 1; }
    read -r total copy < <(loop_ir "$out")
    ir[$n]=$((total - copy))
  done
  printf '%-11s %6d instructions per segment\n' "$mode" $(((ir[11000] - ir[1000]) / 10000))
done
