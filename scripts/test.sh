#!/usr/bin/env bash
# Every test Joyride has, as CI runs them:
#   1. unit and simulation tests, debug build
#   2. the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   3. each libFuzzer target for a bounded time (JOYRIDE_FUZZ_SECONDS, default 30)
#   4. joyride-sim scenarios end to end, checked by their exit status
#   5. interop: the Linux kernel against joyrided on a veth through net_af_xdp,
#      net_af_packet and net_tap, then two joyrided over net_memif
#   6. applications: the socket-semantics suite natively and under `joyride run`,
#      compared; unmodified Debian programs (curl, nginx, iperf3, redis, sockperf,
#      socat) under `joyride run` against Linux; a hostile app; SIGKILL mid-transfer
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs="$(nproc)"

echo "== debug build and tests"
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$jobs"
ctest --preset debug -j "$jobs"

echo "== ASan + UBSan build and tests"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan -j "$jobs"

echo "== fuzzers"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
bash fuzz/run_all.sh "${JOYRIDE_FUZZ_SECONDS:-30}" build/fuzz/fuzz

echo "== joyride-sim scenarios"
sim=build/debug/tools/sim/joyride-sim
"$sim" ping --count 20 --size 1400 --delay 1ms --seed 1 | tail -n 1
"$sim" ping --count 5 --size 60000 --loss 0.01 --seed 2 | tail -n 1
"$sim" udp --count 200 --size 512 --loss 0.1 --reorder 0.05 --dup 0.02 --corrupt 0.02 --delay 10ms --seed 3 | tail -n 1
"$sim" udp --count 20 --size 65507 --loss 0.005 --reorder 0.05 --rate 1G --queue 4000000 --delay 2ms --seed 4 | tail -n 1
"$sim" tcp --bytes 2000000 --delay 5ms --rate 100M --seed 5 | tail -n 1
"$sim" tcp --bytes 300000 --direction both --loss 0.05 --reorder 0.05 --dup 0.02 --corrupt 0.01 --delay 10ms --cc newreno --seed 6 | tail -n 1
"$sim" tcp --bytes 20000 --connections 200 --direction echo --loss 0.01 --delay 1ms --seed 7 | tail -n 1
"$sim" tcp --bytes 500000 --direction b2a --mtu 9000 --rate 1G --queue 200000 --delay 2ms --seed 8 | tail -n 1

echo "== interop: Linux against joyrided over af_xdp, af_packet and tap; joyrided pairs over memif"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs" --target joyrided joyride
bash tests/interop/run.sh

echo "== applications under joyride run against Linux"
cmake --build --preset release -j "$jobs" --target joyrided joyride joyride_preload joyride_hostile_app
bash tests/app/run.sh

echo "== all tests passed"
