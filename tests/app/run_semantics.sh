#!/usr/bin/env bash
# The socket-semantics comparison: tests/app/socket_semantics.c run natively on Linux
# (the reference) and, with --joyride, under Joyride's preload; the outputs are compared
# case by case.
#
#   netns jrs-a                      netns jrs-b
#   jrs-a 198.18.10.1/24 <--veth--> jrs-b 198.18.10.2/24
#   client (native)                  peer
#
# Usage (root):
#   tests/app/run_semantics.sh [options]
#     --build-dir DIR      where the binary is built (default build/semantics)
#     --port P             the peer's command port; P+1 must be closed, P+2 is the peer's
#                          "pending" listener (default 47100)
#     --cases "A B ..."    only these cases (default: all, from `socket_semantics list`)
#     --repeat N           run the native half N times and check it is identical each time
#     --out DIR            keep outputs there (default: a temporary directory, removed)
#     --joyride "CMD"      the command prefix that runs a program under Joyride, e.g.
#                          "build/release/tools/joyride/joyride run --"
#     --peer IP            the Linux peer's address as the Joyride side sees it (198.18.0.2)
#     --peer-netns NS      netns to run that peer in (jr-linux)
#     --client-netns NS    netns to run the Joyride client in (jr-joyride; "" = current)
#     --expect-differ FILE case names allowed to differ (one a line, "# reason" comments)
#     --case-timeout S     bound on one case's client process (default 40)
#     --max-minutes M      bound on the whole run (default 20)
#
# Example, with the testbed up (scripts/testbed up) and a release build:
#   tests/app/run_semantics.sh --joyride "build/release/tools/joyride/joyride run --" \
#     --peer 198.18.0.2 --peer-netns jr-linux --client-netns jr-joyride \
#     --expect-differ tests/app/semantics_expect_differ.txt
# Relative paths (the --joyride command, --build-dir, --out) are taken from the
# repository root: the script changes there first.
#
# Each case runs in its own client process (a hang or crash costs one case, not the
# rest). The last line is "N passed, N failed"; exit 1 on any unexpected difference,
# 2 if the harness itself could not run.
#
# The namespaces jrs-a/jrs-b and every process this script starts (by pid) are removed
# on every exit path. Nothing here touches the root namespace's links.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

readonly NS_A=jrs-a NS_B=jrs-b
readonly IP_A=198.18.10.1 IP_B=198.18.10.2
readonly SRC=tests/app/socket_semantics.c

build_dir=build/semantics
port=47100
cases=""
repeat=1
out_dir=""
joyride=""
jr_peer=""
jr_peer_netns=""
jr_client_netns=""
expect_file=""
case_timeout=40
max_minutes=20

die() { echo "run_semantics: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --out) out_dir="$2"; shift 2 ;;
    --joyride) joyride="$2"; shift 2 ;;
    --peer) jr_peer="$2"; shift 2 ;;
    --peer-netns) jr_peer_netns="$2"; shift 2 ;;
    --client-netns) jr_client_netns="$2"; shift 2 ;;
    --expect-differ) expect_file="$2"; shift 2 ;;
    --case-timeout) case_timeout="$2"; shift 2 ;;
    --max-minutes) max_minutes="$2"; shift 2 ;;
    -h|--help) sed -n '2,39p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[ -z "$joyride" ] || [ -n "$jr_peer" ] || die "--joyride needs --peer"
[ -z "$expect_file" ] || [ -f "$expect_file" ] || die "no file $expect_file"

# ---- state and cleanup ------------------------------------------------------------
pids=()
made_netns=0
tmp_out=0
if [ -z "$out_dir" ]; then out_dir="$(mktemp -d /tmp/run_semantics.XXXXXX)"; tmp_out=1; fi
mkdir -p "$out_dir"

# stop_peers: every process this script started (by pid), bounded.
stop_peers() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    # bounded: a peer exits at once on SIGTERM; after 2 s it is killed
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

cleanup() {
  stop_peers
  if [ "$made_netns" = 1 ]; then
    ip netns del "$NS_A" 2>/dev/null || true
    ip netns del "$NS_B" 2>/dev/null || true
  fi
  if [ "$tmp_out" = 1 ]; then rm -rf "$out_dir"; fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

deadline=$(( $(date +%s) + max_minutes * 60 ))

# ---- build -------------------------------------------------------------------------
mkdir -p "$build_dir"
bin="$(cd "$build_dir" && pwd)/socket_semantics"
cc -std=c11 -O1 -Wall -Wextra -pthread -o "$bin" "$SRC" || die "build failed"
[ -n "$cases" ] || cases="$("$bin" list | tr '\n' ' ')"

# ---- our namespaces ---------------------------------------------------------------
make_netns() {
  # A stale pair from an interrupted run is ours to remove (the names are this
  # script's own).
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  made_netns=1
  ip netns add "$NS_A" || die "ip netns add failed"
  ip netns add "$NS_B" || die "ip netns add failed"
  ip link add "$NS_A" netns "$NS_A" type veth peer name "$NS_B" netns "$NS_B" ||
    die "veth failed"
  ip -n "$NS_A" addr add "$IP_A/24" dev "$NS_A"
  ip -n "$NS_B" addr add "$IP_B/24" dev "$NS_B"
  for ns in "$NS_A" "$NS_B"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$ns" up
  done
}

# start_peer NETNS PORT LOG: the peer in NETNS ("" = here); waits until it listens.
start_peer() {
  local ns="$1" p="$2" log="$3" max_s=$(( max_minutes * 60 + 60 ))
  if [ -n "$ns" ]; then
    ip netns exec "$ns" "$bin" peer "$p" --max-seconds "$max_s" >"$log" 2>&1 &
  else
    "$bin" peer "$p" --max-seconds "$max_s" >"$log" 2>&1 &
  fi
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 50); do
    grep -q '^peer: listening' "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  die "peer did not start in netns '${ns}'"
}

