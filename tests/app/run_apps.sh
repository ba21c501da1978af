#!/usr/bin/env bash
# Unmodified Debian programs under `joyride run`, against Linux peers: the test
# network of scripts/testbed (joyrided in netns jr-joyride owns 198.18.0.1 on the veth
# through net_af_xdp; Linux in jr-linux is 198.18.0.2). The programs run in
# jr-joyride, where the kernel has no address on the veth: whatever reaches the
# Linux peer went through Joyride; loopback stays the kernel's (fallback).
#
#   tests/app/run_apps.sh [CONFIG]     (root; after the release build)
#
# Each check is bounded in time and prints one line; the last line is
# "N passed, N failed". Processes it started are stopped by pid, the testbed is
# taken down on every exit path.
set -uo pipefail
cd "$(dirname "$0")/../.."
config="${1:-config/testbed.toml}"
root="$PWD"
joyride="$root/build/release/tools/joyride/joyride"
work="$(mktemp -d /tmp/jr-apps.XXXXXX)"
pids=()
passed=0
failed=0

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  bash scripts/testbed down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

LX=(ip netns exec jr-linux)
JR=(ip netns exec jr-joyride)
run_jr() { "${JR[@]}" "$joyride" run -- "$@"; }

check() {  # check NAME COMMAND... : passes when COMMAND exits 0
  local name="$1"
  shift
  if "$@" >"$work/$name.out" 2>&1; then
    echo "ok      $name"
    passed=$((passed + 1))
  else
    echo "FAILED  $name"
    sed 's/^/        /' "$work/$name.out" | tail -n 20
    failed=$((failed + 1))
  fi
}

# Waits (bounded) until a TCP port listens in a namespace.
wait_listen() {  # wait_listen NETNS PORT
  for _ in $(seq 1 100); do
    ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return 0
    sleep 0.1
  done
  echo "nothing listens on port $2 in $1" >&2
  return 1
}

bash scripts/testbed up "$config" >/dev/null || exit 1

# ---- curl downloads 100 MB from Linux's nginx (hash checked) ---------------------
mkdir -p "$work/www"
head -c 100000000 /dev/urandom >"$work/www/blob"
want_hash="$(sha256sum <"$work/www/blob" | cut -d' ' -f1)"
cat >"$work/nginx.conf" <<EOF
daemon off;
user root;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx.err;
events {}
http {
  access_log off;
  client_body_temp_path $work;
  server { listen 198.18.0.2:8080; root $work/www; }
}
EOF
"${LX[@]}" nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
wait_listen jr-linux 8080
curl_check() {
  local got
  got="$(run_jr timeout 120 curl -sS --fail -o - http://198.18.0.2:8080/blob | sha256sum | cut -d' ' -f1)"
  [ "$got" = "$want_hash" ] || { echo "sha256 $got, expected $want_hash"; return 1; }
}
check curl_100MB_from_nginx curl_check

# ---- iperf3: client both ways against Linux's server, and a server for Linux -------
"${LX[@]}" iperf3 -s -p 5201 >/dev/null 2>&1 &
pids+=($!)
wait_listen jr-linux 5201
iperf_client() {  # iperf_client [-R]
  run_jr timeout 60 iperf3 -c 198.18.0.2 -p 5201 -t 3 -J "$@" >"$work/iperf.json" || return 1
  /usr/bin/python3 - "$work/iperf.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
if "error" in r: sys.exit("iperf3: " + r["error"])
s = r["end"]["sum_received"]
print(f'{s["bytes"]} bytes, {s["bits_per_second"] / 1e9:.2f} Gbit/s')
sys.exit(0 if s["bytes"] > 0 else 1)
EOF
}
check iperf3_client_send iperf_client
check iperf3_client_receive iperf_client -R
run_jr iperf3 -s -4 -1 -p 5202 >"$work/iperf-server.log" 2>&1 &
pids+=($!)
iperf_server() {
  for _ in $(seq 1 50); do
    "${LX[@]}" timeout 60 iperf3 -c 198.18.0.1 -p 5202 -t 3 && return 0
    sleep 0.2  # the server under joyride run may still be starting: bounded retries
  done
  return 1
}
check iperf3_server_for_linux iperf_server

# ---- redis-server under Joyride, redis-benchmark from Linux, redis-cli on loopback --
run_jr redis-server --port 6379 --bind 0.0.0.0 --save "" --appendonly no --protected-mode no \
  --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
redis_ready() {
  for _ in $(seq 1 100); do
    "${LX[@]}" redis-cli -h 198.18.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  cat "$work/redis.log"
  return 1
}
check redis_ping_from_linux redis_ready
redis_bench() {
  "${LX[@]}" timeout 120 redis-benchmark -h 198.18.0.1 -p 6379 -n 200000 -c 50 -P 16 -q -t set,get,incr,lpush,lpop \
    >"$work/redis-bench.txt" 2>&1 || { cat "$work/redis-bench.txt"; return 1; }
  cat "$work/redis-bench.txt"
  ! grep -qiE "error|refused|reset" "$work/redis-bench.txt"
}
check redis_benchmark_200k_c50_P16 redis_bench
check redis_cli_over_loopback bash -c "${JR[*]} timeout 10 redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG"

# ---- sockperf: client against Linux's server, ping-pong and throughput -------------
"${LX[@]}" sockperf server --tcp -i 198.18.0.2 -p 11111 >/dev/null 2>&1 &
pids+=($!)
wait_listen jr-linux 11111
check sockperf_ping_pong bash -c "$(printf '%q ' "${JR[@]}" "$joyride") run -- timeout 30 sockperf ping-pong --tcp -i 198.18.0.2 -p 11111 -t 2 -m 64 | grep -E 'avg-lat|Summary: Latency'"
check sockperf_throughput bash -c "$(printf '%q ' "${JR[@]}" "$joyride") run -- timeout 30 sockperf throughput --tcp -i 198.18.0.2 -p 11111 -t 2 -m 1024 | grep -E 'BandWidth|Summary'"

# ---- socat relays a stream from Linux, through Joyride, back to Linux --------------
head -c 5000000 /dev/urandom >"$work/relay.in"
"${LX[@]}" socat -u TCP-LISTEN:7002,reuseaddr "OPEN:$work/relay.out,creat,trunc" &
pids+=($!)
wait_listen jr-linux 7002
run_jr timeout 60 socat -u TCP-LISTEN:7001,reuseaddr TCP:198.18.0.2:7002 >"$work/socat.log" 2>&1 &
pids+=($!)
relay_check() {
  for _ in $(seq 1 50); do
    "${LX[@]}" timeout 30 socat -u "OPEN:$work/relay.in" TCP:198.18.0.1:7001 && break
    sleep 0.2  # the relay may still be starting: bounded retries
  done
  for _ in $(seq 1 100); do
    cmp -s "$work/relay.in" "$work/relay.out" && return 0
    sleep 0.1
  done
  echo "relayed $(stat -c %s "$work/relay.out" 2>/dev/null || echo 0) of 5000000 bytes"
  cat "$work/socat.log"
  return 1
}
check socat_relay_5MB relay_check

echo "== joyride stat (applications)"
"$joyride" stat | sed -n '/^Applications/,/^Built-in/p' | head -40
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
