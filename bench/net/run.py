#!/usr/bin/python3
"""One run, one table: bulk TCP throughput and its CPU cost on this machine, Joyride
against Linux, at MTU 1500. Needs root (namespaces, DPDK), a release build of joyrided
and joyride, iperf3 and dpdk-testpmd. Every row is bounded in time; everything it
creates (namespaces, processes, sockets) is removed, even on failure.

Rows:
  linux-veth       iperf3, one stream, Linux to Linux over a veth pair (TSO/GSO/GRO on)
  linux-veth-nooff the same with the offloads off, as Linux runs on the testbed
  af_xdp rx        Linux sends to joyrided's discard over the testbed veth (net_af_xdp)
  af_xdp tx        joyrided's chargen sends to Linux over the same veth
  memif            joyrided to joyrided over net_memif: the traffic client to discard
  memif iperf3     the same pair with iperf3 under `joyride run` at both ends (row
                   "apps"): the application path, preload to preload
  memif raw        dpdk-testpmd txonly -> rxonly over net_memif, 1500-byte frames: the
                   ceiling of the device itself, no TCP

Columns: Gbit/s of payload (TCP rows) or of frames (raw), packets/s on the wire
(counted by the receiving device), and CPU-seconds per GB moved: all CPU time the
machine spent during the row (/proc/stat: user+system+irq+softirq), divided by the
GB carried, so polling cores, kernel softirq work and the peers' own CPU all count.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JOYRIDED = os.path.join(ROOT, "build/release/tools/joyrided/joyrided")
JOYRIDE = os.path.join(ROOT, "build/release/tools/joyride/joyride")
WORK = "/run/joyride-bench"
HZ = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, os.path.join(ROOT, "tests/interop"))
from memif_pair import MemifPair, wait_for  # noqa: E402  (two joyrided over memif)


def sh(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


def busy_seconds():
    """CPU time the whole machine has spent busy, in seconds."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / HZ


class Measure:
    def __enter__(self):
        self.t = time.monotonic()
        self.cpu = busy_seconds()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.t
        self.cpu_seconds = busy_seconds() - self.cpu


def row(name, payload_bytes, packets, m, note=""):
    gb = payload_bytes / 1e9
    return {"row": name, "gbps": payload_bytes * 8 / m.seconds / 1e9, "pps": packets / m.seconds,
            "cpu_s_per_gb": m.cpu_seconds / gb if gb else float("nan"), "seconds": m.seconds, "note": note}


# ---- Linux <-> Linux -----------------------------------------------------------------------

def link_packets(ns, dev, direction):
    out = json.loads(sh("ip", "-n", ns, "-s", "-j", "link", "show", dev).stdout)[0]
    return out["stats64"][direction]["packets"]


