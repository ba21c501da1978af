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
# In the background (`spawn_jr ... &`): exec, so $! is the program's own pid (ip
# netns exec and joyride run exec too) and killing it kills the program.
spawn_jr() { exec "${JR[@]}" "$joyride" run -- "$@"; }

check() {  # check NAME COMMAND... : passes when COMMAND exits 0
  local name="$1"
  shift
  if "$@" >"$work/$name.out" 2>&1; then
    # With the last line the check printed (a rate, a count), for the record.
    echo "ok      $name  $(tr '\r' '\n' <"$work/$name.out" | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c1-110)"
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
spawn_jr iperf3 -s -4 -1 -p 5202 >"$work/iperf-server.log" 2>&1 &
pids+=($!)
iperf_server() {
  for _ in $(seq 1 50); do
    "${LX[@]}" timeout 60 iperf3 -c 198.18.0.1 -p 5202 -t 3 && return 0
    sleep 0.2  # the server under joyride run may still be starting: bounded retries
  done
  return 1
}
check iperf3_server_for_linux iperf_server
# iperf3 -u: a UDP client under Joyride (datagrams both ways, the TCP control
# connection beside them); the lost-packet count is the receiver's. UDP drops what a
# busy receiver cannot take (on a loaded 2-vCPU machine 200 Mbit/s lost up to 13%,
# Linux's own socket buffers included), so the rate is modest and the bound is what
# tells "works" from "broken", not a benchmark: most datagrams must arrive.
iperf_udp_client() {  # iperf_udp_client [-R]
  run_jr timeout 60 iperf3 -u -b 50M -c 198.18.0.2 -p 5201 -t 3 -J "$@" >"$work/iperf-udp.json" || return 1
  /usr/bin/python3 - "$work/iperf-udp.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
if "error" in r: sys.exit("iperf3: " + r["error"])
s = r["end"]["sum"]
print(f'{s["packets"]} datagrams, {s["lost_packets"]} lost ({s["lost_percent"]:.2f}%), {s["bits_per_second"] / 1e6:.0f} Mbit/s')
sys.exit(0 if s["packets"] > 0 and s["lost_percent"] < 25 else 1)
EOF
}
check iperf3_udp_client_send iperf_udp_client
check iperf3_udp_client_receive iperf_udp_client -R

# ---- redis-server under Joyride, redis-benchmark from Linux, redis-cli on loopback --
spawn_jr redis-server --port 6379 --bind 0.0.0.0 --save "" --appendonly no --protected-mode no \
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
spawn_jr timeout 60 socat -u TCP-LISTEN:7001,reuseaddr TCP:198.18.0.2:7002 >"$work/socat.log" 2>&1 &
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

# ---- a wildcard listener also listens in the kernel (loopback clients), and vfork --
# children (Python's subprocess) closing their fds leave the parent's sockets alone
check dual_listen_and_vfork_children "${JR[@]}" "$joyride" run -- timeout 120 /usr/bin/python3 tests/app/dual_listen.py

# ---- fallback to the kernel: loopback with the service up, everything without it --
/usr/bin/python3 -c 'import sys; open(sys.argv[1], "w").write("kernel says hi\n")' "$work/www/hello.txt"
"${JR[@]}" /usr/bin/python3 -m http.server 8099 --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
pids+=($!)
wait_listen jr-joyride 8099
check fallback_loopback_with_service bash -c "$(printf '%q ' "${JR[@]}" "$joyride") run -- timeout 10 curl -sS http://127.0.0.1:8099/hello.txt | grep -q 'kernel says hi'"
check fallback_no_service bash -c "$(printf '%q ' "${JR[@]}" "$joyride") run --service /run/joyride-nowhere.sock -- timeout 10 curl -sS http://127.0.0.1:8099/hello.txt | grep -q 'kernel says hi'"

# ---- a hostile application while another one moves 50 MB: nothing lost ------------
head -c 50000000 /dev/urandom >"$work/big"
big_hash="$(sha256sum <"$work/big" | cut -d' ' -f1)"
"${LX[@]}" socat -u "OPEN:$work/big" TCP-LISTEN:7010,reuseaddr &
pids+=($!)
wait_listen jr-linux 7010
"${LX[@]}" socat -u TCP-LISTEN:7011,reuseaddr,fork OPEN:/dev/null &
pids+=($!)
wait_listen jr-linux 7011
hostile_check() {
  run_jr timeout 60 socat -u TCP:198.18.0.2:7010 STDOUT | sha256sum | cut -d' ' -f1 >"$work/big.hash" &
  local transfer=$!
  "${JR[@]}" timeout 60 "$root/build/release/tests/joyride_hostile_app" /run/joyride/joyrided.sock 198.18.0.2 7011
  local hostile=$?
  wait "$transfer"
  [ "$(cat "$work/big.hash")" = "$big_hash" ] || { echo "the other application's 50 MB arrived damaged"; return 1; }
  echo "the other application's 50 MB arrived intact"
  return "$hostile"
}
check hostile_app_refused_others_unharmed hostile_check

# ---- SIGKILL mid-transfer: connections close as Linux closes a dead process's ------
# A receiver killed with unread data: the Linux sender sees a reset. A sender
# killed with data queued: the Linux receiver gets an intact prefix of the stream,
# then EOF (what was queued is still delivered).
# Then joyrided has forgotten both applications.
kill_check() {
  "${LX[@]}" socat -u /dev/zero TCP-LISTEN:7020,reuseaddr >"$work/k1.log" 2>&1 &
  local sender=$!
  "${LX[@]}" socat -u TCP-LISTEN:7021,reuseaddr "OPEN:$work/k2.out,creat,trunc" >"$work/k2.log" 2>&1 &
  local receiver=$!
  wait_listen jr-linux 7020 && wait_listen jr-linux 7021 || return 1
  # The reader stops reading (SIGSTOP) so unread data piles up, then dies.
  spawn_jr socat -u TCP:198.18.0.2:7020 /dev/null &
  local reader=$!
  spawn_jr socat -u /dev/zero TCP:198.18.0.2:7021 &  # endless: killed mid-stream
  local writer=$!
  for _ in $(seq 1 50); do
    [ -s "$work/k2.out" ] && break
    sleep 0.1
  done
  kill -STOP "$reader"
  kill -KILL "$reader" "$writer"
  wait "$reader" "$writer" 2>/dev/null
  local ok=0
  timeout 20 tail --pid="$sender" -f /dev/null || { echo "the Linux sender did not see the reset"; ok=1; kill "$sender"; }
  # ECONNRESET, or EPIPE when the reader had nothing unread at its death: its close
  # then sent a FIN (the sender is in CLOSE-WAIT) and the RST for the data after it,
  # which Linux reports as EPIPE in CLOSE-WAIT (tcp_reset), as between two Linux hosts.
  grep -qiE "reset|broken pipe" "$work/k1.log" || { echo "sender's end: $(cat "$work/k1.log")"; ok=1; }
  timeout 20 tail --pid="$receiver" -f /dev/null || { echo "the Linux receiver got no EOF"; ok=1; kill "$receiver"; }
  local got
  got="$(stat -c %s "$work/k2.out")"
  [ "$got" -gt 0 ] && cmp -s -n "$got" /dev/zero "$work/k2.out" ||
    { echo "the receiver's $got bytes are not the stream's prefix"; ok=1; }
  echo "receiver got a clean prefix of $got bytes"
  # The killed socats, as applications (a row of the table) or socket owners.
  local dead_re='^ +[0-9]+ +[0-9]+ +[0-9]+ +socat |,socat\)'
  for _ in $(seq 1 100); do
    "$joyride" stat | grep -qE "$dead_re" || break
    sleep 0.1
  done
  if "$joyride" stat | grep -qE "$dead_re"; then
    echo "joyrided still holds the dead applications:"
    "$joyride" stat | sed -n '/^Applications/,/^Built-in/p'
    "$joyride" stat | grep -E "^  State|,socat\)"
    ok=1
  fi
  return "$ok"
}
check sigkill_mid_transfer kill_check

# ---- joyride run refuses what the preload cannot interpose, with a reason ---------
run_refuses() {  # run_refuses PROGRAM WORD: exit 2 and a message naming WORD
  local out rc=0
  out="$("$joyride" run -- "$1" 2>&1)" || rc=$?
  [ "$rc" -eq 2 ] && grep -q "$2" <<<"$out" || { echo "exit $rc: $out"; return 1; }
  echo "$out"
}
printf 'int main(void) { return 0; }\n' >"$work/tiny.c"
cc -static -o "$work/static-prog" "$work/tiny.c"
# A Go program is recognised by its .go.buildinfo section.
objcopy --add-section .go.buildinfo="$work/tiny.c" /usr/bin/true "$work/go-prog"
check run_refuses_static run_refuses "$work/static-prog" "statically linked"
check run_refuses_go run_refuses "$work/go-prog" "Go program"

echo "== joyride stat (applications)"
"$joyride" stat | sed -n '/^Applications/,/^Built-in/p' | head -40
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
