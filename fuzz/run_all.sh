#!/usr/bin/env bash
# Runs every joyride_fuzz_* target for a bounded time and fails if any finds a crash.
#
#   fuzz/run_all.sh SECONDS [BINARY_DIR]
#
# BINARY_DIR defaults to the fuzz preset's output (build/fuzz/fuzz). Each target keeps
# its corpus in $JOYRIDE_FUZZ_CORPUS/<target> (default: a fresh temporary directory),
# and crash inputs are written to the current directory (crash-*, ignored by git).
set -u

seconds="${1:?usage: $0 SECONDS [BINARY_DIR]}"
here="$(cd "$(dirname "$0")" && pwd)"
bin_dir="${2:-$here/../build/fuzz/fuzz}"
corpus_root="${JOYRIDE_FUZZ_CORPUS:-$(mktemp -d)}"

shopt -s nullglob
targets=("$bin_dir"/joyride_fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "no joyride_fuzz_* executables in $bin_dir (configure with -DJOYRIDE_FUZZ=ON and clang)" >&2
  exit 2
fi

failed=()
for target in "${targets[@]}"; do
  [ -x "$target" ] || continue
  name="$(basename "$target")"
  corpus="$corpus_root/$name"
  mkdir -p "$corpus"
  echo "== $name: ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -print_final_stats=1 "$corpus" >"$corpus_root/$name.log" 2>&1; then
    echo "!! $name FAILED (log: $corpus_root/$name.log)" >&2
    tail -n 40 "$corpus_root/$name.log" >&2
    failed+=("$name")
  else
    grep -E "stat::number_of_executed_units|cov:" "$corpus_root/$name.log" | tail -n 2
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "all ${#targets[@]} fuzz targets ran ${seconds}s without a crash"