def linux_veth(seconds, offloads):
    a, b = "jr-bench-a", "jr-bench-b"
    try:
        for ns in (a, b):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", "bA", "netns", a, "type", "veth", "peer", "name", "bB", "netns", b)
        sh("ip", "-n", a, "addr", "add", "198.18.2.1/24", "dev", "bA")
        sh("ip", "-n", b, "addr", "add", "198.18.2.2/24", "dev", "bB")
        for ns, dev in ((a, "bA"), (b, "bB")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
            if not offloads:
                sh("ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off",
                   "gro", "off", check=False)
        server = subprocess.Popen(["ip", "netns", "exec", a, "iperf3", "-s", "-1"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):  # until the server listens
                if sh("ip", "netns", "exec", a, "ss", "-Htln", "sport", "= :5201").stdout.strip():
                    break
                time.sleep(0.05)
            p0 = link_packets(a, "bA", "rx")
            with Measure() as m:
                out = sh("ip", "netns", "exec", b, "iperf3", "-c", "198.18.2.1", "-t", str(seconds), "-J",
                         timeout=seconds + 30).stdout
            packets = link_packets(a, "bA", "rx") - p0
            received = json.loads(out)["end"]["sum_received"]["bytes"]
        finally:
            server.wait(timeout=10) if server.poll() is None else None
        note = "TSO/GSO/GRO on: packets are up to 64 KB" if offloads else "offloads off"
        return row("linux-veth" if offloads else "linux-veth-nooff", received, packets, m, note)
    finally:
        for ns in (a, b):
            sh("ip", "netns", "del", ns, check=False)


# ---- joyrided <-> Linux over net_af_xdp ----------------------------------------------------

def stat_text(socket_path=None):
    return sh(*([JOYRIDE, "stat"] + (["--socket", socket_path] if socket_path else []))).stdout


def stat(socket_path=None):
    text = stat_text(socket_path)
    counters = {}
    for line in text.splitlines():
        w = line.split()
        if len(w) == 2 and w[1].isdigit():
            counters.setdefault(w[0], int(w[1]))
    return counters


STREAM = """
import socket, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
s = socket.create_connection(("198.18.0.1", port))
buf, n, end = bytearray(1 << 18), 0, time.monotonic() + seconds
block = b"b" * (1 << 18)
while time.monotonic() < end:
    n += s.recv_into(buf) if port == 19 else s.send(block)
print(n)
"""


def af_xdp(seconds):
    config = os.path.join(WORK, "testbed-bench.toml")
    with open(os.path.join(ROOT, "config/testbed.toml")) as f:
        text = f.read()
    with open(config, "w") as f:
        f.write(text.replace("[services]", "[services]\ndiscard_checksum = false"))
    rows = []
    try:
        sh("bash", os.path.join(ROOT, "scripts/testbed"), "up", config)
        for name, port, counter in (("af_xdp rx", 9, "port.rx_packets"), ("af_xdp tx", 19, "port.tx_packets")):
            p0 = stat()[counter]
            with Measure() as m:
                out = sh("ip", "netns", "exec", "jr-linux", "/usr/bin/python3", "-c", STREAM, str(port),
                         str(seconds), timeout=seconds + 30).stdout
            rows.append(row(name, int(out), stat()[counter] - p0, m, "Linux peer: a Python socket loop"))
    finally:
        sh("bash", os.path.join(ROOT, "scripts/testbed"), "down", check=False)
    return rows


# ---- joyrided <-> joyrided over net_memif --------------------------------------------------

def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def memif(total_bytes):
    pair = MemifPair(os.path.join(WORK, "memif"), checksum=False)
    try:
        pair.start()
        p0 = pair.counters("a")["port.rx_packets"]
        with Measure() as m:
            sent, _seconds, _crc = pair.send(total_bytes)
        packets = pair.counters("a")["port.rx_packets"] - p0
        return row("memif", sent, packets, m, "joyride send -> discard, one connection, one core each")
    finally:
        pair.stop()


def memif_iperf3(seconds):
    """iperf3 under `joyride run` at both ends, each attached to one joyrided of the
    memif pair: the whole application path (preload, region, service) twice."""
    pair = MemifPair(os.path.join(WORK, "memif-apps"), checksum=False)
    server = None
    try:
        pair.start()
        run_a = [JOYRIDE, "run", "--service", pair.socket("a"), "--"]
        run_b = [JOYRIDE, "run", "--service", pair.socket("b"), "--"]
        server = subprocess.Popen(run_a + ["iperf3", "-s", "-4", "-1", "-p", "5301"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.STDOUT)
        p0 = pair.counters("a")["port.rx_packets"]
        with Measure() as m:
            out = None
            deadline = time.monotonic() + 30
            while out is None:  # the server under joyride run may still be starting (bounded)
                r = subprocess.run(run_b + ["iperf3", "-4", "-c", MemifPair.A, "-p", "5301", "-t", str(seconds), "-J"],
                                   capture_output=True, text=True, timeout=seconds + 60)
                if r.returncode == 0:
                    out = json.loads(r.stdout)
                elif time.monotonic() > deadline:
                    raise RuntimeError(f"iperf3 under joyride run: {r.stdout}{r.stderr}")
                else:
                    time.sleep(0.2)
        packets = pair.counters("a")["port.rx_packets"] - p0
        received = out["end"]["sum_received"]["bytes"]
        return row("memif iperf3", received, packets, m, "iperf3 under joyride run at both ends, one stream")
    finally:
        if server is not None:
            stop(server)
        pair.stop()


# ---- raw memif: dpdk-testpmd ---------------------------------------------------------------

def testpmd(name, role, mode, fwd_lcore, main_lcore):
    args = ["dpdk-testpmd", "-l", f"{min(fwd_lcore, main_lcore)},{max(fwd_lcore, main_lcore)}",
            # memif needs the EAL's multi-process channel, so no --no-shconf/--in-memory:
            # the runtime directory of the file prefix is removed afterwards.
            "--main-lcore", str(main_lcore), "--no-pci", "--no-huge", "-m", "512",
            "--file-prefix", f"jr-bench-{name}",
            f"--vdev=net_memif0,role={role},socket={WORK}/raw-memif.sock,socket-abstract=no",
            "--", f"--forward-mode={mode}", "--nb-cores=1", "--stats-period=1", "--txpkts=1500",
            "--total-num-mbufs=32768", "--no-mlockall", "--auto-start"]
    log = open(os.path.join(WORK, f"{name}.log"), "w+")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), log


def memif_raw(seconds):
    tx = rx = None
    try:
        tx, _ = testpmd("tx", "server", "txonly", 1, 0)
        wait_for("testpmd's memif server socket", lambda: os.path.exists(f"{WORK}/raw-memif.sock"))
        rx, rx_log = testpmd("rx", "client", "rxonly", 0, 1)

        def receiving():
            rx_log.seek(0)
            return any(int(x) > 0 for x in re.findall(r"Rx-pps:\s+(\d+)", rx_log.read()))
        wait_for("frames arriving over raw memif", receiving)
        with Measure() as m:
            time.sleep(seconds)
        rx_log.seek(0)
        rates = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)", rx_log.read())][-seconds:]
        pps = sorted(rates)[len(rates) // 2] if rates else 0
    finally:
        for p in (tx, rx):  # server first; testpmd ignores SIGTERM while forwarding
            if p:
                stop(p, signal.SIGKILL)
        if os.path.exists(f"{WORK}/raw-memif.sock"):
            os.unlink(f"{WORK}/raw-memif.sock")
        for name in ("tx", "rx"):
            shutil.rmtree(f"/var/run/dpdk/jr-bench-{name}", ignore_errors=True)
    r = row("memif raw", pps * 1500 * m.seconds, pps * m.seconds, m, "1500-byte frames, median of per-second rates")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=5, help="length of each timed row")
    ap.add_argument("--memif-bytes", type=int, default=4 << 30, help="bytes the memif row sends")
    ap.add_argument("--rows", default="linux,af_xdp,memif,apps,raw", help="which rows, comma-separated")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/net/run.py needs root")
    os.makedirs(WORK, exist_ok=True)
    wanted = args.rows.split(",")
    rows = []
    if "linux" in wanted:
        rows.append(linux_veth(args.seconds, True))
        rows.append(linux_veth(args.seconds, False))
    if "af_xdp" in wanted:
        rows += af_xdp(args.seconds)
    if "memif" in wanted:
        rows.append(memif(args.memif_bytes))
    if "apps" in wanted:
        rows.append(memif_iperf3(args.seconds))
    if "raw" in wanted:
        rows.append(memif_raw(args.seconds))
    print(f"\n{'row':18} {'Gbit/s':>8} {'packets/s':>11} {'CPU-s/GB':>9}  note")
    for r in rows:
        print(f"{r['row']:18} {r['gbps']:8.2f} {r['pps']:11.0f} {r['cpu_s_per_gb']:9.2f}  {r['note']}")


if __name__ == "__main__":
    main()
