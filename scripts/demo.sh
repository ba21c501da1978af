#!/usr/bin/env bash
# The main job: joyrided on the local test network (scripts/testbed: a veth between
# two namespaces, joyrided on net_af_xdp) with unmodified Debian programs over it:
# curl under `joyride run` downloads from Linux's nginx (checked byte for byte) and
# redis-server under `joyride run` serves redis-benchmark from Linux. Then a Linux
# client exchanges data with joyrided's own services (ping with fragments, UDP and
# TCP echo, TCP discard), and joyrided's stats show the TCP counters.
# Then two Joyride stacks on a simulated link with delay and loss exchange ICMP echo,
# UDP and TCP traffic, and report what was verified; a capture of the UDP run goes to
# build/demo.pcap (open it with tshark or Wireshark). Needs root (namespaces, af_xdp).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target joyride-sim joyrided joyride joyride_preload
sim=build/release/tools/sim/joyride-sim
joyride="$PWD/build/release/tools/joyride/joyride"
work="$(mktemp -d /tmp/jr-demo.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  bash scripts/testbed down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== joyrided on the test network; Linux in netns jr-linux (198.18.0.2)"
bash scripts/testbed up
echo
echo "== curl under joyride run (in netns jr-joyride: no kernel address there) downloads 20 MB from Linux's nginx"
mkdir -p "$work/www"
head -c 20000000 /dev/urandom >"$work/www/blob"
printf '%s\n' "daemon off; user root; worker_processes 1; pid $work/nginx.pid; error_log $work/nginx.err;" \
  "events {}" "http { access_log off; server { listen 198.18.0.2:8080; root $work/www; } }" >"$work/nginx.conf"
ip netns exec jr-linux nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
for _ in $(seq 1 100); do ip netns exec jr-linux ss -Htln 'sport = :8080' | grep -q . && break; sleep 0.1; done
ip netns exec jr-joyride "$joyride" run -- curl -sS -o "$work/got" \
  -w 'curl: %{size_download} bytes, %{speed_download} bytes/s\n' http://198.18.0.2:8080/blob
cmp "$work/got" "$work/www/blob" && echo "sha256 $(sha256sum <"$work/got" | cut -c1-16)... matches the file nginx served"
echo
echo "== redis-server under joyride run; redis-benchmark from Linux"
(exec ip netns exec jr-joyride "$joyride" run -- redis-server --port 6379 --bind 0.0.0.0 --save "" \
  --protected-mode no --daemonize no >"$work/redis.log" 2>&1) &
pids+=($!)
for _ in $(seq 1 100); do
  ip netns exec jr-linux redis-cli -h 198.18.0.1 ping 2>/dev/null | grep -q PONG && break
  sleep 0.1
done
ip netns exec jr-linux redis-benchmark -h 198.18.0.1 -n 100000 -c 50 -P 16 -q -t set,get
echo
echo "== joyride stat: the applications and their sockets"
"$joyride" stat | sed -n '/^Applications/,/^    app/p' | head -3
"$joyride" stat | sed -n '/^TCP sockets/,/^UDP sockets/p' | grep -E "State|app[0-9]" | head -6
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()
echo

echo "== joyrided's own services with a Linux client in netns jr-linux"
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
