#!/usr/bin/python3
"""Two joyrided instances talking over net_memif, with no kernel between them: A is the
memif server at 198.18.1.1 serving discard, B the memif client at 198.18.1.2, whose
built-in traffic client (`joyride send`) sends to A. Used by the interop tests (run as
a script: 1 GiB over one connection and 256 MiB over four, counts and CRC-32 checked
at both ends) and by bench/net/run.py (the MemifPair class). Needs root for DPDK; all
files live under WORK and are removed by stop()."""
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

CONFIG = """
[service]
lcores = [{lcore}]
polling = "adaptive"
control_socket = "{work}/{name}.sock"
control_mode = "0600"
[eal]
no_huge = true
memory_mb = 512
file_prefix = "jr-memif-{name}"
[[interface]]
name = "m0"
device = "net_memif0,role={role},socket={work}/memif.sock,socket-abstract=no"
addresses = ["{address}/24"]
[services]
echo = true
discard = true
chargen = true
discard_checksum = {checksum}
"""


def wait_for(what, predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {seconds} s")
        time.sleep(0.05)


class MemifPair:
    A, B = "198.18.1.1", "198.18.1.2"

    def __init__(self, work, checksum=True):
        self.work = work
        self.checksum = checksum
        self.procs = {}

    def socket(self, name):
        return os.path.join(self.work, f"{name}.sock")

    def joyride(self, name, *args, timeout=60):
        r = subprocess.run([JOYRIDE, *args, "--socket", self.socket(name)], capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"joyride {' '.join(args)} on {name}: exit {r.returncode}: {r.stdout}{r.stderr}")
        return r.stdout

    def start(self):
        os.makedirs(self.work, exist_ok=True)
        # A (server) on CPU 0, B (client) on CPU 1: one polling core each.
        for name, role, address, lcore in (("a", "server", self.A, 0), ("b", "client", self.B, 1)):
            config = os.path.join(self.work, f"{name}.toml")
            with open(config, "w") as f:
                f.write(CONFIG.format(lcore=lcore, work=self.work, name=name, role=role, address=address,
                                      checksum="true" if self.checksum else "false"))
            ready = os.path.join(self.work, f"{name}.ready")
            log = open(os.path.join(self.work, f"{name}.log"), "w")
            p = subprocess.Popen([JOYRIDED, "--config", config, "--ready-file", ready], stdout=log,
                                 stderr=subprocess.STDOUT)
            self.procs[name] = p
            wait_for(f"joyrided {name} ready (log {self.work}/{name}.log)",
                     lambda: os.path.exists(ready) or p.poll() is not None)
            if p.poll() is not None:
                raise RuntimeError(f"joyrided {name} exited: {open(log.name).read()}")
        # The memif link comes up once the client has connected to the server's socket.
        wait_for("memif link up at both ends",
                 lambda: all("link up" in self.joyride(n, "stat") for n in ("a", "b")))

    def stop(self):
        # The memif server goes first: a client leaving while the server polls crashes it.
        for name in ("a", "b"):
            p = self.procs.get(name)
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for name in ("a", "b"):
            shutil.rmtree(f"/var/run/dpdk/jr-memif-{name}", ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)

    def send(self, nbytes, connections=1, timeout=120):
        """B's traffic client sends nbytes to A's discard; returns (bytes, seconds, crc32)."""
        out = self.joyride("b", "send", f"{self.A}:9", "--bytes", str(nbytes), "--connections", str(connections),
                           "--timeout", str(timeout), timeout=timeout + 30)
        m = re.search(r"sent (\d+) bytes in ([\d.]+) s.*crc32 (0x[0-9a-f]+)", out)
        if not m:
            raise RuntimeError(f"joyride send: unexpected output {out!r}")
        return int(m.group(1)), float(m.group(2)), int(m.group(3), 16)

    def counters(self, name):
        out = {}
        for line in self.joyride(name, "stat").splitlines():
            w = line.split()
            if len(w) == 2 and w[1].isdigit():
                out.setdefault(w[0], int(w[1]))
            elif w and w[0] == "discard_last":
                out["discard_last"] = dict(x.split("=", 1) for x in w[1:] if "=" in x)
        return out


def main():
    pair = MemifPair("/run/joyride-memif-test")
    try:
        pair.start()
        print("ok   two joyrided instances linked by net_memif (198.18.1.1 <-> 198.18.1.2)", flush=True)
        before = pair.counters("a")
        sent, seconds, crc = pair.send(1 << 30)
        after = pair.counters("a")
        last = after["discard_last"]
        got = after["discard_tcp_bytes_in"] - before["discard_tcp_bytes_in"]
        if sent != 1 << 30 or got != sent or int(last["bytes"]) != sent or int(last["crc32"], 16) != crc \
                or last["end"] != "fin":
            sys.exit(f"FAIL: memif 1 GiB: sent {sent}, A counted {got}, A's last connection {last}, crc32 {crc:#010x}")
        print(f"ok   memif: 1 GiB from B's client into A's discard, count and crc32 {crc:#010x} equal at both ends "
              f"({sent * 8 / seconds / 1e9:.2f} Gbit/s)", flush=True)
        before = after
        sent, seconds, _ = pair.send(256 << 20, connections=4)
        after = pair.counters("a")
        got = after["discard_tcp_bytes_in"] - before["discard_tcp_bytes_in"]
        accepted = after["discard_tcp_accepted"] - before["discard_tcp_accepted"]
        if sent != 256 << 20 or got != sent or accepted != 4:
            sys.exit(f"FAIL: memif 4 connections: sent {sent}, A counted {got} bytes over {accepted} connections")
        print("ok   memif: 256 MiB over 4 connections at once, every byte counted", flush=True)
    finally:
        pair.stop()


if __name__ == "__main__":
    main()