# run_client OUTFILE PEER_IP CLIENT_PREFIX...: every case in its own process.
run_client() {
  local outf="$1" peer="$2"
  shift 2
  : >"$outf"
  local c line rc
  for c in $cases; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$c: NOT RUN (run over --max-minutes)" >>"$outf"
      continue
    fi
    line="$(timeout -k 5 "$case_timeout" "$@" "$bin" client "$peer" "$port" "$c" 2>>"$outf.stderr" |
            grep -m1 "^$c: ")"
    rc=${PIPESTATUS[0]}
    if [ -z "$line" ]; then
      line="$c: NO OUTPUT (exit $rc)"
    fi
    echo "$line" >>"$outf"
  done
}

# outcome_of FILE CASE: the outcome part of CASE's line.
outcome_of() { grep -m1 "^$2: " "$1" | sed "s/^$2: //"; }

expected_to_differ() {
  [ -n "$expect_file" ] || return 1
  sed 's/#.*//' "$expect_file" | awk '{print $1}' | grep -qx "$1"
}

# compare REF OTHER LABEL: the per-case table and the counts; returns failures.
compare() {
  local ref="$1" other="$2" label="$3" c a b
  local passed=0 failed=0 known=0
  printf '%-32s %s\n' "case" "result"
  for c in $cases; do
    a="$(outcome_of "$ref" "$c")"
    b="$(outcome_of "$other" "$c")"
    if [ "$a" = "$b" ]; then
      printf '%-32s same\n' "$c"
      passed=$((passed + 1))
    elif expected_to_differ "$c"; then
      printf '%-32s known\n' "$c"
      printf '    %-8s %s\n    %-8s %s\n' "linux:" "$a" "$label:" "$b"
      known=$((known + 1))
    else
      printf '%-32s DIFFERENT\n' "$c"
      printf '    %-8s %s\n    %-8s %s\n' "linux:" "$a" "$label:" "$b"
      failed=$((failed + 1))
    fi
  done
  [ "$known" -eq 0 ] || echo "($known known differences, listed in $expect_file)"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# ---- the native reference -----------------------------------------------------------
make_netns
start_peer "$NS_B" "$port" "$out_dir/peer-native.log"
run_client "$out_dir/linux.txt" "$IP_B" ip netns exec "$NS_A"
echo "== reference (Linux, $out_dir/linux.txt)"
cat "$out_dir/linux.txt"

status=0
if [ "$repeat" -gt 1 ]; then
  for i in $(seq 2 "$repeat"); do
    run_client "$out_dir/linux-$i.txt" "$IP_B" ip netns exec "$NS_A"
    echo "== native run $i against run 1"
    if [ -z "$joyride" ]; then
      compare "$out_dir/linux.txt" "$out_dir/linux-$i.txt" "run$i" || status=1
    else
      compare "$out_dir/linux.txt" "$out_dir/linux-$i.txt" "run$i" >/dev/null || status=1
      [ "$status" -eq 0 ] || echo "native run $i differs from run 1: the reference is not deterministic"
    fi
  done
fi

# ---- under Joyride ------------------------------------------------------------------
if [ -n "$joyride" ]; then
  stop_peers # the native peer is done; the next may even share its netns and port
  start_peer "$jr_peer_netns" "$port" "$out_dir/peer-joyride.log"
  # shellcheck disable=SC2086  # the command prefix is a word list
  if [ -n "$jr_client_netns" ]; then
    run_client "$out_dir/joyride.txt" "$jr_peer" ip netns exec "$jr_client_netns" $joyride
  else
    run_client "$out_dir/joyride.txt" "$jr_peer" $joyride
  fi
  echo "== Linux against Joyride ($out_dir/joyride.txt)"
  compare "$out_dir/linux.txt" "$out_dir/joyride.txt" "joyride" || status=1
elif [ "$repeat" -le 1 ]; then
  # Native only: a case passes when it ran to an outcome (no hang, crash or setup failure).
  bad=$(grep -cE '^[a-z0-9_]+: (NO OUTPUT|NOT RUN|TIMEOUT|setup: )' "$out_dir/linux.txt")
  n=$(wc -l <"$out_dir/linux.txt")
  echo "$((n - bad)) passed, $bad failed"
  [ "$bad" -eq 0 ] || status=1
fi
exit "$status"
